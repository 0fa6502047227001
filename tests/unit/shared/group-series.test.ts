import { describe, expect, it } from 'vitest';
import { aggregateSeries, bandEdges } from '../../../src/shared/group-series';

const m = (x: number[], y: number[]): { x: number[]; y: number[] } => ({ x, y });

describe('aggregateSeries: a group of runs aligned by step', () => {
  it('gives mean, sample std (n − 1), min, max and n at each step of members logged at the same steps', () => {
    const a = aggregateSeries([
      m([0, 10, 20], [1, 2, 3]),
      m([0, 10, 20], [3, 4, 5]),
      m([0, 10, 20], [2, 6, 4]),
    ]);
    expect(a.x).toEqual([0, 10, 20]);
    expect(a.mean).toEqual([2, 4, 4]);
    // statistics.stdev([1, 3, 2]) = 1; stdev([2, 4, 6]) = 2; stdev([3, 5, 4]) = 1
    expect(a.std).toEqual([1, 2, 1]);
    expect(a.min).toEqual([1, 2, 3]);
    expect(a.max).toEqual([3, 6, 5]);
    expect(a.n).toEqual([3, 3, 3]);
    expect(a.interpolated).toBe(false);
  });

  it('interpolates a member linearly onto the union of steps within its own range, and says so', () => {
    // Member B logs every 10 steps, member A every 5 up to 15 only.
    const a = aggregateSeries([m([0, 5, 10, 15], [0, 1, 2, 3]), m([0, 10, 20], [10, 20, 40])]);
    expect(a.x).toEqual([0, 5, 10, 15, 20]);
    // Step 5: A = 1, B interpolated = 15; step 15: A = 3, B = 30; step 20: only B (A's range ends at 15).
    expect(a.mean).toEqual([5, 8, 11, 16.5, 40]);
    expect(a.n).toEqual([2, 2, 2, 2, 1]);
    expect(a.min).toEqual([0, 1, 2, 3, 40]);
    expect(a.max).toEqual([10, 15, 20, 30, 40]);
    expect(a.std[1]).toBeCloseTo(Math.sqrt(((1 - 8) ** 2 + (15 - 8) ** 2) / 1), 12);
    expect(a.std[4]).toBeNaN(); // one value: no sample std (pandas gives NaN)
    expect(a.interpolated).toBe(true);
  });

  it("leaves NaN and ±Inf out (never interpolated through) and keeps a repeated step's last value", () => {
    const a = aggregateSeries([m([0, 10, 20], [1, NaN, 3]), m([0, 10, 10, 20], [3, 99, 5, Infinity])]);
    expect(a.x).toEqual([0, 10, 20]);
    expect(a.n).toEqual([2, 1, 1]);
    expect(a.mean).toEqual([2, 5, 3]);
    // Steps out of order in the file are sorted; unsorted input gives the same answer.
    const b = aggregateSeries([m([20, 0, 10], [3, 1, NaN]), m([10, 0, 20, 10], [99, 3, Infinity, 5])]);
    expect(b).toEqual(a);
  });

  it('uses only the points in use of typed arrays with spare capacity', () => {
    const x = new Float64Array([0, 1, 2, 0]);
    const y = new Float64Array([4, 5, 6, 0]);
    expect(aggregateSeries([{ x, y, length: 3 }]).mean).toEqual([4, 5, 6]);
  });

  it('draws the band as mean ± std, or min–max; one member gives a band of no width', () => {
    const a = aggregateSeries([m([0, 10], [1, 2]), m([0], [3]), m([0], [2])]);
    expect(bandEdges(a, 'std')).toEqual({ lower: [1, 2], upper: [3, 2] });
    expect(bandEdges(a, 'minmax')).toEqual({ lower: [1, 2], upper: [3, 2] });
    const b = aggregateSeries([m([0], [1]), m([0], [5])]);
    const std = Math.sqrt(8);
    expect(bandEdges(b, 'std').lower[0]).toBeCloseTo(3 - std, 12);
    expect(bandEdges(b, 'std').upper[0]).toBeCloseTo(3 + std, 12);
    expect(bandEdges(b, 'minmax')).toEqual({ lower: [1], upper: [5] });
  });
});
