/**
 * The local mirrors of remote metrics (core/remote/remote-metrics.ts) do not
 * pile up in the user's cache: a mirror whose experiment is gone on the
 * remote is removed by the sync that learns it, and prune() removes the ones
 * nobody used for a long time while keeping those in use. The remote helper
 * is the real one, run by python3 in a local shell (tests/helpers/local-helper.ts).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIRROR_MAX_AGE_MS, RemoteMetricsMirror } from '../../src/main/core/remote/remote-metrics';
import { localHelper } from '../helpers/local-helper';
import { tmpDir } from '../helpers/tmp';

const helper = localHelper('prune');
const DAY = 24 * 3600 * 1000;

/** An experiment folder on the "remote": a config and `lines` metric records. */
function experiment(root: string, name: string, lines: number): string {
  const dir = path.join(root, 'experiments', name);
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  writeFileSync(path.join(dir, 'config.yaml'), 'training:\n  lr: 0.001\n');
  const records = Array.from({ length: lines }, (_, i) =>
    JSON.stringify({ step: i, 'train/loss': 1 / (i + 1) }),
  );
  writeFileSync(path.join(dir, 'logs', 'metrics.jsonl'), `${records.join('\n')}\n`);
  return dir;
}

const target = (dir: string): { location: string; remotePath: string } => ({
  location: `ssh://prune${dir}`,
  remotePath: dir,
});

/** Set a folder's and its files' times as if last used at `when`. */
function lastUsedAt(dir: string, when: number): void {
  for (const f of [path.join(dir, 'logs', 'metrics.jsonl'), path.join(dir, 'mirror.json'), dir])
    if (existsSync(f)) utimesSync(f, when / 1000, when / 1000);
}

describe('remote metrics mirrors are pruned', () => {
  it('a mirror whose experiment was removed on the remote is removed by the next sync', async () => {
    const remote = tmpDir('expdesk-prune-remote-');
    const kept = experiment(remote, 'exp001_kept', 20);
    const removed = experiment(remote, 'exp002_removed', 30);
    const mirror = new RemoteMetricsMirror(tmpDir('expdesk-prune-cache-'));
    const first = await mirror.sync(helper, [target(kept), target(removed)]);
    expect(first.every((r) => !(r instanceof Error))).toBe(true);
    const removedMirror = mirror.dirOf(target(removed).location);
    expect(readFileSync(mirror.fileOf(target(removed).location))).toEqual(
      readFileSync(path.join(removed, 'logs', 'metrics.jsonl')),
    );

    rmSync(removed, { recursive: true });
    const [stillThere, gone] = await mirror.sync(helper, [target(kept), target(removed)]);
    expect(gone).toBeInstanceOf(Error);
    expect((gone as Error).message).toContain('no such file or folder');
    expect(existsSync(removedMirror)).toBe(false);
    // The other experiment's mirror is untouched and still equal to its file.
    expect(stillThere).not.toBeInstanceOf(Error);
    expect(readFileSync(mirror.fileOf(target(kept).location))).toEqual(
      readFileSync(path.join(kept, 'logs', 'metrics.jsonl')),
    );
  });

  it('mirrors unused for longer than the limit go, used ones stay, and a pruned one is fetched again when asked', async () => {
    const remote = tmpDir('expdesk-prune-remote-');
    const cache = tmpDir('expdesk-prune-cache-');
    const [old, recent, idle] = ['exp001_old', 'exp002_recent', 'exp003_idle'].map((n, i) =>
      experiment(remote, n, 10 * (i + 1)),
    );
    const mirror = new RemoteMetricsMirror(cache);
    const t0 = Date.now();
    await mirror.sync(helper, [old!, recent!, idle!].map(target));
    const dirOf = (d: string): string => mirror.dirOf(target(d).location);
    // On disk, `old` was last used two months ago; a leftover folder without a mirror record too.
    lastUsedAt(dirOf(old!), t0 - 60 * DAY);
    const leftover = path.join(path.dirname(dirOf(old!)), 'leftover');
    mkdirSync(leftover);
    writeFileSync(path.join(leftover, 'metrics.jsonl.123.tmp'), 'partial');
    lastUsedAt(leftover, t0 - 60 * DAY);

    // Now: every mirror was used by this process a moment ago, so only the leftover goes.
    expect(await mirror.prune()).toBe(1);
    expect(existsSync(leftover)).toBe(false);
    for (const d of [old!, recent!, idle!]) expect(existsSync(dirOf(d))).toBe(true);

    // Forty days on: `recent` was used (by another window) yesterday; the others not since now.
    const later = t0 + 40 * DAY;
    lastUsedAt(dirOf(recent!), later - DAY);
    expect(await mirror.prune(MIRROR_MAX_AGE_MS, later)).toBe(2);
    expect(existsSync(dirOf(old!))).toBe(false);
    expect(existsSync(dirOf(idle!))).toBe(false);
    expect(existsSync(dirOf(recent!))).toBe(true);

    // Asked for again, a pruned mirror is copied whole from the remote.
    const [again] = await mirror.sync(helper, [target(old!)]);
    expect(again).not.toBeInstanceOf(Error);
    expect(readFileSync(mirror.fileOf(target(old!).location))).toEqual(
      readFileSync(path.join(old!, 'logs', 'metrics.jsonl')),
    );
  });
});
