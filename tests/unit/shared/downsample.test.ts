import { describe, expect, it } from 'vitest';
import { downsampleMinMax } from '../../../src/shared/downsample';

function steps(n: number): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = i + 1;
  return x;
}

function isNonDecreasing(xs: number[]): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i]! < xs[i - 1]!) return false;
  return true;
}

describe('min/max downsampling', () => {
  it('keeps a single spike among 1,000,000 points, where random sampling would lose it', () => {
    const n = 1_000_000;
    const x = steps(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) y[i] = 1 + Math.sin(i / 5000) * 0.1;
    const spikeAt = 654_321;
    y[spikeAt] = 1000;
    const dip = 123_457;
    y[dip] = -500;
    const r = downsampleMinMax({ x, y, sorted: true }, { buckets: 1000 });
    expect(r.downsampled).toBe(true);
    expect(r.points).toBe(n);
    expect(r.x.length).toBeLessThanOrEqual(2000);
    expect(r.x.length).toBeGreaterThan(1000);
    const peak = r.y.indexOf(1000);
    expect(peak).toBeGreaterThanOrEqual(0);
    expect(r.x[peak]).toBe(spikeAt + 1);
    expect(r.y).toContain(-500);
    expect(isNonDecreasing(r.x)).toBe(true);
  });

  it('gives the same answer without the sorted hint (a linear scan instead of binary search)', () => {
    const n = 50_000;
    const x = steps(n);
    const y = new Float64Array(n).map((_, i) => Math.cos(i / 77) + (i === 31_337 ? 9 : 0));
    const a = downsampleMinMax({ x, y, sorted: true }, { buckets: 300, range: { min: 1000, max: 40_000 } });
    const b = downsampleMinMax({ x, y }, { buckets: 300, range: { min: 1000, max: 40_000 } });
    expect(b).toEqual(a);
    expect(a.y).toContain(Math.cos(31_337 / 77) + 9);
  });

  it('emits each bucket’s min and max in x order, whichever comes first', () => {
    // 40 points, 10 buckets of 4: each bucket holds a high then a low point.
    const x = steps(40);
    const y = new Float64Array(40).map((_, i) => (i % 4 === 1 ? 10 + i : i % 4 === 2 ? -i : 0));
    const r = downsampleMinMax({ x, y, sorted: true }, { buckets: 10 });
    expect(r.downsampled).toBe(true);
    expect(r.x).toEqual([2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31, 34, 35, 38, 39]);
    expect(r.y.slice(0, 4)).toEqual([11, -2, 15, -6]);
  });

  it('excludes points outside the visible range, bounds inclusive', () => {
    const x = steps(10_000);
    const y = new Float64Array(10_000).map((_, i) => i);
    const r = downsampleMinMax({ x, y, sorted: true }, { buckets: 100, range: { min: 2500, max: 7500 } });
    expect(r.points).toBe(5001);
    expect(Math.min(...r.x)).toBe(2500);
    expect(Math.max(...r.x)).toBe(7500);
    // A reversed range is the same range.
    expect(downsampleMinMax({ x, y }, { buckets: 100, range: { min: 7500, max: 2500 } }).points).toBe(5001);
    const empty = downsampleMinMax(
      { x, y, sorted: true },
      { buckets: 100, range: { min: 20_000, max: 30_000 } },
    );
    expect(empty).toEqual({ x: [], y: [], points: 0, downsampled: false });
  });

  it('returns the points as they are when there are at most 2 × buckets in range', () => {
    const x = steps(200);
    const y = new Float64Array(200).map((_, i) => i * 2);
    const r = downsampleMinMax({ x, y, sorted: true }, { buckets: 100 });
    expect(r.downsampled).toBe(false);
    expect(r.x).toEqual([...x]);
    expect(r.y).toEqual([...y]);
    const r2 = downsampleMinMax({ x, y, sorted: true }, { buckets: 99 });
    expect(r2.downsampled).toBe(true);
    expect(r2.x.length).toBeLessThanOrEqual(198);
  });

  it('respects `length` (spare capacity of a grown typed array is not data)', () => {
    const x = new Float64Array(1024);
    const y = new Float64Array(1024);
    for (let i = 0; i < 5; i++) [x[i], y[i]] = [i + 1, i * 10];
    const r = downsampleMinMax({ x, y, length: 5, sorted: true }, { buckets: 10 });
    expect(r.x).toEqual([1, 2, 3, 4, 5]);
  });

  it('turns NaN and ±Infinity into null, and marks a bucket that holds them with a gap', () => {
    const raw = downsampleMinMax(
      { x: [1, 2, 3, 4], y: [0.5, NaN, Infinity, -Infinity], sorted: true },
      { buckets: 10 },
    );
    expect(raw.y).toEqual([0.5, null, null, null]);

    const n = 10_000;
    const x = steps(n);
    const y = new Float64Array(n).map((_, i) => i);
    y[5000] = NaN;
    y[5001] = NaN;
    const r = downsampleMinMax({ x, y, sorted: true }, { buckets: 100 });
    // The NaN never becomes a bucket's min or max, but it shows as one null (a gap) at its x.
    expect(r.y.filter((v) => v === null)).toHaveLength(1);
    expect(r.x[r.y.indexOf(null)]).toBe(5001);
    expect(r.y.every((v) => v === null || Number.isFinite(v))).toBe(true);
    expect(isNonDecreasing(r.x)).toBe(true);
  });

  it('puts out at most 2 points a bucket (3 with a NaN) and uses the buckets it is given', () => {
    const n = 100_000;
    const x = steps(n);
    const y = new Float64Array(n).map((_, i) => Math.sin(i));
    for (const buckets of [10, 500, 5000]) {
      const r = downsampleMinMax({ x, y, sorted: true }, { buckets });
      expect(r.x.length).toBeLessThanOrEqual(2 * buckets);
      expect(r.x.length).toBeGreaterThanOrEqual(buckets);
    }
  });

  it('draws steps that go back (a resumed run) in x order, and skips non-finite x', () => {
    const x = [1, 2, 3, 2, 3, 4, NaN];
    const y = [10, 20, 30, 21, 31, 41, 99];
    const r = downsampleMinMax({ x, y }, { buckets: 10 });
    expect(r.x).toEqual([1, 2, 2, 3, 3, 4]);
    expect(r.y).toEqual([10, 20, 21, 30, 31, 41]);
    expect(r.points).toBe(6);

    const many = Array.from({ length: 5000 }, (_, i) => (i < 2500 ? i : i - 1000));
    const d = downsampleMinMax({ x: many, y: many.map((v) => v * 2) }, { buckets: 100 });
    expect(d.downsampled).toBe(true);
    expect(isNonDecreasing(d.x)).toBe(true);
  });

  it('handles all-equal x (one bucket) and a single point', () => {
    const x = new Float64Array(1000).fill(7);
    const y = new Float64Array(1000).map((_, i) => i);
    const r = downsampleMinMax({ x, y, sorted: true }, { buckets: 10 });
    expect(r.x).toEqual([7, 7]);
    expect(r.y).toEqual([0, 999]);
    expect(downsampleMinMax({ x: [3], y: [4] }, { buckets: 10 })).toEqual({
      x: [3],
      y: [4],
      points: 1,
      downsampled: false,
    });
  });
});
