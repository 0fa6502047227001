import {
  appendFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExperimentSummary } from '../../../../../src/shared/model';
import { CACHE_VERSION, SummaryStore } from '../../../../../src/main/core/summary/summary-store';
import { LISTED_FORMAT } from '../../../../../src/main/core/summary/listing-cache';
import { listWorkspace } from '../../../../../src/main/core/workspace/workspace';
import { metricsLines, writeExperiment } from '../../../../helpers/experiments';
import { tmpDir } from '../../../../helpers/tmp';

const train = (step: number, loss: number): Record<string, unknown> => ({
  step,
  prefix: 'train',
  timestamp: '2026-01-01T00:00:00',
  'train/loss': loss,
});

/** A workspace of three experiments whose statuses do not depend on the clock. */
function workspace(): string {
  const root = tmpDir();
  writeExperiment(path.join(root, 'a'), {
    metrics: metricsLines([train(1, 2), { step: 1, prefix: 'eval', 'eval/loss': 1.5 }, train(2, 1)]),
    metadata: { git_hash: 'abc', git_dirty: true, started_at: '2026-01-01T00:00:00' },
    final: true,
  });
  writeExperiment(path.join(root, 'b'), {
    metrics: metricsLines([train(1, 3)]) + '{not json\n',
    failed: 'Failed at step 1\nTraceback (most recent call last):\n  boom\n',
  });
  writeExperiment(path.join(root, 'c'), {
    config: 'experiment:\n  name: c\nalgorithm:\n  name: ppo\nalgorithm:\n  name: dpo\n',
    final: true,
  });
  return root;
}

async function listed(root: string, store: SummaryStore, tableOnly = false): Promise<ExperimentSummary[]> {
  return (await listWorkspace(root, store, { tableOnly })).experiments;
}

/** What the text table shows of each experiment. */
function tableOf(s: ExperimentSummary): unknown {
  const { name, algorithm, total_steps, final_loss, final_eval, problems, status, folder } = s;
  return { folder, name, algorithm, total_steps, final_loss, final_eval, problems, state: status.state };
}

/** The listing cache's table file for the folder of experiments (one), and its rest file. */
function listingFiles(cache: string): { table: string; rest: string } {
  const dir = path.join(cache, `listings-v${CACHE_VERSION}.${LISTED_FORMAT}`);
  const name = readdirSync(dir).find((f) => f.endsWith('.json'))!;
  return { table: path.join(dir, name), rest: path.join(dir, 'rest', name) };
}

/** A store whose listing filled the disk cache, flushed. */
async function warmed(root: string, cache: string): Promise<ExperimentSummary[]> {
  const store = new SummaryStore({ cacheDir: cache });
  const first = await listed(root, store);
  await store.flush();
  return first;
}

