/** The step-by-step comparison behind `expdesk verify` and experiments.verify. */
import { describe, expect, it } from 'vitest';
import { RunComparison, VerifyResult, type Tolerance } from '../../../src/shared/verify';

type Rec = Record<string, unknown>;

function compare(a: Rec[], b: Rec[], tol?: Tolerance, ignore?: string[]): VerifyResult {
  const c = new RunComparison(tol, ignore);
  a.forEach((r, i) => c.addOriginal(r, i + 1));
  b.forEach((r, i) => c.addReproduced(r, i + 1));
  const result = c.result({ original: '/a', reproduced: '/b' });
  // Whatever the verdict, the result crosses the contract: it must satisfy its schema.
  expect(VerifyResult.safeParse(result).success).toBe(true);
  return result;
}

const train = (step: number, loss: number, extra: Rec = {}): Rec => ({
  step,
  prefix: 'train',
  timestamp: `2024-01-01T00:00:${String(step).padStart(2, '0')}`,
  'train/loss': loss,
  ...extra,
});

describe('RunComparison', () => {
  it('says identical when every value is equal, whatever the timestamps; NaN equals NaN', () => {
    const a = [
      train(1, 0.5),
      train(2, NaN),
      train(3, Infinity),
      { step: 3, prefix: 'eval', 'eval/acc': 0.7 },
    ];
    const b = a.map((r) => ({ ...r, timestamp: 'later' }));
    const r = compare(a, b);
    expect(r.verdict).toBe('identical');
    expect(r.records).toEqual({ original: 4, reproduced: 4, matched: 4 });
    expect(r.valuesCompared).toBe(4);
    expect(r.message).toMatch(/^identical: 4 record\(s\), 4 value\(s\) compared/);
    expect(r.firstDivergence).toBeNull();
    expect(r.largestDifference).toBeNull();
  });

  it('says within tolerance, naming the largest difference', () => {
    const a = [train(1, 0.5), train(2, 0.25), train(3, 0.125)];
    const b = [train(1, 0.5 + 1e-9), train(2, 0.25 + 2e-7), train(3, 0.125)];
    const r = compare(a, b);
    expect(r.verdict).toBe('within-tolerance');
    expect(r.valuesDiffering).toBe(2);
    expect(r.largestDifference).toMatchObject({
      metric: 'train/loss',
      step: 2,
      original: 0.25,
      prefix: 'train',
    });
    expect(r.largestDifference!.absDiff).toBeCloseTo(2e-7, 12);
    expect(r.message).toContain('within tolerance (rtol 0.00001, atol 1e-8)');
    expect(r.message).toContain('train/loss at step 2 (train)');
  });

  it('says diverged at the first step and metric beyond the tolerance, in step order', () => {
    const a = [train(1, 0.5), train(2, 0.4, { 'train/lr': 1 }), train(3, 0.3)];
    // The reproduced file lists step 3 first: the first divergence is still the smallest step.
    const b = [train(3, 0.9), train(1, 0.5), train(2, 0.4, { 'train/lr': 1.5 })];
    const r = compare(a, b);
    expect(r.verdict).toBe('diverged');
    expect(r.divergences).toBe(2);
    expect(r.firstDivergence).toMatchObject({
      step: 2,
      metric: 'train/lr',
      original: 1,
      reproduced: 1.5,
      reason: 'value',
      originalLine: 2,
      reproducedLine: 3,
    });
    expect(r.message).toBe(
      'diverged: first at step 2 (train), train/lr: 1 (original) vs 1.5 (reproduced), difference 0.5 beyond rtol 0.00001, atol 1e-8 (2 difference(s) in all)',
    );
  });

  it('counts a NaN against a number, and a record or metric present in one run only, as divergence', () => {
    expect(compare([train(1, NaN)], [train(1, 0.5)]).firstDivergence).toMatchObject({
      original: 'NaN',
      reproduced: 0.5,
      reason: 'value',
    });
    const missing = compare([train(1, 0.5), train(2, 0.4)], [train(1, 0.5)]);
    expect(missing.verdict).toBe('diverged');
    expect(missing.firstDivergence).toMatchObject({
      step: 2,
      metric: null,
      reason: 'record-missing-in-reproduced',
    });
    expect(missing.message).toContain('step 2 (train): the reproduced run has no such record');
    const extra = compare([train(1, 0.5)], [train(1, 0.5), train(2, 0.4)]);
    expect(extra.firstDivergence).toMatchObject({ step: 2, reason: 'record-missing-in-original' });
    const metric = compare([train(1, 0.5, { 'train/kl': 0.1 })], [train(1, 0.5)]);
    expect(metric.firstDivergence).toMatchObject({
      metric: 'train/kl',
      reason: 'metric-missing-in-reproduced',
    });
  });

  it('matches repeated steps (one record per rank) by occurrence', () => {
    const a = [train(1, 0.5), train(1, 0.5), train(2, 0.4), train(2, 0.4)];
    const b = [train(1, 0.5), train(1, 0.5), train(2, 0.4), train(2, 0.41)];
    const r = compare(a, b);
    expect(r.firstDivergence).toMatchObject({ step: 2, occurrence: 1, originalLine: 4, reproducedLine: 4 });
    expect(r.message).toContain('step 2 (train, occurrence 2)');
  });

  it('honours custom tolerances and ignored keys, and compares non-numbers exactly', () => {
    const a = [train(1, 1.0, { wall: 10, 'train/tag': 'x' })];
    const b = [train(1, 1.01, { wall: 99, 'train/tag': 'x' })];
    expect(compare(a, b).verdict).toBe('diverged');
    expect(compare(a, b, { rtol: 0.02, atol: 0 }, ['wall']).verdict).toBe('within-tolerance');
    const s = compare([train(1, 1, { 'train/tag': 'x' })], [train(1, 1, { 'train/tag': 'y' })]);
    expect(s.firstDivergence).toMatchObject({ metric: 'train/tag', original: 'x', reproduced: 'y' });
    expect(s.message).toContain('"x" (original) vs "y" (reproduced)');
  });
});
