import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SeriesStore } from '../../../../../src/main/core/metrics/series-store';
import type { SeriesQuery } from '../../../../../src/main/core/metrics/series-query';
import { downsampleMinMax } from '../../../../../src/shared/downsample';
import { smoothSeries } from '../../../../../src/shared/smoothing';
import { tmpDir } from '../../../../helpers/tmp';

/** Records `from..to` of a noisy falling loss; `at` puts given values at given steps. */
function records(from: number, to: number, at: Record<number, number | string> = {}): string {
  let text = '';
  for (let s = from; s <= to; s++) {
    const v = at[s] ?? 3 / Math.sqrt(s) + ((s * 7919) % 101) / 1000;
    text += `{"step": ${s}, "train/loss": ${v}}\n`;
  }
  return text;
}

function experiment(text: string): { dir: string; file: string } {
  const dir = tmpDir('expdesk-pyramid-');
  mkdirSync(path.join(dir, 'logs'));
  const file = path.join(dir, 'logs', 'metrics.jsonl');
  writeFileSync(file, text);
  return { dir, file };
}

const Q: SeriesQuery = { keys: ['train/loss'], x: 'step', buckets: 50 };

/**
 * The answer downsampling every point of the column gives (no pyramid), and,
 * with a smoothing, the full column smoothed then downsampled: what the
 * cached block summaries must reproduce exactly.
 */
async function everyPoint(store: SeriesStore, dir: string, q: SeriesQuery): Promise<unknown> {
  const col = (await store.load(dir)).columns.get('train/loss')!;
  const range = q.range ?? null;
  const columns = { x: col.step, length: col.length, sorted: true };
  const raw = downsampleMinMax({ ...columns, y: col.y }, { buckets: q.buckets, range });
  if (!q.smoothing) return raw;
  const sm = downsampleMinMax(
    { ...columns, y: smoothSeries(col.y, col.length, q.smoothing) },
    { buckets: q.buckets, range },
  );
  return { ...raw, smoothed: { x: sm.x, y: sm.y } };
}

async function expectExact(store: SeriesStore, dir: string, q: SeriesQuery): Promise<void> {
  const { nonFinite: _marks, ...got } = (await store.query(dir, q)).series['train/loss']!;
  expect(got).toEqual(await everyPoint(store, dir, q));
}

describe('series block summaries (min/max pyramid) kept with the columns', () => {
  it('a spike appended after the first draw shows in the next one, as a scan of every point draws it', async () => {
    const { dir, file } = experiment(records(1, 5000));
    const store = new SeriesStore();
    await expectExact(store, dir, Q);
    const ema = { ...Q, smoothing: { kind: 'ema' as const, weight: 0.9 } };
    await expectExact(store, dir, ema);

    appendFileSync(file, records(5001, 9000, { 7777: 500, 8100: -40, 8200: 'NaN' }));
    const after = (await store.query(dir, Q)).series['train/loss']!;
    expect(after.points).toBe(9000);
    expect(after.y).toContain(500);
    expect(after.y).toContain(-40);
    await expectExact(store, dir, Q);
    await expectExact(store, dir, ema);
    await expectExact(store, dir, { ...ema, range: { min: 7000, max: 8500 } });
  });

  it('a replaced metrics.jsonl is drawn from its own points, not the old file’s summaries', async () => {
    const { dir, file } = experiment(records(1, 6000, { 3000: 999 }));
    const store = new SeriesStore();
    expect((await store.query(dir, Q)).series['train/loss']!.y).toContain(999);
    // A rewrite (new file renamed over the old one), longer than the old: no trace of 999 may stay.
    writeFileSync(`${file}.tmp`, records(1, 7000, { 4000: -7 }));
    renameSync(`${file}.tmp`, file);
    const r = (await store.query(dir, Q)).series['train/loss']!;
    expect(r.y).not.toContain(999);
    expect(r.y).toContain(-7);
    await expectExact(store, dir, Q);
  });

  it('after a decimation (points budget) the summaries are made again from the halved column', async () => {
    const { dir, file } = experiment(records(1, 3000, { 1500: 77 }));
    const store = new SeriesStore({ maxExperimentPoints: 4000 });
    await expectExact(store, dir, Q);
    // Past the budget: the column is decimated in place (its values move), then grows on.
    appendFileSync(file, records(3001, 6000, { 5000: -77 }));
    const entry = await store.load(dir);
    expect(entry.columns.get('train/loss')!.decimations).toBeGreaterThan(0);
    const r = (await store.query(dir, Q)).series['train/loss']!;
    expect(r.y).toContain(77);
    expect(r.y).toContain(-77);
    await expectExact(store, dir, Q);
    await expectExact(store, dir, { ...Q, range: { min: 1000, max: 5500 } });
  });
});
