import { describe, expect, it } from 'vitest';
import { MetricsFold, metricDirection } from '../../../src/shared/metrics-summary';

describe('MetricsFold', () => {
  it("follows the seed's analyze_experiment semantics", () => {
    const fold = new MetricsFold();
    fold.add({ step: 1, prefix: 'train', timestamp: 't1', 'train/loss': 2.0 });
    fold.add({ step: 1, prefix: 'eval', timestamp: 't1', 'eval/loss': 1.9, 'eval/accuracy': 0.5 });
    fold.add({ step: 2, prefix: 'train', timestamp: 't2', 'train/loss': 1.0 });
    fold.add({ step: 2, prefix: 'eval', timestamp: 't2', 'eval/loss': 1.2, 'eval/accuracy': 0.7 });
    fold.add({ step: 3, prefix: 'train', timestamp: 't3', 'train/loss': 1.5 });
    const s = fold.state;
    expect(s.lastTrainStep).toBe(3);
    expect(s.lastTrainLoss).toBe(1.5);
    expect(s.lastEval).toEqual({ 'eval/loss': 1.2, 'eval/accuracy': 0.7 });
    const stats = fold.metricStats();
    expect(stats['train/loss']).toMatchObject({
      last: 1.5,
      best: 1.0,
      bestStep: 2,
      min: 1.0,
      max: 2.0,
      direction: 'min',
    });
    expect(stats['eval/accuracy']).toMatchObject({ best: 0.7, direction: 'max' });
  });

  it('reports NaN and Infinity as null and counts them, never as a best value', () => {
    const fold = new MetricsFold();
    fold.add({ step: 1, prefix: 'train', 'train/loss': 0.5, 'train/grad_norm': Infinity });
    fold.add({ step: 2, prefix: 'train', 'train/loss': NaN, 'train/grad_norm': 3 });
    expect(fold.state.lastTrainLoss).toBeNull();
    const stats = fold.metricStats();
    expect(stats['train/loss']).toMatchObject({ last: null, best: 0.5, nonFinite: 1, count: 2 });
    expect(stats['train/grad_norm']).toMatchObject({
      last: 3,
      max: 3,
      nonFinite: 1,
      direction: 'unknown',
      best: null,
    });
    // Which non-finite value it was travels as a word (JSON has no NaN), and where a series first turned.
    expect(fold.state.lastTrainLossNonFinite).toBe('NaN');
    expect(fold.state.firstNonFinite).toEqual({ metric: 'train/grad_norm', step: 1, value: 'Infinity' });
    expect(stats['train/loss']!.lastNonFinite).toBe('NaN');
    expect(JSON.stringify(fold.state)).not.toMatch(/:NaN\b/);
  });

  it('accepts any prefix and any key, and ignores non-numeric values', () => {
    const fold = new MetricsFold();
    fold.add({ step: 5, prefix: 'rollout', 'rollout/kl': 0.01, 'rollout/note': 'x', custom: 3 });
    expect(Object.keys(fold.metricStats()).sort()).toEqual(['custom', 'rollout/kl']);
    expect(fold.state.lastTrainStep).toBeNull();
  });

  it('guesses metric directions from their names', () => {
    expect(metricDirection('eval/loss')).toBe('min');
    expect(metricDirection('ppo/kl')).toBe('min');
    expect(metricDirection('eval/accuracy')).toBe('max');
    expect(metricDirection('train/reward_margin')).toBe('max');
    expect(metricDirection('train/lr')).toBe('unknown');
  });
});

describe('metric names from a file are keys, never Object.prototype (an untrusted metrics.jsonl)', () => {
  it('folds "__proto__", "constructor" and "toString" as metrics and changes no other object', () => {
    const fold = new MetricsFold();
    for (const line of [
      '{"step": 1, "prefix": "train", "__proto__": 5, "constructor": 3, "toString": 2}',
      '{"step": 2, "prefix": "eval", "__proto__": 7, "constructor": 1}',
    ])
      fold.add(JSON.parse(line) as Record<string, unknown>);
    const stats = fold.metricStats();
    expect(Object.keys(stats).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect(stats['__proto__']).toMatchObject({ last: 7, min: 5, max: 7, count: 2 });
    expect(stats['constructor']).toMatchObject({ last: 1, count: 2 });
    expect(Object.getPrototypeOf(stats)).toBe(Object.prototype);
    expect(fold.state.lastEval).toEqual(JSON.parse('{"__proto__": 7, "constructor": 1}'));
    expect(Object.keys(fold.means()).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    // Nothing leaked onto every object.
    expect(({} as Record<string, unknown>).count).toBeUndefined();
    expect((Object as unknown as Record<string, unknown>).count).toBeUndefined();
  });
});