describe('the listing cache', () => {
  it('gives a restarted listing, text or full, what a fresh read gives, every field alike', async () => {
    const root = workspace();
    const cache = tmpDir();
    const fresh = await listed(root, new SummaryStore({ cacheDir: false }));
    expect(await warmed(root, cache)).toEqual(fresh);
    expect(fresh.map((s) => s.status.state)).toEqual(['completed', 'failed', 'completed']);
    // A new process: the full listing (the app, list --json) from the listing files…
    expect(await listed(root, new SummaryStore({ cacheDir: cache }))).toEqual(fresh);
    // …and the text table's fields from the table file alone.
    const table = await listed(root, new SummaryStore({ cacheDir: cache }), true);
    expect(table.map(tableOf)).toEqual(fresh.map(tableOf));
    expect(table[1]!.problems[0]).toMatchObject({ file: 'logs/metrics.jsonl', line: 2 });
  });

  it('is trusted while the files keep their signatures, and a changed file is read again', async () => {
    const root = workspace();
    const cache = tmpDir();
    const config = path.join(root, 'a', 'config.yaml');
    const then = 1_700_000_000; // whole seconds: set again exactly
    utimesSync(config, then, then);
    await warmed(root, cache);
    // Same size, same mtime, same inode: the cache stands (what proves it is read instead of the files).
    writeFileSync(config, readFileSync(config, 'utf8').replace('dpo', 'sft'));
    utimesSync(config, then, then);
    for (const tableOnly of [true, false])
      expect((await listed(root, new SummaryStore({ cacheDir: cache }), tableOnly))[0]!.algorithm).toBe(
        'dpo',
      );
    // A grown metrics.jsonl, a new FAILED.txt: read again, in the text table and the full listing.
    appendFileSync(path.join(root, 'a', 'logs', 'metrics.jsonl'), metricsLines([train(3, 0.5)]));
    writeFileSync(path.join(root, 'c', 'FAILED.txt'), 'Failed at step 7\n');
    for (const tableOnly of [true, false]) {
      const s = await listed(root, new SummaryStore({ cacheDir: cache }), tableOnly);
      expect(s[0]).toMatchObject({ total_steps: 3, final_loss: 0.5 });
      expect(s[2]!.status).toMatchObject({ state: 'failed', failedAtStep: 7 });
    }
  });

  it('ignores a damaged listing file (cut short by a crash, edited, foreign) and writes a sound one', async () => {
    const root = workspace();
    const cache = tmpDir();
    const fresh = await warmed(root, cache);
    const { table, rest } = listingFiles(cache);
    const sound = readFileSync(table, 'utf8');
    // The table file holds a column per field (listing-cache.ts).
    const doc = JSON.parse(sound) as {
      columns: { keys: string[]; sigs: unknown[]; core: Record<string, unknown[]> };
    };
    const edited = structuredClone(doc);
    // Signatures that match, beside fields of the wrong type: trusted, they would show a wrong listing.
    const forged = { name: 42, problems: 7, algorithm: 'forged' };
    for (const [f, v] of Object.entries(forged)) edited.columns.core[f] = edited.columns.keys.map(() => v);
    const damages = [
      sound.slice(0, Math.floor(sound.length / 2)), // a write cut short
      JSON.stringify(edited), // records of the wrong shape
      // A column out of step with the keys (signatures shifted by one file): never paired with another folder.
      JSON.stringify({ ...doc, columns: { ...doc.columns, sigs: doc.columns.sigs.slice(3) } }),
      '{"version": 1, "entries": []}', // another version's
      '\u0000\u0001 not json',
    ];
    for (const damage of damages) {
      writeFileSync(table, damage);
      writeFileSync(rest, damage);
      const store = new SummaryStore({ cacheDir: cache });
      expect((await listed(root, store, true)).map(tableOf)).toEqual(fresh.map(tableOf));
      expect(await listed(root, store)).toEqual(fresh);
      await store.flush();
      // Rewritten whole from the full entries, and trusted again.
      expect((JSON.parse(readFileSync(table, 'utf8')) as typeof doc).columns.keys).toHaveLength(3);
    }
  });

  it('takes over from a version without a listing file (the full entries alone) and never trusts a half', async () => {
    const root = workspace();
    const cache = tmpDir();
    const fresh = await warmed(root, cache);
    rmSync(path.join(cache, `listings-v${CACHE_VERSION}.${LISTED_FORMAT}`), { recursive: true });
    const store = new SummaryStore({ cacheDir: cache });
    expect(await listed(root, store, true)).toHaveLength(3);
    await store.flush();
    // A text listing writes the table's records only; the first full listing writes the rest.
    expect(existsSync(listingFiles(cache).rest)).toBe(false);
    const full = new SummaryStore({ cacheDir: cache });
    expect(await listed(root, full)).toEqual(fresh);
    await full.flush();
    expect(await listed(root, new SummaryStore({ cacheDir: cache }))).toEqual(fresh);
    // A table file without its rest (a crash between the two writes): the full listing reads again.
    rmSync(listingFiles(cache).rest);
    appendFileSync(path.join(root, 'b', 'logs', 'metrics.jsonl'), metricsLines([train(2, 0.25)]));
    const s = await listed(root, new SummaryStore({ cacheDir: cache }));
    expect(s[1]).toMatchObject({ total_steps: 2, final_loss: 0.25 });
    expect(s[1]!.metrics['train/loss']).toMatchObject({ count: 2, min: 0.25 });
  });

  it('sees a config.yaml edited in place within the same second, to the same size', async () => {
    const root = workspace();
    const cache = tmpDir();
    await warmed(root, cache);
    const config = path.join(root, 'a', 'config.yaml');
    const before = readFileSync(config, 'utf8');
    const edited = before.replace(/name: dpo/, 'name: ppo');
    expect(edited).not.toBe(before);
    expect(edited.length).toBe(before.length);
    // An editor's save: same inode, same size, the mtime's whole second kept (a coarse file system).
    const { mtimeMs } = statSync(config);
    writeFileSync(config, edited);
    const second = Math.floor(mtimeMs / 1000);
    utimesSync(config, second + 0.5, second + 0.5);
    for (const tableOnly of [true, false]) {
      const a = (await listed(root, new SummaryStore({ cacheDir: cache }), tableOnly))[0]!;
      expect(a.algorithm).toBe('ppo');
    }
  });
});
