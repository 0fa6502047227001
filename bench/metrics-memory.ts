/**
 * Benchmark: memory held by `metrics.series` for a large metrics.jsonl
 * (issue 15: a 2 GB file took ~1 GB resident). The series store keeps an
 * experiment within a points budget by min/max decimation; the baseline, in
 * the same run over the same file, is the store with no budget (every point
 * kept, as before). Figures: bytes of the columns' typed arrays (what
 * dominates the resident size), read time, and whether the spike survived.
 */
import { mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SeriesStore, type ExperimentSeries } from '../src/main/core/metrics/series-store';
import { report, type BenchResult } from './report';

const RECORDS = Number(process.env.BENCH_MEMORY_RECORDS ?? 3_000_000);
const SPIKE_STEP = Math.floor(RECORDS * 0.654321);

function writeMetrics(file: string): void {
  const fd = openSync(file, 'w');
  let chunk = '';
  for (let step = 1; step <= RECORDS; step++) {
    const loss = step === SPIKE_STEP ? 1000 : 3 / Math.sqrt(step) + (step % 13) / 1000;
    chunk += `{"step": ${step}, "prefix": "train", "timestamp": "2024-11-24T09:30:00.500000", "train/loss": ${loss}, "train/lr": 0.0001}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
}

function columnBytes(e: ExperimentSeries): number {
  let bytes = 0;
  for (const c of e.columns.values()) bytes += c.step.byteLength + c.time.byteLength + c.y.byteLength;
  return bytes;
}

async function measure(dir: string, maxExperimentPoints: number) {
  const store = new SeriesStore({ maxExperimentPoints, maxPoints: Infinity });
  const t = performance.now();
  const entry = await store.load(dir);
  const ms = performance.now() - t;
  const q = await store.query(dir, { x: 'step', buckets: 1000 });
  return {
    ms,
    bytes: columnBytes(entry),
    points: entry.points,
    spike: q.series['train/loss']!.y.includes(1000),
  };
}

const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`;

export async function benchMetricsMemory(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-bench-memory-'));
  try {
    mkdirSync(path.join(dir, 'logs'));
    const file = path.join(dir, 'logs', 'metrics.jsonl');
    writeMetrics(file);
    const size = statSync(file).size;
    const base = await measure(dir, Infinity);
    const bounded = await measure(dir, 2_000_000);
    if (!bounded.spike || !base.spike) throw new Error('the spike was lost');
    return [
      {
        name: `metrics.series on a ${mb(size)} metrics.jsonl (${RECORDS.toLocaleString()} records): column memory`,
        figure: `${mb(bounded.bytes)} (${bounded.points.toLocaleString()} points, spike kept)`,
        baseline: `every point kept: ${mb(base.bytes)} (${base.points.toLocaleString()} points)`,
        ratio: bounded.bytes / base.bytes,
        target: null,
      },
      {
        name: `metrics.series on a ${mb(size)} metrics.jsonl: read time with the budget`,
        figure: `${(bounded.ms / 1000).toFixed(2)} s`,
        baseline: `every point kept: ${(base.ms / 1000).toFixed(2)} s`,
        ratio: bounded.ms / base.ms,
        target: null,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchMetricsMemory());
}
