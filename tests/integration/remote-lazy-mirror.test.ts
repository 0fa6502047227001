/**
 * A CLI listing of a remote workspace (src/cli/remote.ts) keeps its metrics
 * mirrors lazy (RemoteMetricsMirror `lazy`): the listing writes no mirror
 * file, its summaries equal a local listing's, a later listing without the
 * mirrors (a new process) still gives the right figures of a grown run, and
 * a chart request afterwards (sync) gets the full series. The remote helper
 * is the real one, run by python3 in a local shell (tests/helpers/local-helper.ts).
 */
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RemoteMetricsMirror } from '../../src/main/core/remote/remote-metrics';
import { RemoteWorkspace } from '../../src/main/core/remote/remote-workspace';
import { SummaryStore } from '../../src/main/core/summary/summary-store';
import { listWorkspace } from '../../src/main/core/workspace/workspace';
import { parseRemoteLocation } from '../../src/shared/remote-location';
import { AnswerReader, type HelperHost } from '../../src/main/core/remote/remote-python';
import { localHelper } from '../helpers/local-helper';
import { tmpDir } from '../helpers/tmp';

const helper = localHelper('lazy');
const endpoint = parseRemoteLocation('ssh://lazy/')!;

const records = (from: number, to: number): string =>
  Array.from({ length: to - from }, (_, i) =>
    JSON.stringify({ step: from + i, 'train/loss': 1 / (from + i + 1) }),
  ).join('\n') + '\n';

function experiment(root: string, name: string, lines: number): string {
  const dir = path.join(root, 'experiments', name);
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  writeFileSync(path.join(dir, 'config.yaml'), 'training:\n  lr: 0.001\n');
  writeFileSync(path.join(dir, 'logs', 'metrics.jsonl'), records(0, lines));
  return dir;
}

/** logs/system.jsonl records (the run wrapper's samples): GPU memory in use from `from` MiB up. */
const samples = (from: number, n: number): string =>
  Array.from({ length: n }, (_, i) =>
    JSON.stringify({ step: i, prefix: 'system', 'system/gpu0/mem_used_mb': from + i }),
  ).join('\n') + '\n';

/** The metrics and GPU figures of a listing, by folder. */
async function figures(
  listing: Promise<{
    experiments: Array<{ folder: string; records: unknown; metrics: unknown; gpu?: unknown }>;
  }>,
) {
  const l = await listing;
  return Object.fromEntries(
    l.experiments.map((e) => [e.folder, { records: e.records, metrics: e.metrics, gpu: e.gpu }]),
  );
}

function lazyWorkspace(
  cache: string,
  store = new SummaryStore({ cacheDir: cache }),
  host: HelperHost = helper,
): RemoteWorkspace {
  return new RemoteWorkspace(host, endpoint, store, new RemoteMetricsMirror(cache, { lazy: true }));
}

type Stream = 'metrics' | 'system';

/** The helper, keeping where each answer's metrics bytes of an experiment started and how many there were. */
function watchedHelper(): { host: HelperHost; sent: Map<string, Array<{ start: number; bytes: number }>> } {
  const sent = new Map<string, Array<{ start: number; bytes: number }>>();
  const host: HelperHost = {
    label: helper.label,
    exec: async (command, opts = {}) => {
      const out: Buffer[] = [];
      const r = await helper.exec(command, {
        ...opts,
        onStdout: (chunk) => {
          out.push(chunk);
          opts.onStdout?.(chunk);
        },
      });
      // A gather's experiments come as the answer's items.
      const items: Array<{ path: string } & Partial<Record<Stream, { start: number; data: Buffer }>>> = [];
      const reader = new AnswerReader((item) => items.push(item as (typeof items)[number]));
      reader.push(Buffer.concat([...out, r.stdout]));
      await reader.end();
      for (const g of items)
        for (const stream of ['metrics', 'system'] as const) {
          const m = g[stream];
          if (!m || !('data' in m)) continue;
          const name = `${path.basename(g.path)} ${stream}`;
          sent.set(name, [...(sent.get(name) ?? []), { start: m.start, bytes: m.data.length }]);
        }
      return r;
    },
  };
  return { host, sent };
}

const mirrorsIn = (cache: string): boolean => existsSync(path.join(cache, 'remote-metrics-v1'));

describe('a CLI listing keeps its metrics mirrors in memory', () => {
  it('writes no mirror, and the figures and a later chart request stay right', async () => {
    const remote = tmpDir('expdesk-lazy-remote-');
    const a = experiment(remote, 'exp001_a', 40);
    writeFileSync(path.join(a, 'logs', 'system.jsonl'), samples(1000, 5));
    experiment(remote, 'exp002_b', 7);
    const cache = tmpDir('expdesk-lazy-cache-');

    const store = new SummaryStore({ cacheDir: cache });
    const ws = lazyWorkspace(cache, store);
    const first = await figures(ws.list(remote));
    await store.flush(); // as the CLI does at exit
    expect(first).toEqual(await figures(listWorkspace(remote, new SummaryStore({ cacheDir: false }))));
    expect(first['exp001_a']!.records).toBe(40);
    expect(mirrorsIn(cache)).toBe(false);

    // A new process (its own copy of the cache: no mirror, the summaries' offsets) lists a grown run.
    appendFileSync(path.join(a, 'logs', 'metrics.jsonl'), records(40, 55));
    appendFileSync(path.join(a, 'logs', 'system.jsonl'), samples(2000, 3));
    const later = tmpDir('expdesk-lazy-cache2-');
    cpSync(cache, later, { recursive: true });
    const watched = watchedHelper();
    const laterStore = new SummaryStore({ cacheDir: later });
    const grown = await figures(lazyWorkspace(later, laterStore, watched.host).list(remote));
    await laterStore.flush();
    expect(grown).toEqual(await figures(listWorkspace(remote, new SummaryStore({ cacheDir: false }))));
    expect(grown['exp001_a']!.records).toBe(55);
    expect(mirrorsIn(later)).toBe(false);
    // Only the appended records travelled, from where the first listing's reader stopped; nothing of the unchanged run.
    expect(watched.sent.get('exp001_a metrics')).toEqual([
      { start: Buffer.byteLength(records(0, 40)), bytes: Buffer.byteLength(records(40, 55)) },
    ]);
    expect(watched.sent.get('exp001_a system')).toEqual([
      { start: Buffer.byteLength(samples(1000, 5)), bytes: Buffer.byteLength(samples(2000, 3)) },
    ]);
    expect(grown['exp001_a']!.gpu).toMatchObject({ peakMemoryMiB: 2002 });
    expect(watched.sent.get('exp002_b metrics')).toBeUndefined();

    // The file rewritten behind the reader's back (same length and more, other bytes): read again from byte 0.
    writeFileSync(path.join(a, 'logs', 'metrics.jsonl'), records(100, 160));
    const rewritten = await figures(lazyWorkspace(later).list(remote));
    expect(rewritten).toEqual(await figures(listWorkspace(remote, new SummaryStore({ cacheDir: false }))));
    expect(rewritten['exp001_a']!.records).toBe(60);

    // A chart request afterwards: the full series, in a mirror file equal to the remote file.
    const location = ws.locate(a);
    for (const mirror of [new RemoteMetricsMirror(later), new RemoteMetricsMirror(cache, { lazy: true })]) {
      const [r] = await mirror.sync(helper, [{ location, remotePath: a }]);
      expect(r).not.toBeInstanceOf(Error);
      expect(readFileSync(mirror.fileOf(location), 'utf8')).toBe(
        readFileSync(path.join(a, 'logs', 'metrics.jsonl'), 'utf8'),
      );
    }
  });
});
