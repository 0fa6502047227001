import { describe, expect, it } from 'vitest';
import { nonFiniteMarks, quantileRange } from '../../../src/shared/series-marks';

const cols = (y: number[], x = y.map((_, i) => i)): { x: number[]; y: number[]; length: number } => ({
  x,
  y,
  length: y.length,
});

describe('non-finite marks', () => {
  it('says which kind each non-finite point is, in x order, with counts', () => {
    const m = nonFiniteMarks(cols([1, NaN, Infinity, 2, -Infinity, NaN]), null, 100);
    expect(m).toEqual({
      x: [1, 2, 4, 5],
      kind: ['nan', '+inf', '-inf', 'nan'],
      nan: 2,
      posInf: 1,
      negInf: 1,
    });
  });

  it('is null when every value is finite, and keeps to the range', () => {
    expect(nonFiniteMarks(cols([1, 2, 3]), null, 10)).toBeNull();
    expect(nonFiniteMarks(cols([NaN, 1, 2, Infinity]), { min: 1, max: 3 }, 10)).toMatchObject({
      x: [3],
      kind: ['+inf'],
      nan: 0,
    });
  });

  it('marks at most one of each kind per bucket but counts them all', () => {
    const y = new Array<number>(10_000).fill(NaN);
    const m = nonFiniteMarks(cols(y), null, 50)!;
    expect(m.nan).toBe(10_000);
    expect(m.x.length).toBe(50);
  });
});

describe('the range without outliers', () => {
  it('is the 1st to 99th percentile of the finite values in range', () => {
    const y = Array.from({ length: 1001 }, (_, i) => i / 1000); // 0 … 1
    y[500] = 1e9; // one outlier
    y[501] = NaN;
    y[502] = -Infinity;
    const r = quantileRange(cols(y), null)!;
    expect(r.lo).toBeCloseTo(0.01, 2);
    expect(r.hi).toBeCloseTo(0.99, 2);
    // x 0…100: the 101 values 0 … 0.1, of which the 1st and 99th percentile
    expect(quantileRange(cols(y), { min: 0, max: 100 })).toEqual({ lo: 0.001, hi: 0.099 });
  });

  it('agrees with sorting on shuffled data and is null without finite values', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const y = Array.from({ length: 54_321 }, () => rnd() * 100 - 50);
    const sorted = [...y].sort((a, b) => a - b);
    const n = y.length;
    expect(quantileRange(cols(y), null, 0.05, 0.9)).toEqual({
      lo: sorted[Math.floor(0.05 * (n - 1))],
      hi: sorted[Math.ceil(0.9 * (n - 1))],
    });
    expect(quantileRange(cols([NaN, Infinity]), null)).toBeNull();
    expect(quantileRange(cols([0.005, 0.005]), null)).toEqual({ lo: 0.005, hi: 0.005 });
  });
});
