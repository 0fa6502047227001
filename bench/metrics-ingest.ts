/**
 * Benchmark: ingesting a 1,000,000-line metrics.jsonl through the
 * experiment's one metrics feed (reader + summary fold + chart columns, each
 * line parsed once) against plain per-line JSON.parse of the same file, in
 * the same run; then the cost of reading 10 lines appended afterwards; and
 * the feed against the two readers that fed the summary and the chart
 * before it (issue 10: each line was parsed twice).
 * Targets (issue 2): ingest within 1.25x of the baseline; the 10 appended
 * lines in under 1/1000 of the full ingest; (issue 10) the feed no slower
 * than the two readers.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MetricsFeeds, type MetricsFeed } from '../src/main/core/metrics/metrics-feed';
import { MetricsTail } from '../src/main/core/metrics/metrics-tail';
import { ExperimentSeries } from '../src/main/core/metrics/series-columns';
import { MetricsFold } from '../src/shared/metrics-summary';
import { median, report, type BenchResult } from './report';

const LINES = Number(process.env.BENCH_METRICS_LINES ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function record(step: number, rng: () => number): string {
  const t = new Date(Date.UTC(2026, 0, 1) + step * 1000).toISOString().replace('Z', '');
  if (step % 50 === 0) {
    return JSON.stringify({
      step,
      prefix: 'eval',
      timestamp: t,
      'eval/loss': 2 / Math.sqrt(step) + rng() * 0.01,
      'eval/accuracy': 1 - 1 / Math.sqrt(step),
    });
  }
  return JSON.stringify({
    step,
    prefix: 'train',
    timestamp: t,
    'train/loss': 3 / Math.sqrt(step) + rng() * 0.05,
    'train/lr': 1e-5,
    'train/grad_norm': 1 + rng(),
    'train/reward_margin': Math.log(step) + rng(),
  });
}

async function generate(file: string, lines: number): Promise<void> {
  let seed = 42;
  const rng = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const fh = await open(file, 'w');
  const batch: string[] = [];
  for (let s = 1; s <= lines; s++) {
    batch.push(record(s, rng));
    if (batch.length === 10_000) {
      await fh.write(batch.join('\n') + '\n');
      batch.length = 0;
    }
  }
  if (batch.length) await fh.write(batch.join('\n') + '\n');
  await fh.close();
}

/** The baseline: what a user's script does — read it all, split, JSON.parse each line. */
function baseline(file: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  let n = 0;
  for (const line of lines) {
    if (line.length === 0) continue;
    const rec = JSON.parse(line) as Record<string, unknown>;
    if (rec.step !== undefined) n++;
  }
  return n;
}

/** What a listing and a chart of the experiment cost: its one feed, fold and columns. */
async function ingest(file: string): Promise<MetricsFeed> {
  const feed = new MetricsFeeds().open(file);
  await feed.readSeries();
  return feed;
}

/** A listing's read when the columns' budget is full: the summary's fold only. */
async function foldOnly(file: string): Promise<number> {
  const feed = new MetricsFeeds({ maxExperiments: 0 }).open(file);
  await feed.read();
  return feed.foldState.records;
}

/** Before issue 10: one reader for the summary's fold, another for the chart's columns. */
async function twoReaders(file: string): Promise<number> {
  const tail = new MetricsTail(file);
  const fold = new MetricsFold();
  await tail.readAppended((rec) => fold.add(rec));
  const columns = new ExperimentSeries();
  await new MetricsTail(file).readAppended((rec) => columns.add(rec));
  return fold.state.records + columns.records;
}

export async function benchMetricsIngest(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-bench-'));
  const file = path.join(dir, 'metrics.jsonl');
  try {
    process.stderr.write(`generating ${LINES.toLocaleString()} lines…\n`);
    await generate(file, LINES);
    const size = statSync(file).size;
    // Warm the page cache and the JIT once for both, then alternate runs so drift hits both alike.
    baseline(file);
    await ingest(file);
    const baseTimes: number[] = [];
    const oursTimes: number[] = [];
    const twoTimes: number[] = [];
    const foldTimes: number[] = [];
    let last: MetricsFeed | null = null;
    for (let i = 0; i < RUNS; i++) {
      let t = performance.now();
      const n = baseline(file);
      baseTimes.push(performance.now() - t);
      if (n !== LINES) throw new Error(`baseline read ${n} records, expected ${LINES}`);
      t = performance.now();
      last = await ingest(file);
      oursTimes.push(performance.now() - t);
      if (last.foldState.records !== LINES || last.series?.records !== LINES)
        throw new Error(`ingest read ${last.foldState.records} records`);
      t = performance.now();
      const both = await twoReaders(file);
      twoTimes.push(performance.now() - t);
      if (both !== 2 * LINES) throw new Error(`two readers read ${both} records`);
      t = performance.now();
      const folded = await foldOnly(file);
      foldTimes.push(performance.now() - t);
      if (folded !== LINES) throw new Error(`fold only read ${folded} records`);
    }
    const base = median(baseTimes);
    const ours = median(oursTimes);
    const two = median(twoTimes);
    const fold = median(foldTimes);

    // 10 appended lines, read through the same reader state.
    let seed = 7;
    const rng = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const appendTimes: number[] = [];
    let step = LINES;
    for (let i = 0; i < 5; i++) {
      const extra: string[] = [];
      for (let k = 0; k < 10; k++) extra.push(record(++step, rng));
      appendFileSync(file, extra.join('\n') + '\n');
      const t = performance.now();
      const r = await last!.read();
      appendTimes.push(performance.now() - t);
      if (r.lines !== 10) throw new Error(`append read ${r.lines} lines, expected 10`);
    }
    const append = median(appendTimes);
    return [
      {
        name: `metrics.jsonl ingest through the one feed (fold + columns), ${LINES.toLocaleString()} lines (${(size / 1e6).toFixed(0)} MB)`,
        figure: `${ours.toFixed(0)} ms (${(size / 1e6 / (ours / 1000)).toFixed(0)} MB/s)`,
        baseline: `plain per-line JSON.parse: ${base.toFixed(0)} ms`,
        ratio: ours / base,
        target: 1.25,
        targetText: '≤ 1.25x baseline',
      },
      {
        name: '10 appended lines, read by offset',
        figure: `${append.toFixed(3)} ms`,
        baseline: `full ingest: ${ours.toFixed(0)} ms`,
        ratio: append / ours,
        target: 1 / 1000,
        targetText: '< 1/1000 of the full ingest',
      },
      {
        name: 'summary only (a feed without columns: what the ingest figure measured before issue 10)',
        figure: `${fold.toFixed(0)} ms`,
        baseline: `plain per-line JSON.parse: ${base.toFixed(0)} ms`,
        ratio: fold / base,
        target: 1.25,
        targetText: '≤ 1.25x baseline',
      },
      {
        name: 'one feed (summary + chart, each line parsed once) vs two readers (before)',
        figure: `${ours.toFixed(0)} ms`,
        baseline: `two readers: ${two.toFixed(0)} ms`,
        ratio: ours / two,
        target: 1,
        targetText: '≤ 1x the two readers',
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchMetricsIngest());
}
