/**
 * The launch's git capture (captureGit: six git processes, four in a row)
 * records what the seed's own commands say — `rev-parse HEAD`, `rev-parse
 * --abbrev-ref HEAD`, `status --porcelain` non-empty, `config --get
 * remote.origin.url` with credentials stripped — and writes the patch byte
 * for byte as plain git makes it (a throwaway index holding HEAD and the
 * untracked files, `git diff --binary --full-index HEAD`), on real
 * repositories in the states a project can be in.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  captureGit,
  DEFAULT_PATCH_LIMIT_BYTES,
  PATCH_DIFF_ARGS,
  type GitInfo,
} from '../../../../../src/main/core/capture/git';
import { git, initRepo } from '../../../../helpers/git';
import { tmpDir } from '../../../../helpers/tmp';

/** What the seed's get_git_info records, asked with plain git (null where git fails). */
function seedSays(dir: string): Omit<GitInfo, 'root'> {
  const ask = (...args: string[]): string | null => {
    try {
      return git(dir, ...args).trim();
    } catch {
      return null;
    }
  };
  const status = ask('status', '--porcelain', '--', ':/', ':(exclude,top)experiments');
  const remote = ask('config', '--get', 'remote.origin.url');
  return {
    git_hash: ask('rev-parse', 'HEAD') ?? 'unknown',
    git_branch: ask('rev-parse', '--abbrev-ref', 'HEAD') ?? 'unknown',
    git_dirty: status === null ? true : status.length > 0,
    git_remote: remote === null ? null : remote.replace(/^(\w+:\/\/)[^@/]+@/, '$1'),
  };
}

/** The patch as plain git makes it, one step after another (the capture's diff, without safeGit or overlap). */
function plainPatch(root: string): Buffer {
  const index = path.join(tmpDir('expdesk-plain-index-'), 'index');
  const env = { ...process.env, GIT_INDEX_FILE: index };
  const run = (...args: string[]): Buffer => execFileSync('git', args, { cwd: root, env });
  run('read-tree', 'HEAD');
  try {
    run('add', '--all', '--intent-to-add', '--', '.', ':(exclude,top)experiments');
  } catch {
    // exit 1 when experiments/ is also gitignored, after adding the rest
  }
  return run(...PATCH_DIFF_ARGS);
}

async function capture(cwd: string, root: string) {
  const file = path.join(tmpDir('expdesk-capture-out-'), 'uncommitted.patch');
  const r = await captureGit(cwd, [path.join(root, 'experiments')], {
    file,
    limitBytes: DEFAULT_PATCH_LIMIT_BYTES,
  });
  return { ...r, file };
}

function project(): string {
  const proj = tmpDir('expdesk-capture-');
  writeFileSync(path.join(proj, 'train.py'), 'print("v1")\n');
  writeFileSync(path.join(proj, 'data.bin'), Buffer.from([0, 1, 2, 255, 0, 7]));
  mkdirSync(path.join(proj, 'src'));
  writeFileSync(path.join(proj, 'src', 'model.py'), 'X = 1\n');
  initRepo(proj);
  return proj;
}

/** Every kind of change a patch holds, and an experiment that must never be in it. */
function makeDirty(proj: string): void {
  writeFileSync(path.join(proj, 'train.py'), 'print("v2")\n');
  writeFileSync(path.join(proj, 'data.bin'), Buffer.from([9, 0, 8, 255]));
  rmSync(path.join(proj, 'src', 'model.py'));
  writeFileSync(path.join(proj, 'src', 'new module.py'), 'Y = 2\n');
  writeFileSync(path.join(proj, 'staged.py'), 'Z = 3\n');
  git(proj, 'add', 'staged.py');
  mkdirSync(path.join(proj, 'experiments', 'exp001'), { recursive: true });
  writeFileSync(path.join(proj, 'experiments', 'exp001', 'metadata.json'), '{}\n');
}

describe('the git capture of a launch', { timeout: 120_000 }, () => {
  it('records a dirty tree as the seed would, with the patch plain git makes, from a subfolder too', async () => {
    const proj = project();
    git(proj, 'remote', 'add', 'origin', 'https://user:secret-token@example.invalid/team/proj.git');
    makeDirty(proj);
    for (const cwd of [proj, path.join(proj, 'src')]) {
      const r = await capture(cwd, proj);
      expect(r.info).toEqual({ ...seedSays(proj), root: proj });
      expect(r.info.git_remote).toBe('https://example.invalid/team/proj.git');
      expect(r.info.git_dirty).toBe(true);
      expect(r.patch).toMatchObject({ complete: true, files: 5 });
      expect(r.patch?.error).toBeUndefined();
      const bytes = readFileSync(r.file);
      expect(bytes.equals(plainPatch(proj))).toBe(true);
      expect(bytes.toString('latin1')).not.toContain('experiments/exp001');
    }
  });

  it('records a clean tree as clean, with an empty patch; a detached HEAD as the branch HEAD', async () => {
    const proj = project();
    const clean = await capture(proj, proj);
    expect(clean.info).toEqual({ ...seedSays(proj), root: proj });
    expect(clean.info).toMatchObject({ git_dirty: false, git_branch: 'main', git_remote: null });
    expect(clean.patch).toMatchObject({ complete: true, files: 0, bytes: 0 });
    expect(readFileSync(clean.file).length).toBe(0);

    git(proj, 'checkout', '-q', '--detach');
    const detached = await capture(proj, proj);
    expect(detached.info).toEqual({ ...seedSays(proj), root: proj });
    expect(detached.info.git_branch).toBe('HEAD');
  });

  it('records a repository without a commit as unknown, with no patch; a folder outside git likewise', async () => {
    const fresh = tmpDir('expdesk-capture-fresh-');
    git(fresh, 'init', '-q');
    writeFileSync(path.join(fresh, 'train.py'), 'print(1)\n');
    const r = await capture(fresh, fresh);
    expect(r.info).toEqual({ ...seedSays(fresh), root: fresh });
    expect(r.info).toMatchObject({ git_hash: 'unknown', git_branch: 'unknown', git_dirty: true });
    expect(r.patch).toBeNull();
    expect(existsSync(r.file)).toBe(false);

    const outside = tmpDir('expdesk-capture-nogit-');
    const none = await capture(outside, outside);
    expect(none.info).toEqual({
      git_hash: 'unknown',
      git_branch: 'unknown',
      git_dirty: true,
      git_remote: null,
      root: null,
    });
    expect(none.patch).toBeNull();
  });
});
