import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SeriesStore } from '../../../../../src/main/core/metrics/series-store';
import { timestampMs } from '../../../../../src/shared/timestamp';
import { tmpDir } from '../../../../helpers/tmp';

function experiment(lines: string): { dir: string; file: string } {
  const dir = tmpDir('expdesk-series-');
  mkdirSync(path.join(dir, 'logs'));
  writeFileSync(path.join(dir, 'config.yaml'), 'experiment:\n  name: s\n');
  const file = path.join(dir, 'logs', 'metrics.jsonl');
  writeFileSync(file, lines);
  return { dir, file };
}

function train(
  step: number,
  loss: number | string,
  ts = `2024-11-24T09:30:${String(step % 60).padStart(2, '0')}.500000`,
): string {
  // A string loss is written raw, as Python's json.dumps writes NaN and Infinity.
  const l = typeof loss === 'string' ? loss : JSON.stringify(loss);
  return `{"step": ${step}, "prefix": "train", "timestamp": "${ts}", "train/loss": ${l}, "train/lr": 0.001}\n`;
}

describe('SeriesStore', () => {
  it('reads every key into columns and grows by what was appended', async () => {
    const { dir, file } = experiment(train(1, 0.9) + train(2, 0.8));
    const store = new SeriesStore();
    const first = await store.query(dir, { x: 'step', buckets: 100 });
    expect(first.keys).toEqual(['train/loss', 'train/lr']);
    expect(first.records).toBe(2);
    expect(first.series['train/loss']).toEqual({ x: [1, 2], y: [0.9, 0.8], points: 2, downsampled: false });
    expect(first.extent).toEqual({ min: 1, max: 2 });

    const entry = await store.load(dir);
    const loss = entry.columns.get('train/loss')!;
    const before = loss.y; // same typed array while capacity lasts: nothing was re-read
    // A partial line (no newline yet) waits; eval records with another prefix are just more keys.
    appendFileSync(
      file,
      train(3, 0.7) + '{"step": 3, "prefix": "eval", "eval/loss": 0.75}\n' + '{"step": 4, "pre',
    );
    const second = await store.query(dir, { x: 'step', buckets: 100 });
    expect(second.records).toBe(4);
    expect(second.keys).toEqual(['eval/loss', 'train/loss', 'train/lr']);
    expect(second.series['train/loss']!.x).toEqual([1, 2, 3]);
    expect(second.series['eval/loss']).toMatchObject({ x: [3], y: [0.75] });
    expect(loss.y).toBe(before);
    expect(loss.length).toBe(3);

    appendFileSync(file, 'fix": "train", "train/loss": 0.6}\n');
    const third = await store.query(dir, { keys: ['train/loss', 'nope'], x: 'step', buckets: 100 });
    expect(Object.keys(third.series)).toEqual(['train/loss']);
    expect(third.series['train/loss']!.y).toEqual([0.9, 0.8, 0.7, 0.6]);
  });

  it('grows its columns past their first capacity and downsamples per range', async () => {
    let text = '';
    for (let s = 1; s <= 5000; s++) text += train(s, s === 4321 ? 99 : 1 / s);
    const { dir } = experiment(text);
    const store = new SeriesStore();
    const all = await store.query(dir, { keys: ['train/loss'], x: 'step', buckets: 100 });
    const loss = all.series['train/loss']!;
    expect(loss.points).toBe(5000);
    expect(loss.downsampled).toBe(true);
    expect(loss.y).toContain(99);
    const zoom = await store.query(dir, {
      keys: ['train/loss'],
      x: 'step',
      buckets: 100,
      range: { min: 4300, max: 4340 },
    });
    expect(zoom.series['train/loss']).toMatchObject({ points: 41, downsampled: false });
    expect(zoom.series['train/loss']!.x[0]).toBe(4300);
    // The extent is the whole run's (for "reset zoom"), not the zoomed range.
    expect(zoom.extent).toEqual({ min: 1, max: 5000 });
  });

  it('puts wall time on the x axis, read as local time like Python wrote it', async () => {
    const { dir } = experiment(
      train(1, 0.5, '2024-11-24T09:30:00.931952') +
        train(2, 0.4, '2024-11-24T09:30:01.703262') +
        train(3, 0.3, '2024-11-24T10:00:00'),
    );
    const r = await new SeriesStore().query(dir, { keys: ['train/loss'], x: 'time', buckets: 100 });
    const t0 = new Date(2024, 10, 24, 9, 30, 0).getTime() + 931.952;
    const xs = r.series['train/loss']!.x;
    expect(xs[0]).toBeCloseTo(t0, 3);
    expect(xs[1]! - xs[0]!).toBeCloseTo(771.31, 3);
    expect(xs[2]).toBe(new Date(2024, 10, 24, 10, 0, 0).getTime());
    expect(r.extent!.min).toBeCloseTo(t0, 3);
  });

  it('parses the timestamp forms Python writes', () => {
    expect(timestampMs('2024-11-24T09:30:00.5')).toBe(new Date(2024, 10, 24, 9, 30, 0, 500).getTime());
    expect(timestampMs('2024-11-24 09:30:00')).toBe(new Date(2024, 10, 24, 9, 30, 0).getTime());
    expect(timestampMs('2024-11-24T09:30:00+00:00')).toBe(Date.UTC(2024, 10, 24, 9, 30));
    expect(timestampMs('2024-11-24T09:30:00.250-02:30')).toBe(Date.UTC(2024, 10, 24, 12, 0, 0, 250));
    expect(timestampMs('2024-11-24T09:30:00Z')).toBe(Date.UTC(2024, 10, 24, 9, 30));
    expect(timestampMs(1_700_000_000.5)).toBe(1_700_000_000_500);
    expect(timestampMs(undefined)).toBeNaN();
    expect(timestampMs('yesterday')).toBeNaN();
  });

  it('keeps NaN and ±Infinity as gaps (null), and leaves records without a time off the time axis', async () => {
    const { dir } = experiment(
      train(1, 0.5) +
        train(2, 'NaN') +
        train(3, 'Infinity') +
        train(4, '-Infinity') +
        '{"step": 5, "prefix": "train", "train/loss": 0.1}\n',
    );
    const store = new SeriesStore();
    const bySteps = await store.query(dir, { keys: ['train/loss'], x: 'step', buckets: 100 });
    expect(bySteps.series['train/loss']!.y).toEqual([0.5, null, null, null, 0.1]);
    const byTime = await store.query(dir, { keys: ['train/loss'], x: 'time', buckets: 100 });
    expect(byTime.series['train/loss']!.y).toEqual([0.5, null, null, null]);
    // The summary's JSON carries no NaN: every y is a number or null.
    expect(JSON.parse(JSON.stringify(bySteps))).toEqual(bySteps);
  });

  it('starts over when the file is replaced, and has no series before the first metric', async () => {
    const { dir, file } = experiment(train(1, 0.9) + train(2, 0.8) + train(3, 0.7));
    const store = new SeriesStore();
    expect((await store.query(dir, { x: 'step', buckets: 100 })).records).toBe(3);
    writeFileSync(file, train(1, 5));
    const r = await store.query(dir, { x: 'step', buckets: 100 });
    expect(r.records).toBe(1);
    expect(r.series['train/loss']!.y).toEqual([5]);

    const fresh = tmpDir('expdesk-series-');
    writeFileSync(path.join(fresh, 'config.yaml'), 'a: 1\n');
    expect(await store.query(fresh, { x: 'step', buckets: 100 })).toEqual({
      keys: [],
      series: {},
      extent: null,
      records: 0,
    });
    await expect(store.query(tmpDir(), { x: 'step', buckets: 100 })).rejects.toMatchObject({
      code: 'not-found',
    });
  });

  it('keeps a few experiments, least recently used out first', async () => {
    const store = new SeriesStore({ maxExperiments: 2 });
    const a = experiment(train(1, 1)).dir;
    const b = experiment(train(1, 2)).dir;
    const c = experiment(train(1, 3)).dir;
    const ea = await store.load(a);
    await store.load(b);
    await store.load(a); // a is now the most recent
    await store.load(c); // b goes
    expect(await store.load(a)).toBe(ea);
    const eb = await store.load(b);
    expect(eb.records).toBe(1);
  });
});

