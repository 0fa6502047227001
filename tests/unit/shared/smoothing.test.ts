import { describe, expect, it } from 'vitest';
import { downsampleMinMax } from '../../../src/shared/downsample';
import { emaOf, smoothSeries, smooths, windowMean } from '../../../src/shared/smoothing';

describe('smoothing on the full series', () => {
  it('EMA is debiased (starts at the first value) and skips NaN and ±Infinity without a reset', () => {
    const y = [10, NaN, 20, Infinity, -Infinity, 20];
    const s = emaOf(y, y.length, 0.5);
    expect(s[0]).toBe(10);
    expect(s[1]).toBeNaN();
    // Two finite values: (0.5·0.5·10 + 0.5·20) / (1 − 0.25) = 12.5/0.75
    expect(s[2]).toBeCloseTo(12.5 / 0.75, 12);
    expect(s[3]).toBeNaN();
    expect(s[4]).toBeNaN();
    expect(s[5]).toBeCloseTo((0.5 * 12.5 + 0.5 * 20) / 0.875, 12);
  });

  it('window mean is the mean of the last N finite values', () => {
    const y = [1, 2, 3, NaN, 4, 5, 6];
    const s = windowMean(y, y.length, 3);
    expect(Array.from(s.slice(0, 3))).toEqual([1, 1.5, 2]);
    expect(s[3]).toBeNaN();
    expect(s[4]).toBe(3); // 2, 3, 4
    expect(s[5]).toBe(4);
    expect(s[6]).toBe(5);
  });

  it('a huge value leaving the window leaves no rounding error behind', () => {
    const y = [1e17, 1, 1, 1, 1, 1, 1, 1];
    const s = windowMean(y, y.length, 2);
    expect(s[7]).toBe(1);
    expect(s[3]).toBe(1);
  });

  it('weight 0 and window 1 smooth nothing', () => {
    expect(smooths({ kind: 'ema', weight: 0 })).toBe(false);
    expect(smooths({ kind: 'mean', window: 1 })).toBe(false);
    expect(smooths({ kind: 'ema', weight: 0.6 })).toBe(true);
    expect(smooths(undefined)).toBe(false);
  });

  it("smoothing before downsampling keeps a spike's smoothed height and decay, whatever the zoom", () => {
    // 1,000,000 flat points and one spike: EMA 0.9 peaks at 0.1·1000 = 100 right at the spike
    // and is back to 100·0.9^50 fifty steps later.
    const n = 1_000_000;
    const x = new Float64Array(n).map((_, i) => i);
    const y = new Float64Array(n);
    const at = 600_000;
    y[at] = 1000;
    const smoothed = smoothSeries(y, n, { kind: 'ema', weight: 0.9 });
    const wide = downsampleMinMax({ x, y: smoothed, sorted: true }, { buckets: 1000 });
    expect(Math.max(...wide.y.map((v) => v ?? -Infinity))).toBeCloseTo(100, 9);
    const zoom = downsampleMinMax(
      { x, y: smoothed, sorted: true },
      { buckets: 1000, range: { min: at - 10, max: at + 100 } },
    );
    expect(zoom.y[zoom.x.indexOf(at)]).toBeCloseTo(100, 9);
    expect(zoom.y[zoom.x.indexOf(at + 50)]).toBeCloseTo(100 * 0.9 ** 50, 9);

    // Smoothing what was downsampled (what TensorBoard does) gets another curve: the next points
    // of the thinned series lie a thousand steps apart, so the spike decays per bucket, not per step.
    const thin = downsampleMinMax({ x, y, sorted: true }, { buckets: 1000 });
    const after = emaOf(
      thin.y.map((v) => v ?? NaN),
      thin.y.length,
      0.9,
    );
    const i = thin.x.findIndex((v) => v >= at + 5000);
    expect(after[i]!).toBeGreaterThan(1); // still far from the true ≈ 0 five thousand steps on
    expect(smoothed[at + 5000]!).toBeLessThan(1e-100);
  });
});

describe('EMA on long series', () => {
  it('equals the debiased formula bit for bit after w^n has run out (no subnormal slow path)', () => {
    // The formula as written, w^n kept to the end: past ~7,000 points of weight 0.9 it is the
    // smallest subnormal double, and 1 − w^n is exactly 1.
    const reference = (y: Float64Array, w: number): Float64Array => {
      const out = new Float64Array(y.length);
      let last = 0;
      let debias = 1;
      for (let i = 0; i < y.length; i++) {
        const v = y[i]!;
        if (!Number.isFinite(v)) {
          out[i] = NaN;
          continue;
        }
        last = last * w + (1 - w) * v;
        debias *= w;
        out[i] = last / (1 - debias);
      }
      return out;
    };
    const n = 50_000;
    const y = new Float64Array(n).map((_, i) =>
      i % 997 === 5 ? NaN : 3 / Math.sqrt(i + 1) + (i % 7) * 0.01,
    );
    for (const w of [0.5, 0.9, 0.99, 0.999]) {
      const got = emaOf(y, n, w);
      const want = reference(y, w);
      for (let i = 0; i < n; i++) expect(Object.is(got[i], want[i]), `weight ${w}, point ${i}`).toBe(true);
    }
  });
});
