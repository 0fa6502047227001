/**
 * Benchmark (issue 12): a TensorBoard event file of 1,000,000 scalars
 * summarised through the experiment's metrics feed (crc checks, decode,
 * summary fold and chart columns), against a metrics.jsonl of 1,000,000
 * records summarised the same way, in the same run. Target: ratio ≤ 1.0.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MetricsFeeds } from '../src/main/core/metrics/metrics-feed';
import { SummaryStore } from '../src/main/core/summary/summary-store';
import { eventBytes, fileVersionEvent, record } from '../tests/helpers/tfevents';
import { median, report, type BenchResult } from './report';

const N = Number(process.env.BENCH_TFEVENTS_SCALARS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TAGS = ['train/loss', 'train/lr', 'train/grad_norm', 'eval/loss'];

/** As torch.utils.tensorboard writes: one event per add_scalar call. */
export async function writeEvents(file: string, n = N): Promise<void> {
  const fh = await open(file, 'w');
  const batch: Buffer[] = [record(fileVersionEvent())];
  for (let i = 0; i < n; i++) {
    const step = Math.floor(i / TAGS.length);
    batch.push(
      record(eventBytes(step, 1_700_000_000 + i / 100, [{ tag: TAGS[i % 4]!, simple: 1 / (1 + i) }])),
    );
    if (batch.length === 10_000) {
      await fh.write(Buffer.concat(batch));
      batch.length = 0;
    }
  }
  await fh.write(Buffer.concat(batch));
  await fh.close();
}

/** The seed's records: step, prefix, timestamp and a few metrics. */
export async function writeJsonl(file: string, n = N): Promise<void> {
  const fh = await open(file, 'w');
  const batch: string[] = [];
  for (let step = 1; step <= n; step++) {
    const t = new Date(Date.UTC(2026, 0, 1) + step * 1000).toISOString().replace('Z', '');
    batch.push(
      JSON.stringify({
        step,
        prefix: 'train',
        timestamp: t,
        'train/loss': 3 / Math.sqrt(step),
        'train/lr': 1e-5,
      }),
    );
    if (batch.length === 10_000) {
      await fh.write(batch.join('\n') + '\n');
      batch.length = 0;
    }
  }
  if (batch.length) await fh.write(batch.join('\n') + '\n');
  await fh.close();
}

/** What a listing of the run costs the first time: its summary, through a fresh feed. */
async function summarize(dir: string): Promise<number> {
  const s = await new SummaryStore({ cacheDir: false, feeds: new MetricsFeeds() }).summarize(dir);
  return s.records;
}

export async function benchTfeventsSummary(): Promise<BenchResult[]> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-bench-tfevents-'));
  const tb = path.join(root, 'tb');
  const seed = path.join(root, 'seed');
  mkdirSync(tb);
  mkdirSync(path.join(seed, 'logs'), { recursive: true });
  try {
    process.stderr.write(`generating ${N.toLocaleString()} scalars and ${N.toLocaleString()} records…\n`);
    const eventsFile = path.join(tb, 'events.out.tfevents.1700000000.bench');
    await writeEvents(eventsFile);
    await writeJsonl(path.join(seed, 'logs', 'metrics.jsonl'));
    await summarize(tb);
    await summarize(seed);
    const tbTimes: number[] = [];
    const jsonTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      let t = performance.now();
      const n = await summarize(seed);
      jsonTimes.push(performance.now() - t);
      if (n !== N) throw new Error(`metrics.jsonl: ${n} records, expected ${N}`);
      t = performance.now();
      const m = await summarize(tb);
      tbTimes.push(performance.now() - t);
      if (m !== N) throw new Error(`event file: ${m} records, expected ${N}`);
    }
    const ours = median(tbTimes);
    const base = median(jsonTimes);
    const mb = statSync(eventsFile).size / 1e6;
    return [
      {
        name: `event file of ${N.toLocaleString()} scalars (${mb.toFixed(0)} MB) summarised (crc + decode + fold + columns)`,
        figure: `${ours.toFixed(0)} ms`,
        baseline: `metrics.jsonl of ${N.toLocaleString()} records: ${base.toFixed(0)} ms`,
        ratio: ours / base,
        target: 1,
        targetText: '≤ 1.0x the metrics.jsonl',
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchTfeventsSummary());
}
