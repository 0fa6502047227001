import { describe, expect, it } from 'vitest';
import { downsampleMinMax } from '../../../src/shared/downsample';
import { MinMaxPyramid } from '../../../src/shared/minmax-pyramid';

/** A deterministic series with many ties (values from a small set), NaN and ±Infinity here and there. */
function series(n: number, seed = 7): Float64Array {
  const y = new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const r = s % 1000;
    y[i] = r === 0 ? NaN : r === 1 ? Infinity : r === 2 ? -Infinity : (s >> 8) % 50;
  }
  return y;
}

/** What a scan of every point finds: the first lowest, the first highest, the first non-finite. */
function scan(y: ArrayLike<number>, from: number, to: number): [number, number, number] {
  let min = -1;
  let max = -1;
  let bad = -1;
  for (let i = from; i < to; i++) {
    const v = y[i]!;
    if (!Number.isFinite(v)) {
      if (bad < 0) bad = i;
      continue;
    }
    if (min < 0 || v < y[min]!) min = i;
    if (max < 0 || v > y[max]!) max = i;
  }
  return [min, max, bad];
}

describe('min/max pyramid', () => {
  it('answers any range with the indices a scan of every point finds (first of ties, first non-finite)', () => {
    const n = 70_001; // not a multiple of any block size
    const y = series(n);
    const p = new MinMaxPyramid().extend(y, n);
    let s = 3;
    for (let k = 0; k < 3000; k++) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      const a = s % n;
      s = (s * 1103515245 + 12345) % 2 ** 31;
      // Short and long ranges alike: up to a few levels of blocks.
      const len = k % 3 === 0 ? s % 40 : k % 3 === 1 ? s % 5000 : s % n;
      const b = Math.min(n, a + len);
      p.range(y, a, b);
      expect([p.minAt, p.maxAt, p.badAt], `range [${a}, ${b})`).toEqual(scan(y, a, b));
    }
    p.range(y, 0, n);
    expect([p.minAt, p.maxAt, p.badAt]).toEqual(scan(y, 0, n));
  });

  it('a range of only non-finite values has no min or max, only its first non-finite point', () => {
    const y = new Float64Array(4096).fill(NaN);
    y[100] = 5;
    y[3000] = Infinity;
    const p = new MinMaxPyramid().extend(y, y.length);
    p.range(y, 200, 4096);
    expect([p.minAt, p.maxAt, p.badAt]).toEqual([-1, -1, 200]);
    p.range(y, 0, 4096);
    expect([p.minAt, p.maxAt, p.badAt]).toEqual([100, 100, 0]);
  });

  it('extended as a series grows (a run still logging), it answers as one built at once', () => {
    const n = 50_000;
    const y = series(n, 11);
    const grown = new MinMaxPyramid();
    for (let len = 1; len <= n; len += 1 + (len % 4093)) grown.extend(y, len);
    grown.extend(y, n);
    const whole = new MinMaxPyramid().extend(y, n);
    for (const [a, b] of [
      [0, n],
      [17, 49_999],
      [4096, 8192],
      [123, 40_000],
    ] as const) {
      grown.range(y, a, b);
      whole.range(y, a, b);
      expect([grown.minAt, grown.maxAt, grown.badAt]).toEqual([whole.minAt, whole.maxAt, whole.badAt]);
      expect([whole.minAt, whole.maxAt, whole.badAt]).toEqual(scan(y, a, b));
    }
  });

  it('downsampling with the pyramid draws exactly what downsampling every point draws, at any zoom', () => {
    const n = 200_000;
    const x = new Float64Array(n).map((_, i) => i * 2);
    const y = series(n, 5);
    y[123_457] = 1e9; // a spike
    const pyramid = new MinMaxPyramid().extend(y, n);
    for (const range of [
      null,
      { min: 1000, max: 350_000 },
      { min: 90_001, max: 91_777 },
      { min: 0, max: 3 },
    ]) {
      for (const buckets of [10, 700, 1999]) {
        const plain = downsampleMinMax({ x, y, sorted: true }, { buckets, range });
        const fast = downsampleMinMax({ x, y, sorted: true, pyramid }, { buckets, range });
        expect(fast).toEqual(plain);
      }
    }
    const full = downsampleMinMax({ x, y, sorted: true, pyramid }, { buckets: 700 });
    expect(full.y).toContain(1e9);
    expect(full.y).toContain(null); // the NaN and ±Infinity points' gaps
  });
});
