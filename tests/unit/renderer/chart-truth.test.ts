/** The charts' pure parts: y ranges that tell the truth, non-finite words and marks, names cut in the middle. */
import { describe, expect, it } from 'vitest';
import { yAxisRange } from '../../../src/renderer/lib/chart-range';
import { markTrace, nonFiniteWords, traceSeries } from '../../../src/renderer/lib/chart-traces';
import { middleCut, shortNames } from '../../../src/renderer/lib/names';

const flat = { log: false, ignoreOutliers: false };

describe('y axis range', () => {
  it('draws a constant series at its value (lr = 0.005 does not read as 0)', () => {
    const [lo, hi] = yAxisRange([{ y: [0.005, 0.005, null, 0.005] }], flat)!;
    expect(lo).toBeGreaterThan(0);
    expect(lo).toBeLessThan(0.005);
    expect(hi).toBeGreaterThan(0.005);
    expect(hi - lo).toBeLessThan(0.005);
    expect(yAxisRange([{ y: [0, 0] }], flat)).toEqual([-1, 1]);
    // On a log axis, in log10 units around log10(0.005).
    const [a, b] = yAxisRange([{ y: [0.005] }], { log: true, ignoreOutliers: false })!;
    expect(a).toBeLessThan(Math.log10(0.005));
    expect(b).toBeGreaterThan(Math.log10(0.005));
  });

  it('leaves a varying series to plotly unless outliers are ignored, then takes the percentiles, padded', () => {
    const s = { y: [0, 1, 2, 1000], robust: { lo: 0, hi: 2 } };
    expect(yAxisRange([s], flat)).toBeNull();
    expect(yAxisRange([s], { log: false, ignoreOutliers: true })).toEqual([-0.1, 2.1]);
    const other = { y: [5, 6], robust: { lo: 5, hi: 6 } };
    const [lo, hi] = yAxisRange([s, other], { log: false, ignoreOutliers: true })!;
    expect(lo).toBeLessThan(0);
    expect(hi).toBeGreaterThan(6);
    expect(hi).toBeLessThan(1000);
  });

  it('has no range to give for a series without finite values', () => {
    expect(yAxisRange([{ y: [null, null] }], flat)).toBeNull();
  });
});

describe('non-finite values', () => {
  const series = (y: (number | null)[], nonFinite?: { x: number[]; kind: ('nan' | '+inf' | '-inf')[] }) => ({
    x: y.map((_, i) => i),
    y,
    points: y.length,
    downsampled: false,
    ...(nonFinite
      ? {
          nonFinite: {
            ...nonFinite,
            nan: nonFinite.kind.filter((k) => k === 'nan').length,
            posInf: nonFinite.kind.filter((k) => k === '+inf').length,
            negInf: nonFinite.kind.filter((k) => k === '-inf').length,
          },
        }
      : {}),
  });

  it('marks +Inf at the top edge, -Inf and NaN at the bottom, with their names as hover text', () => {
    const [raw] = traceSeries(
      'loss',
      '#123',
      series([1, null, null, null], { x: [1, 2, 3], kind: ['+inf', '-inf', 'nan'] }),
      null,
    );
    const t = markTrace(raw!) as { y: number[]; text: string[]; yaxis: string };
    expect(t.yaxis).toBe('y2');
    expect(t.y).toEqual([1, 0, 0]);
    expect(t.text).toEqual(['+Inf', '-Inf', 'NaN']);
    expect(nonFiniteWords([raw!])).toEqual({ all: false, text: '1 NaN, 1 +Inf, 1 -Inf' });
  });

  it('says so in words when no value is finite', () => {
    const all = traceSeries('lr', '#123', series([null, null], { x: [0, 1], kind: ['nan', 'nan'] }), null);
    expect(nonFiniteWords(all)).toEqual({
      all: true,
      text: 'No finite value: all 2 values are non-finite (2 NaN).',
    });
    expect(nonFiniteWords(traceSeries('ok', '#123', series([1, 2]), null))).toBeNull();
  });

  it('draws the smoothed curve over the faint raw one, the raw one keeping the marks', () => {
    const s = { ...series([1, 3]), smoothed: { x: [0, 1], y: [1, 2] } };
    const [raw, smooth] = traceSeries('run', '#123', s, 'EMA 0.60', true);
    expect(raw).toMatchObject({ faint: true, showInLegend: false, name: 'run (raw)' });
    expect(smooth).toMatchObject({ name: 'run', y: [1, 2], showInLegend: true });
  });
});

describe('names cut in the middle', () => {
  it('keeps the start and the end', () => {
    expect(middleCut('exp001_dpo_tiny-gpt2_lr5e-05_beta0.1_1201', 23)).toBe('exp001_dpo…beta0.1_1201');
    expect(middleCut('short', 23)).toBe('short');
    expect([...middleCut('x'.repeat(100), 28)].length).toBe(28);
  });

  it('keeps the place where names differ when a middle cut would hide it', () => {
    const names = [
      'exp001_dpo_tiny-gpt2_lr1e-05_beta0.1_seed1_1201',
      'exp001_dpo_tiny-gpt2_lr5e-05_beta0.1_seed1_1201',
    ];
    const cut = shortNames(names, 28);
    expect(new Set(cut).size).toBe(2);
    expect(cut[0]).toContain('lr1e');
    expect(cut[1]).toContain('lr5e');
    for (const c of cut) expect([...c].length).toBeLessThanOrEqual(28);
    expect(shortNames(['a', 'a'])).toEqual(['a', 'a']);
    // Names that differ at the start (the run number) as well: the hidden difference still shows.
    const sweep = shortNames([
      'exp001_dpo_tiny-gpt2_lr1e-05_beta0.1_seed1_1201',
      'exp002_dpo_tiny-gpt2_lr5e-05_beta0.1_seed1_1201',
    ]);
    expect(sweep[0]).toMatch(/^exp001.*lr1e.*1201$/);
    expect(sweep[1]).toMatch(/^exp002.*lr5e.*1201$/);
    // Names differing only in what a middle cut keeps are just middle-cut.
    expect(shortNames(['exp001_' + 'x'.repeat(40) + '_a', 'exp002_' + 'x'.repeat(40) + '_b'])).toEqual([
      middleCut('exp001_' + 'x'.repeat(40) + '_a', 28),
      middleCut('exp002_' + 'x'.repeat(40) + '_b', 28),
    ]);
  });
});
