/**
 * Benchmark: a group's curves (`metrics.groupSeries`, issue 12) for two
 * groups of three runs × 100,000 points, against what the compare view asks
 * without groups (`metrics.series` of each of the six runs), both through
 * ExpdeskHost.dispatch in the same run: the first request, and a zoom
 * (the aligned curves are kept, so a zoom only downsamples again).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExpdeskHost } from '../src/main/host/host';
import type { BenchResult } from './report';

const POINTS = 100_000;

function writeRun(dir: string, seed: number): void {
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  writeFileSync(path.join(dir, 'config.yaml'), `training:\n  seed: ${seed}\n`);
  const lines: string[] = [];
  for (let step = 1; step <= POINTS; step++)
    lines.push(`{"step": ${step}, "prefix": "train", "train/loss": ${seed + 1 / step}}`);
  writeFileSync(path.join(dir, 'logs', 'metrics.jsonl'), lines.join('\n') + '\n');
}

function host(root: string): ExpdeskHost {
  return new ExpdeskHost({
    mode: 'browser',
    version: 'bench',
    workspace: null,
    demoWorkspace: null,
    cacheDir: path.join(root, 'cache'),
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export async function benchGroupSeries(): Promise<BenchResult[]> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-bench-groups-'));
  try {
    const dirs = [1, 2, 3, 4, 5, 6].map((seed) => path.join(root, `run${seed}`));
    dirs.forEach((d, i) => writeRun(d, i + 1));
    const zoom = { min: 20_000, max: 60_000 };
    const keys = ['train/loss'];
    const groups = [dirs.slice(0, 3), dirs.slice(3)];

    const runs = host(root);
    const eachRun = (range: typeof zoom | null) => () =>
      Promise.all(
        dirs.map((expDir) => runs.dispatch('metrics.series', { expDir, keys, buckets: 800, range })),
      );
    const runsFirst = await timed(eachRun(null));
    const runsZoom = await timed(eachRun(zoom));
    runs.dispose();

    const grouped = host(root);
    const ask = (range: typeof zoom | null) => () =>
      grouped.dispatch('metrics.groupSeries', { groups, keys, buckets: 800, range });
    const groupFirst = await timed(ask(null));
    const groupZoom = await timed(ask(zoom));
    grouped.dispose();

    const baseline = (ms: number): string => `metrics.series of the 6 runs: ${ms.toFixed(0)} ms`;
    return [
      {
        name: 'groupSeries, 2 groups × 3 runs × 100k points, first request',
        figure: `${groupFirst.toFixed(0)} ms`,
        baseline: baseline(runsFirst),
        ratio: groupFirst / runsFirst,
        target: null,
      },
      {
        name: 'groupSeries zoom (aligned curves kept)',
        figure: `${groupZoom.toFixed(0)} ms`,
        baseline: baseline(runsZoom),
        ratio: groupZoom / runsZoom,
        target: null,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
