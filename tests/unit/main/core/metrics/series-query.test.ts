import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SeriesStore } from '../../../../../src/main/core/metrics/series-store';
import { tmpDir } from '../../../../helpers/tmp';

/** An experiment folder whose metrics.jsonl holds these lines as written (NaN and Infinity raw, as Python writes them). */
function run(lines: string[]): string {
  const dir = tmpDir('expdesk-series-query-');
  mkdirSync(path.join(dir, 'logs'));
  writeFileSync(path.join(dir, 'config.yaml'), 'experiment:\n  name: q\n');
  writeFileSync(path.join(dir, 'logs', 'metrics.jsonl'), lines.map((l) => l + '\n').join(''));
  return dir;
}

const at = (step: number, sec: number, fields: string): string =>
  `{"step": ${step}, "prefix": "train", "timestamp": "2025-03-01T10:00:${String(sec).padStart(2, '0')}", ${fields}}`;

describe('metrics.series: axes, smoothing and marks', () => {
  it('tells +Inf, -Inf and NaN apart (the line has a gap, the marks say which)', async () => {
    const dir = run([
      at(1, 0, '"train/loss": 1.0'),
      at(2, 1, '"train/loss": Infinity'),
      at(3, 2, '"train/loss": NaN'),
      at(4, 3, '"train/loss": -Infinity'),
      at(5, 4, '"train/loss": 0.5'),
    ]);
    const r = await new SeriesStore().query(dir, { x: 'step', buckets: 100 });
    const s = r.series['train/loss']!;
    expect(s.y).toEqual([1, null, null, null, 0.5]);
    expect(s.nonFinite).toEqual({
      x: [2, 3, 4],
      kind: ['+inf', 'nan', '-inf'],
      nan: 1,
      posInf: 1,
      negInf: 1,
    });
  });

  it('draws against relative time (s since the first record) and against another metric at the same step', async () => {
    const dir = run([
      at(10, 0, '"train/loss": 4, "train/lr": 0.1'),
      at(20, 5, '"train/loss": 3'),
      at(30, 9, '"train/loss": 2, "train/lr": 0.05'),
      `{"step": 30, "prefix": "eval", "eval/acc": 0.7}`,
    ]);
    const store = new SeriesStore();
    const rel = await store.query(dir, { keys: ['train/loss'], x: 'relative', buckets: 100 });
    expect(rel.series['train/loss']!.x).toEqual([0, 5, 9]);
    expect(rel.extent).toEqual({ min: 0, max: 9 });
    const zoomed = await store.query(dir, {
      keys: ['train/loss'],
      x: 'relative',
      buckets: 100,
      range: { min: 4, max: 10 },
    });
    expect(zoomed.series['train/loss']!.x).toEqual([5, 9]);

    // x = lr at the same step (the last lr at or before it): 0.1, 0.1, 0.05; drawn in x order.
    const byLr = await store.query(dir, {
      keys: ['train/loss', 'eval/acc'],
      x: 'metric',
      xKey: 'train/lr',
      buckets: 100,
    });
    expect(byLr.series['train/loss']).toMatchObject({ x: [0.05, 0.1, 0.1], y: [2, 4, 3] });
    expect(byLr.series['eval/acc']).toMatchObject({ x: [0.05], y: [0.7] });
    expect(byLr.extent).toEqual({ min: 0.05, max: 0.1 });
    // An x metric the run does not have: nothing to draw against.
    const none = await store.query(dir, { x: 'metric', xKey: 'nope', buckets: 100 });
    expect(none.series).toEqual({});
  });

  it('returns the smoothed curve (computed on every point) beside the raw one, and the robust range', async () => {
    const lines: string[] = [];
    for (let s = 1; s <= 5000; s++) lines.push(`{"step": ${s}, "train/loss": ${s === 2500 ? 1000 : 0}}`);
    const dir = run(lines);
    const store = new SeriesStore();
    const r = await store.query(dir, {
      x: 'step',
      buckets: 50,
      smoothing: { kind: 'ema', weight: 0.9 },
      robust: true,
    });
    const s = r.series['train/loss']!;
    expect(s.downsampled).toBe(true);
    expect(Math.max(...s.y.map((v) => v ?? 0))).toBe(1000);
    expect(Math.max(...s.smoothed!.y.map((v) => v ?? 0))).toBeCloseTo(100, 9);
    expect(s.robust).toEqual({ lo: 0, hi: 0 });
    expect(s.nonFinite).toBeUndefined();

    const mean = await store.query(dir, { x: 'step', buckets: 5000, smoothing: { kind: 'mean', window: 4 } });
    const m = mean.series['train/loss']!.smoothed!;
    expect(m.y[m.x.indexOf(2500)]).toBe(250);
    expect(m.y[m.x.indexOf(2503)]).toBe(250);
    expect(m.y[m.x.indexOf(2504)]).toBe(0);
  });
});