describe('SeriesStore memory bound (a 2 GB metrics.jsonl held ~1 GB resident)', () => {
  it('keeps an experiment within its points budget by min/max decimation; spikes, dips and a NaN tail survive', async () => {
    const lines: string[] = [];
    const n = 20_000;
    for (let step = 1; step <= n; step++) {
      let loss: number | string = 1 + (step % 7) / 100;
      if (step === 12_345) loss = 1000; // the spike
      if (step === 4_321) loss = -50; // the dip
      if (step > n - 10) loss = 'NaN'; // diverged at the end
      lines.push(train(step, loss));
    }
    const { dir } = experiment(lines.join(''));
    const budget = 5_000;
    const store = new SeriesStore({ maxExperimentPoints: budget });
    const entry = await store.load(dir);
    expect(entry.records).toBe(n);
    // Two keys a record: 40,000 points read, at most the budget kept.
    expect(entry.points).toBeLessThanOrEqual(budget);
    expect(entry.points).toBeGreaterThan(budget / 4);
    const total = [...entry.columns.values()].reduce((a, c) => a + c.length, 0);
    expect(total).toBe(entry.points);
    const loss = entry.columns.get('train/loss')!;
    const ys = Array.from(loss.y.subarray(0, loss.length));
    expect(Math.max(...ys.filter(Number.isFinite))).toBe(1000);
    expect(Math.min(...ys.filter(Number.isFinite))).toBe(-50);
    expect(Number.isNaN(ys[ys.length - 1])).toBe(true);
    // Still in step order, so ranges are found by binary search.
    expect(loss.stepSorted).toBe(true);

    const q = await store.query(dir, { x: 'step', buckets: 100 });
    expect(q.series['train/loss']!.y).toContain(1000);
    expect(q.series['train/loss']!.y).toContain(-50);
    expect(q.series['train/loss']!.downsampled).toBe(true);
    expect(q.extent).toEqual({ min: 1, max: n });
  });

  it('caps the number of metric keys an experiment may create', async () => {
    const record = (i: number): string =>
      JSON.stringify(
        Object.fromEntries([['step', i], ...Array.from({ length: 50 }, (_, k) => [`k${i}_${k}`, 1])]),
      ) + '\n';
    const { dir } = experiment(Array.from({ length: 400 }, (_, i) => record(i)).join(''));
    const entry = await new SeriesStore().load(dir);
    expect(entry.columns.size).toBe(10_000);
    expect(entry.droppedKeyPoints).toBe(400 * 50 - 10_000);
  });
});
