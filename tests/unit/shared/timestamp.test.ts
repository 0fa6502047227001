import { describe, expect, it } from 'vitest';
import { timestampMs } from '../../../src/shared/timestamp';

describe('timestampMs fast path (the seed form, read without the regular expression)', () => {
  it('gives what the date parts say, for every fraction length and both separators, across hours and days', () => {
    const p2 = (x: number): string => String(x).padStart(2, '0');
    let seed = 7;
    const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 5000; i++) {
      const [y, mo, d, h, mi, s] = [2000 + rnd(40), 1 + rnd(12), 1 + rnd(28), rnd(24), rnd(60), rnd(60)];
      const digits = Array.from({ length: rnd(10) }, () => String(rnd(10))).join('');
      const text =
        `${y}-${p2(mo)}-${p2(d)}${rnd(2) ? 'T' : ' '}${p2(h)}:${p2(mi)}:${p2(s)}` +
        (digits ? (rnd(2) ? '.' : ',') + digits : '');
      const want =
        new Date(y, mo - 1, d, h).getTime() +
        mi * 60_000 +
        s * 1000 +
        (digits ? Number(`0.${digits}`) * 1000 : 0);
      expect(timestampMs(text), text).toBe(want);
    }
  });

  it('leaves other forms to the general reader, and refuses what is not a time', () => {
    expect(timestampMs('2024-11-24T09:30:00.5+02:00')).toBe(Date.UTC(2024, 10, 24, 7, 30, 0, 500));
    expect(timestampMs('2024-11-24T09:30')).toBe(new Date(2024, 10, 24, 9, 30).getTime());
    expect(timestampMs('2024-11-24T09:30:00.')).toBeNaN();
    expect(timestampMs('2024-1x-24T09:30:00')).toBeNaN();
    expect(timestampMs('2024-11-24T09:3x:00')).toBeNaN();
    // More than nine fraction digits: not the seed's form; Date.parse reads it to the millisecond.
    expect(timestampMs('2024-11-24T09:30:00.1234567890')).toBe(
      new Date(2024, 10, 24, 9, 30, 0, 123).getTime(),
    );
  });
});
