import { appendFileSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetricsFeeds } from '../../../../../src/main/core/metrics/metrics-feed';
import { SeriesStore } from '../../../../../src/main/core/metrics/series-store';
import { SummaryStore } from '../../../../../src/main/core/summary/summary-store';
import { tmpDir } from '../../../../helpers/tmp';

const train = (step: number, loss: number | string): string =>
  `{"step": ${step}, "prefix": "train", "timestamp": "2026-01-01T10:00:0${step % 10}", "train/loss": ${loss}}\n`;

function experiment(text: string): { dir: string; file: string } {
  const dir = tmpDir('expdesk-feed-');
  mkdirSync(path.join(dir, 'logs'));
  writeFileSync(path.join(dir, 'config.yaml'), 'experiment:\n  name: feed\n');
  const file = path.join(dir, 'logs', 'metrics.jsonl');
  writeFileSync(file, text);
  return { dir, file };
}

/** Complete lines of a file (a partial last line is not one yet). */
function lineCount(file: string): number {
  return readFileSync(file, 'utf8').split('\n').length - 1;
}

describe('MetricsFeed: one reader of metrics.jsonl for the summary and the charts', () => {
  it('a listing, a chart request and appends read each byte and parse each line exactly once', async () => {
    const { dir, file } = experiment(
      train(1, 0.9) + train(2, 'NaN') + '{"step": 3, "prefix": "tr\n' + train(4, 0.5) + '{"step": 5, "pre',
    );
    const feeds = new MetricsFeeds();
    const summaries = new SummaryStore({ cacheDir: tmpDir('expdesk-feed-cache-'), feeds });
    const series = new SeriesStore({ feeds });

    const listed = await summaries.summarize(dir);
    expect(listed).toMatchObject({ records: 3, malformedLines: 1, final_loss: 0.5 });
    expect(listed.problems).toContainEqual(expect.objectContaining({ file: 'logs/metrics.jsonl', line: 3 }));
    const chart = await series.query(dir, { x: 'step', buckets: 100 });
    expect(chart.records).toBe(3);
    expect(chart.series['train/loss']!.y).toEqual([0.9, null, 0.5]);

    // The partial last line gets its end, and more lines come.
    appendFileSync(file, 'fix": "train", "train/loss": 0.25}\n' + train(6, 'Infinity') + train(7, 0.125));
    const chart2 = await series.query(dir, { x: 'step', buckets: 100 });
    expect(chart2.series['train/loss']!.y).toEqual([0.9, null, 0.5, 0.25, null, 0.125]);
    const listed2 = await summaries.summarize(dir);
    expect(listed2).toMatchObject({ records: 6, malformedLines: 1, final_loss: 0.125, total_steps: 7 });
    await series.query(dir, { x: 'time', buckets: 10 });
    await summaries.summarize(dir);

    // Every byte of the file read once, every complete line parsed once — by both consumers together.
    expect(feeds.counters.bytes).toBe(statSync(file).size);
    expect(feeds.counters.lines).toBe(lineCount(file));
    expect(lineCount(file)).toBe(7);
  });

  it('after a restart the summary resumes at its cached offset; the chart alone reads the file once more', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => train(i + 1, 1 / (i + 1))).join('');
    const { dir, file } = experiment(lines);
    const cacheDir = tmpDir('expdesk-feed-cache-');
    const before = new SummaryStore({ cacheDir, feeds: new MetricsFeeds() });
    expect((await before.summarize(dir)).records).toBe(50);
    await before.flush();

    // A new process: new feeds, the same disk cache.
    const feeds = new MetricsFeeds();
    const summaries = new SummaryStore({ cacheDir, feeds });
    const added = train(51, 0.01) + train(52, 0.005);
    appendFileSync(file, added);
    expect(await summaries.summarize(dir)).toMatchObject({ records: 52, final_loss: 0.005 });
    expect(feeds.counters.bytes).toBe(Buffer.byteLength(added));
    expect(feeds.counters.lines).toBe(2);

    // The columns are not cached on disk: the first chart reads the file from its first byte, once.
    const chart = await new SeriesStore({ feeds }).query(dir, { x: 'step', buckets: 1000 });
    expect(chart.records).toBe(52);
    expect(feeds.counters.bytes).toBe(Buffer.byteLength(added) + statSync(file).size);
    // …and the summary, read through the same feed, is unchanged by it.
    expect(await summaries.summarize(dir)).toMatchObject({ records: 52, final_loss: 0.005 });
    expect(feeds.counters.lines).toBe(2 + 52);
  });

  it('a file replaced by another (new inode, same first bytes) starts both the summary and the chart over', async () => {
    const { dir, file } = experiment(train(1, 0.9) + train(2, 0.8));
    const feeds = new MetricsFeeds();
    const summaries = new SummaryStore({ cacheDir: false, feeds });
    const series = new SeriesStore({ feeds });
    await summaries.summarize(dir);
    expect((await series.query(dir, { x: 'step', buckets: 10 })).records).toBe(2);
    const next = `${file}.new`;
    writeFileSync(next, train(1, 0.9) + train(2, 0.8) + train(3, 7));
    renameSync(next, file);
    expect(await summaries.summarize(dir)).toMatchObject({ records: 3, final_loss: 7 });
    expect((await series.query(dir, { x: 'step', buckets: 10 })).series['train/loss']!.y).toEqual([
      0.9, 0.8, 7,
    ]);
  });

  it('a listing builds columns only into free room; a chart always gets them, least recently used out', async () => {
    const feeds = new MetricsFeeds({ maxExperiments: 2 });
    const summaries = new SummaryStore({ cacheDir: false, feeds });
    const dirs = [1, 2, 3].map((i) => experiment(train(1, i)).dir);
    for (const d of dirs) await summaries.summarize(d);
    expect(feeds.seriesHeld).toBe(2); // the third listed found no room, and evicted nothing
    const bytes = feeds.counters.bytes;
    const series = new SeriesStore({ feeds });
    await series.query(dirs[0]!, { x: 'step', buckets: 10 });
    expect(feeds.counters.bytes).toBe(bytes); // built by the listing: not read again
    await series.query(dirs[2]!, { x: 'step', buckets: 10 });
    expect(feeds.seriesHeld).toBe(2);
    expect(feeds.counters.bytes).toBe(bytes + statSync(path.join(dirs[2]!, 'logs/metrics.jsonl')).size);
  });
});
