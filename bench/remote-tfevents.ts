/**
 * Benchmark (issue 12): a remote TensorBoard run listed through the remote
 * helper (python3 in a local shell, as an SSH exec runs it; no network): the
 * event file's bytes are shipped into the run mirror and summarised by the
 * TypeScript reader, against a remote metrics.jsonl with as many records
 * listed the same way, in the same run — so the ratio says what shipping raw
 * event bytes (rather than decoding on the remote) costs. Also: a refresh
 * after 100 appended scalars, against the cold listing.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RemoteWorkspace } from '../src/main/core/remote/remote-workspace';
import { SummaryStore } from '../src/main/core/summary/summary-store';
import { parseRemoteLocation } from '../src/shared/remote-location';
import { localHelper } from '../tests/helpers/local-helper';
import { eventBytes, record } from '../tests/helpers/tfevents';
import { median, type BenchResult } from './report';
import { writeEvents, writeJsonl } from './tfevents-summary';

const N = Number(process.env.BENCH_REMOTE_TFEVENTS_SCALARS ?? 200_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/** One listing with a fresh cache (`cache` given: that one, warm); returns ms and the records summarised. */
async function list(root: string, cache: string): Promise<{ ms: number; records: number }> {
  const ws = new RemoteWorkspace(
    localHelper('bench'),
    parseRemoteLocation('ssh://bench/')!,
    new SummaryStore({ cacheDir: cache }),
  );
  const t = performance.now();
  const listing = await ws.list(root);
  return { ms: performance.now() - t, records: listing.experiments[0]?.records ?? -1 };
}

export async function benchRemoteTfevents(): Promise<BenchResult[]> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-bench-remote-tb-'));
  const tb = path.join(root, 'tb');
  const seed = path.join(root, 'seed');
  mkdirSync(path.join(tb, 'run'), { recursive: true });
  mkdirSync(path.join(seed, 'exp001', 'logs'), { recursive: true });
  try {
    const events = path.join(tb, 'run', 'events.out.tfevents.1700000000.bench');
    await writeEvents(events, N);
    await writeJsonl(path.join(seed, 'exp001', 'logs', 'metrics.jsonl'), N);
    const tbTimes: number[] = [];
    const jsonTimes: number[] = [];
    const refreshTimes: number[] = [];
    let scalars = N;
    for (let i = 0; i < RUNS; i++) {
      const a = await list(seed, mkdtempSync(path.join(root, 'cache-')));
      if (a.records !== N) throw new Error(`metrics.jsonl: ${a.records} records, expected ${N}`);
      jsonTimes.push(a.ms);
      const cache = mkdtempSync(path.join(root, 'cache-'));
      const b = await list(tb, cache);
      if (b.records !== scalars) throw new Error(`event file: ${b.records} records, expected ${scalars}`);
      tbTimes.push(b.ms);
      for (let k = 0; k < 100; k++)
        appendFileSync(
          events,
          record(eventBytes(N + i * 100 + k, 1_800_000_000, [{ tag: 'train/loss', simple: k }])),
        );
      scalars += 100;
      const c = await list(tb, cache);
      if (c.records !== scalars) throw new Error(`refresh: ${c.records} records, expected ${scalars}`);
      refreshTimes.push(c.ms);
    }
    const ours = median(tbTimes);
    const base = median(jsonTimes);
    const mb = statSync(events).size / 1e6;
    return [
      {
        name: `remote TensorBoard run of ${N.toLocaleString()} scalars (${mb.toFixed(0)} MB) listed cold through the helper (bytes shipped, decoded here)`,
        figure: `${ours.toFixed(0)} ms`,
        baseline: `remote metrics.jsonl of ${N.toLocaleString()} records: ${base.toFixed(0)} ms`,
        ratio: ours / base,
        target: null,
      },
      {
        name: 'the same run listed again after 100 appended scalars (only the new bytes)',
        figure: `${median(refreshTimes).toFixed(0)} ms`,
        baseline: `cold listing: ${ours.toFixed(0)} ms`,
        ratio: median(refreshTimes) / ours,
        target: null,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
