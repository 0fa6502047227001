/**
 * A repository's own git configuration runs nothing (finding F of issue 15).
 * The project carries a planted .git/config — core.fsmonitor, a hooksPath
 * with hooks, a filter driver with clean/smudge/process commands named by
 * .gitattributes (and by .git/info/attributes), a textconv diff driver,
 * diff.external and a pager — each touching a marker file. Through the
 * host's project.git, a real capture (prepareRun) and `expdesk export`, no
 * marker appears and the results are still right; the same plain git
 * commands do fire the markers, so the plant is live.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { untrustedDriverOverrides } from '../../src/main/core/capture/safe-git';
import { ExpdeskHost } from '../../src/main/host/host';
import { unpackBundle } from '../helpers/bundle';
import { launchDirect, makeDirty, miniProject } from '../helpers/bundle-project';
import { EXPDESK_BIN, REPO } from '../helpers/cli';
import { git } from '../helpers/git';
import { tmpDir } from '../helpers/tmp';

function plant(repo: string, markers: string): void {
  const touch = (name: string): string => `touch '${path.join(markers, name)}'`;
  writeFileSync(path.join(repo, '.gitattributes'), '*.txt filter=evil diff=evil\n*.py filter=evil2\n');
  git(repo, 'add', '.gitattributes');
  git(repo, 'commit', '-qm', 'attributes');
  writeFileSync(path.join(repo, '.git', 'info', 'attributes'), '*.yaml filter=evil3\n');
  const hooks = path.join(repo, '.git', 'evil-hooks');
  mkdirSync(hooks);
  for (const h of ['post-index-change', 'pre-commit', 'post-checkout', 'reference-transaction']) {
    for (const dir of [hooks, path.join(repo, '.git', 'hooks')]) {
      writeFileSync(path.join(dir, h), `#!/bin/sh\n${touch(`hook-${h}`)}\n`);
      chmodSync(path.join(dir, h), 0o755);
    }
  }
  const set = (k: string, v: string): string => git(repo, 'config', k, v);
  set('core.fsmonitor', `${touch('fsmonitor')}; echo`);
  set('core.hooksPath', hooks);
  set('core.pager', `${touch('pager')}; cat`);
  set('diff.external', `sh -c '${touch('diff-external')}'`);
  set('diff.evil.textconv', `sh -c '${touch('textconv')}; cat "$0"'`);
  set('filter.evil.clean', `sh -c '${touch('clean')}; cat'`);
  set('filter.evil.smudge', `sh -c '${touch('smudge')}; cat'`);
  set('filter.evil.required', 'true');
  set('filter.evil2.process', `sh -c '${touch('process')}; exit 1'`);
  set('filter.evil3.smudge', `sh -c '${touch('smudge3')}; cat'`);
}

function markersIn(dir: string): string[] {
  return readdirSync(dir).sort();
}

describe('git configuration planted in a project', { timeout: 180_000 }, () => {
  it('runs no command through project.git, a capture or an export, and the results stay right', async () => {
    const markers = tmpDir('expdesk-markers-');
    const { dir: proj, hash: firstCommit } = miniProject();
    plant(proj, markers);
    makeDirty(proj);
    // Make the index stale, so that status has to look at file contents (where filters run).
    writeFileSync(
      path.join(proj, 'configs', 'base.yaml'),
      readFileSync(path.join(proj, 'configs', 'base.yaml')),
    );

    // The launch form's dirty-tree warning.
    const host = new ExpdeskHost({
      mode: 'browser',
      version: 't',
      workspace: proj,
      demoWorkspace: null,
      cacheDir: tmpDir(),
    });
    const tree = (await host.dispatch('project.git', {})) as { git: { changes: string[] } };
    expect(tree.git.changes.sort()).toEqual([' M data/scale.txt', '?? code/helper.py']);
    expect(markersIn(markers)).toEqual([]);

    // A capture and a run: the patch holds the changes as they are on disk.
    const exp = await launchDirect(proj, { seed: 5 });
    expect(markersIn(markers)).toEqual([]);
    const meta = JSON.parse(readFileSync(path.join(exp, 'metadata.json'), 'utf8')) as Record<string, unknown>;
    expect(meta).toMatchObject({ git_dirty: true, git_hash: git(proj, 'rev-parse', 'HEAD').trim() });
    expect(meta.git_hash).not.toBe(firstCommit);
    const patch = readFileSync(path.join(exp, 'uncommitted.patch'), 'utf8');
    expect(patch).toContain('+2.5');
    expect(patch).toContain('+bonus = 0.125');

    // expdesk export: git archive of the commit, with the smudge filters named by .gitattributes.
    const out = path.join(tmpDir(), 'bundle.tar.gz');
    const r = spawnSync(process.execPath, [EXPDESK_BIN, 'export', exp, '-o', out], {
      cwd: proj,
      encoding: 'utf8',
      env: { ...process.env, EXPDESK_CACHE_DIR: tmpDir() },
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('source: included');
    expect(markersIn(markers)).toEqual([]);
    const unpacked = await unpackBundle(out, tmpDir());
    expect(readFileSync(path.join(unpacked, 'source', 'data', 'scale.txt'), 'utf8')).toBe('1.0\n');
    expect(readFileSync(path.join(unpacked, 'source', '.gitattributes'), 'utf8')).toContain('filter=evil');

    // The same operations with plain git do run the planted commands: the plant is live.
    const plain = (args: string[]): void => {
      // (without the process filter, whose early exit could end git on SIGPIPE before the others fire)
      spawnSync('git', ['-c', 'filter.evil2.process=', ...args], { cwd: proj, stdio: 'ignore' });
    };
    plain(['status', '--porcelain']);
    plain(['diff', 'HEAD']);
    plain(['archive', '--format=tar', '-o', path.join(tmpDir(), 'a.tar'), 'HEAD']);
    expect(markersIn(markers)).toEqual(
      expect.arrayContaining([
        'fsmonitor',
        'clean',
        'smudge',
        'smudge3',
        'diff-external',
        'hook-post-index-change',
      ]),
    );
  });

  it("the remote helper's git calls run nothing either (git_info, the patch, the commit's pack)", () => {
    const markers = tmpDir('expdesk-markers-');
    const { dir: proj } = miniProject();
    plant(proj, markers);
    makeDirty(proj);
    writeFileSync(
      path.join(proj, 'configs', 'base.yaml'),
      readFileSync(path.join(proj, 'configs', 'base.yaml')),
    );
    const out = path.join(tmpDir(), 'uncommitted.patch');
    const script = [
      'import json, sys',
      'sys.path.insert(0, sys.argv[1])',
      'import expdesk_remote as r',
      'info = r.git_info(sys.argv[2], [])',
      'patch = r.write_patch(sys.argv[2], sys.argv[3], 1 << 20, [])',
      'print(json.dumps({"info": info, "patch": patch}))',
    ].join('\n');
    const res = JSON.parse(
      execFileSync('python3', ['-c', script, path.join(REPO, 'resources', 'remote'), proj, out], {
        encoding: 'utf8',
      }),
    ) as { info: { git_dirty: boolean; root: string }; patch: { complete: boolean; files: number } };
    expect(res.info).toMatchObject({ git_dirty: true, root: proj });
    expect(res.patch).toMatchObject({ complete: true, files: 2 });
    expect(readFileSync(out, 'utf8')).toContain('+2.5');
    expect(markersIn(markers)).toEqual([]);
  });

  it("keeps the user's own filter drivers (global scope) and switches off the repository's", () => {
    const listing = [
      'global\tfilter.lfs.clean git-lfs clean -- %f',
      'global\tfilter.lfs.process git-lfs filter-process',
      'local\tfilter.evil.smudge touch x',
      'worktree\tfilter.a.b.clean touch y',
      'command\tfilter.c.process touch z',
    ].join('\n');
    const o = untrustedDriverOverrides(listing);
    expect(o).toContain('filter.evil.smudge=');
    expect(o).toContain('filter.a.b.clean=');
    expect(o).toContain('filter.c.process=');
    expect(o).toContain('filter.evil.required=false');
    expect(o.some((x) => x.startsWith('filter.lfs.'))).toBe(false);
    // A git without --show-scope: every driver is switched off.
    expect(untrustedDriverOverrides('filter.lfs.clean git-lfs clean', false)).toContain('filter.lfs.clean=');
    expect(() => untrustedDriverOverrides('local\tfilter.x=y.clean touch z')).toThrow(/cannot switch off/);
    // git itself reads the overrides as "no filter": it archives the blob as committed.
    const repo = tmpDir('expdesk-filter-');
    writeFileSync(path.join(repo, 'f.txt'), 'plain\n');
    writeFileSync(path.join(repo, '.gitattributes'), '* filter=evil\n');
    git(repo, 'init', '-q');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'i');
    git(repo, 'config', 'filter.evil.smudge', 'sed s/plain/CHANGED/');
    git(repo, 'config', 'filter.evil.required', 'true');
    const args = untrustedDriverOverrides(
      execFileSync('git', ['config', '--show-scope', '--get-regexp', '^filter\\.'], {
        cwd: repo,
        encoding: 'utf8',
      }),
    ).flatMap((kv) => ['-c', kv]);
    const shown = (extra: string[]): string =>
      execFileSync('sh', ['-c', 'git "$@" archive --format=tar HEAD f.txt | tar -xO', 'sh', ...extra], {
        cwd: repo,
        encoding: 'utf8',
      });
    expect(shown([])).toBe('CHANGED\n');
    expect(shown(args)).toBe('plain\n');
  });
});
