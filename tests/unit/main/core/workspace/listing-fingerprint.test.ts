/**
 * listingFingerprint: a digest of every input a listing of a folder of
 * experiments is made from, and null wherever a listing would read more (or
 * a file changed too recently to be trusted). Real folders and real stats
 * (the fs-batch grid a listing uses).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { discoveryStatNames, searchedSubdirs } from '../../../../../src/main/core/workspace/discover';
import { statGrid } from '../../../../../src/main/core/workspace/fs-batch';
import { LISTING_INPUTS } from '../../../../../src/main/core/summary/listing-inputs';
import { listingFingerprint, RACY_MS } from '../../../../../src/main/core/workspace/listing-fingerprint';

const LONG_AGO = new Date('2026-01-01T00:00:00Z');
const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A folder of experiments with config.yaml and logs/metrics.jsonl each, dated long ago. */
function folder(names: string[]): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-fp-'));
  roots.push(root);
  for (const n of names) {
    mkdirSync(path.join(root, n, 'logs'), { recursive: true });
    writeFileSync(path.join(root, n, 'config.yaml'), 'algorithm:\n  name: dpo\n');
    writeFileSync(path.join(root, n, 'logs', 'metrics.jsonl'), '{"step": 1, "loss": 1}\n');
    for (const f of ['config.yaml', 'logs/metrics.jsonl'])
      utimesSync(path.join(root, n, f), LONG_AGO, LONG_AGO);
  }
  return root;
}

/** The fingerprint of a listing of root, made now from real stats. */
async function fingerprint(root: string, now = Date.now()): Promise<string | null> {
  const entries = readdirSync(root, { withFileTypes: true });
  const rows = searchedSubdirs(root, entries);
  const names = discoveryStatNames(LISTING_INPUTS);
  const grid = await statGrid(rows, names);
  return listingFingerprint({ root, rootEntries: entries, folder: root, rows, names, grid }, now);
}

describe('listingFingerprint', () => {
  it('is the same for the same files, and changes with any input a listing reads', async () => {
    const root = folder(['exp1', 'exp2']);
    const first = await fingerprint(root);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(await fingerprint(root)).toBe(first);
    // Each change a file, dated long ago but at a time of its own: an edit in place keeps the size.
    const changes: Array<[string, string, string]> = [
      ['an edit in place', 'exp1/config.yaml', 'algorithm:\n  name: ppo\n'],
      ['FAILED.txt', 'exp2/FAILED.txt', 'Failed at step 1\n'],
      ['notes', 'exp2/expdesk_notes.json', '{}'],
      ['a system log', 'exp1/logs/system.jsonl', ''],
      ['a rank log', 'exp1/logs/train_rank0.log', ''],
      ['a file beside the experiments', 'README.md', ''],
    ];
    const seen = new Set([first]);
    for (const [i, [what, file, text]] of changes.entries()) {
      writeFileSync(path.join(root, file), text);
      const at = new Date(LONG_AGO.getTime() + (i + 1) * 3600_000);
      utimesSync(path.join(root, file), at, at);
      const now = await fingerprint(root);
      expect(now, what).not.toBeNull();
      expect(seen.has(now), what).toBe(false);
      seen.add(now);
    }
    // The same size, mtime and inode: a change the stats cannot see (nor can the summary cache).
    writeFileSync(path.join(root, 'exp1/config.yaml'), 'algorithm:\n  name: dpx\n');
    utimesSync(
      path.join(root, 'exp1/config.yaml'),
      new Date(LONG_AGO.getTime() + 3600_000),
      new Date(LONG_AGO.getTime() + 3600_000),
    );
    expect(seen.has(await fingerprint(root))).toBe(true);
  });

  it('is null where a listing reads more than the grid, or a file changed within RACY_MS', async () => {
    const root = folder(['exp1', 'exp2']);
    const when = Date.now();
    expect(await fingerprint(root, when)).not.toBeNull();
    // A file changed just now: a change later in the same tick could keep its size and mtime.
    utimesSync(
      path.join(root, 'exp1', 'config.yaml'),
      new Date(when - RACY_MS / 2),
      new Date(when - RACY_MS / 2),
    );
    expect(await fingerprint(root, when)).toBeNull();
    expect(await fingerprint(root, when + RACY_MS)).not.toBeNull();

    // A subfolder without config.yaml (discovery looks further), or without metrics.jsonl (TensorBoard, MLflow).
    mkdirSync(path.join(root, 'group'));
    expect(await fingerprint(root)).toBeNull();
    rmSync(path.join(root, 'group'), { recursive: true });
    rmSync(path.join(root, 'exp2', 'logs', 'metrics.jsonl'));
    expect(await fingerprint(root)).toBeNull();

    // A folder that may itself be an experiment, or a TensorBoard run.
    for (const name of ['config.yaml', 'metadata.json', 'logs', 'meta.yaml', 'events.out.tfevents.1.host']) {
      const other = folder(['exp1']);
      writeFileSync(path.join(other, name), '');
      expect(await fingerprint(other), name).toBeNull();
    }
  });
});
