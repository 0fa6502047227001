/**
 * The bundle's reproduce.sh, run as a receiver would: from the unpacked
 * bundle, with the original project moved away and a PATH without node or
 * expdesk. It must give the same numbers, and fail early and clearly — before
 * creating anything — for what it cannot do.
 */
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { exportBundle } from '../../../../../src/main/core/bundle/export';
import { verifyRuns } from '../../../../../src/main/core/verify/verify';
import { receiverPath, realPython, runReproduce, unpackBundle } from '../../../../helpers/bundle';
import { launchDirect, makeDirty, miniProject, TRAIN_PY } from '../../../../helpers/bundle-project';
import { tmpDir } from '../../../../helpers/tmp';
import { SEED_METADATA_KEYS } from '../../../../helpers/experiments';

/** Launch, export, move the project out of reach, unpack in a fresh folder. */
async function bundleOf(
  opts: { dirty?: boolean; binary?: boolean; seed?: number; format?: 'zip' | 'tar.gz' } = {},
): Promise<{ exp: string; bundle: string }> {
  const proj = miniProject();
  if (opts.dirty) makeDirty(proj.dir, { binary: opts.binary });
  const exp = await launchDirect(proj.dir, { seed: opts.seed ?? 5 });
  const out = path.join(tmpDir(), `b.${opts.format ?? 'zip'}`);
  await exportBundle({ expDir: exp, out });
  renameSync(proj.dir, `${proj.dir}-away`);
  const movedExp = path.join(`${proj.dir}-away`, 'experiments', path.basename(exp));
  return { exp: movedExp, bundle: await unpackBundle(out, tmpDir('expdesk-receiver-')) };
}

/** Nothing made by a failed attempt: no reproduced/ entries, no work/ tree. */
function nothingCreated(bundle: string): void {
  for (const d of ['reproduced', 'work'])
    expect(existsSync(path.join(bundle, d)) ? readdirSync(path.join(bundle, d)) : []).toEqual([]);
}

describe('reproduce.sh of a bundle', { timeout: 90_000 }, () => {
  it('reproduces a dirty run (modified, untracked and binary files) with --python: identical numbers', async () => {
    const { exp, bundle } = await bundleOf({ dirty: true, binary: true, seed: 9 });
    const r = runReproduce(bundle, ['--python', 'python3'], receiverPath());
    expect(r.code, r.stderr).toBe(0);
    const out = r.last;
    expect(path.dirname(out)).toBe(path.join(bundle, 'reproduced'));
    expect(path.basename(out)).toMatch(/^exp001_dpo_tiny_beta0\.1_\d{4}_\d{4}_repro_\d{8}_\d{6}$/);
    // stdout is that one line; the run's output went to stderr and to logs/train.log.
    expect(r.stdout).toBe(`${out}\n`);
    expect(r.stderr).toContain(`using ${path.dirname(realPython())}/python3 as it is`);
    expect(r.stderr).toContain('every package in requirements.txt is installed at its recorded version');
    const log = readFileSync(path.join(out, 'logs', 'train.log'), 'utf8');
    // The patch was applied (scale 2.5) and the command ran in code/, the recorded folder.
    expect(log).toMatch(/trained 6 steps, scale 2\.5, seed 9, cwd .*\/work\/[^/]+\/code\n/);
    expect(existsSync(path.join(bundle, 'work', path.basename(out), 'data', 'blob.bin'))).toBe(true);

    const verdict = await verifyRuns(exp, out);
    expect(verdict.verdict, verdict.message).toBe('identical');
    expect(verdict.records.matched).toBe(7);
    expect((await verifyRuns(bundle, out)).verdict).toBe('identical');

    // The new folder is an experiment of its own: config pointing at it, metadata saying where it came from.
    const config = parseYaml(readFileSync(path.join(out, 'config.yaml'), 'utf8'));
    expect(config.experiment).toEqual({ name: path.basename(out), output_dir: out });
    expect(config.training).toEqual({ steps: 6, seed: 9 });
    const meta = JSON.parse(readFileSync(path.join(out, 'metadata.json'), 'utf8'));
    expect(Object.keys(meta).slice(0, 10)).toEqual(SEED_METADATA_KEYS);
    expect(meta).toMatchObject({ name: path.basename(out), seed: 9, git_dirty: true });
    expect(meta.reproduced_from).toMatchObject({ name: path.basename(exp), bundle });
    expect(meta.command_argv).toEqual([
      realPython().replace(/python3[\d.]*$/, 'python3'),
      'train.py',
      path.join(out, 'config.yaml'),
    ]);
  });

  it('applies a text-only patch with patch -p1 where git is missing', async () => {
    const { exp, bundle } = await bundleOf({ dirty: true, format: 'tar.gz' });
    const r = runReproduce(bundle, ['--python', 'python3'], receiverPath({ noGit: true }));
    expect(r.code, r.stderr).toBe(0);
    expect((await verifyRuns(exp, r.last)).verdict).toBe('identical');
  });

  it('fails early, creating nothing, when only git could apply the patch and git is missing', async () => {
    const { bundle } = await bundleOf({ dirty: true, binary: true });
    const r = runReproduce(bundle, ['--python', 'python3'], receiverPath({ noGit: true }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'the uncommitted changes include binary files, which only git can apply: install git',
    );
    expect(r.stdout).toBe('');
    nothingCreated(bundle);
  });

  it('fails early when the patch does not apply, and when there is no python', async () => {
    const { bundle } = await bundleOf({ dirty: true });
    const scale = path.join(bundle, 'source', 'data', 'scale.txt');
    writeFileSync(scale, '7.0\n');
    const bad = runReproduce(bundle, ['--python', 'python3'], receiverPath());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /error: uncommitted\.patch does not apply to the source tree of commit [0-9a-f]{12} in .*\/source \(with git\); nothing was created/,
    );
    nothingCreated(bundle);
    writeFileSync(scale, '1.0\n');

    const noPy = runReproduce(bundle, [], receiverPath({ noPython: true }));
    expect(noPy.code).toBe(1);
    expect(noPy.stderr).toContain('error: no Python found on PATH: install Python 3');
    const badPy = runReproduce(bundle, ['--python', '/nonexistent/python3'], receiverPath());
    expect(badPy.stderr).toContain('error: --python /nonexistent/python3: no such interpreter');
    nothingCreated(bundle);
  });

  it('reports every package whose version differs from requirements.txt', async () => {
    const { bundle } = await bundleOf();
    const reqs = path.join(bundle, 'requirements.txt');
    const pip = readFileSync(reqs, 'utf8')
      .split('\n')
      .find((l) => /^pip==/.test(l));
    writeFileSync(
      reqs,
      `${readFileSync(reqs, 'utf8')}zzz-not-installed==1.2.3\n${pip ? 'pip==0.0.1\n' : ''}some-pkg @ https://example.invalid/x.whl\n`,
    );
    const r = runReproduce(bundle, ['--python', 'python3'], receiverPath());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/package\(s\) differ from requirements\.txt:/);
    expect(r.stderr).toContain('  zzz-not-installed: recorded 1.2.3, not installed');
    expect(r.stderr).toContain('  some-pkg: recorded from https://example.invalid/x.whl, not installed');
    if (pip) expect(r.stderr).toMatch(/ {2}pip: recorded 0\.0\.1, installed \d/);
  });

  it('makes a virtual environment without --python, leaving out what came from the original disk', async () => {
    const { exp, bundle } = await bundleOf();
    // Only lines pip could not install elsewhere: the venv step runs with nothing to fetch (no index here).
    writeFileSync(
      path.join(bundle, 'requirements.txt'),
      '-e git+https://example.invalid/p.git#egg=p\nlocal @ file:///home/x/local\n',
    );
    const r = runReproduce(bundle, [], receiverPath());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`creating a virtual environment in ${bundle}/venv`);
    expect(r.stderr).toContain(
      "not installed (it came from the original machine's disk): local @ file:///home/x/local",
    );
    const meta = JSON.parse(readFileSync(path.join(r.last, 'metadata.json'), 'utf8'));
    expect(meta.python_executable).toBe(path.join(bundle, 'venv', 'bin', 'python'));
    expect(meta.command_argv[0]).toBe(path.join(bundle, 'venv', 'bin', 'python'));
    expect((await verifyRuns(exp, r.last)).verdict).toBe('identical');
  });

  it('asks for a source file left out for size, then runs once it is put back', async () => {
    const proj = miniProject();
    const exp = await launchDirect(proj.dir, { seed: 4 });
    const out = path.join(tmpDir(), 'limit.zip');
    await exportBundle({ expDir: exp, out, sourceFileLimitBytes: 1000 });
    const bundle = await unpackBundle(out, tmpDir());
    const bin = receiverPath();
    const r = runReproduce(bundle, ['--python', 'python3'], bin);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error: these files of commit [0-9a-f]{12} were too large for the bundle and are not in .*\/source: code\/train\.py\. Copy them there/,
    );
    nothingCreated(bundle);
    cpSync(path.join(proj.dir, 'code', 'train.py'), path.join(bundle, 'source', 'code', 'train.py'));
    const ok = runReproduce(bundle, ['--python', 'python3'], bin);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await verifyRuns(exp, ok.last)).verdict).toBe('identical');
  });

  it('runs a seed-written folder only with a command (-- …) and a source (--source)', async () => {
    const proj = miniProject();
    const exp = await launchDirect(proj.dir, { seed: 21 });
    // Make it look like the seed's code wrote it: the seed's metadata fields only, no git_root, no template.
    const meta = JSON.parse(readFileSync(path.join(exp, 'metadata.json'), 'utf8'));
    const seedMeta = Object.fromEntries(Object.entries(meta).slice(0, 10));
    writeFileSync(
      path.join(exp, 'metadata.json'),
      JSON.stringify({ ...seedMeta, command: 'train.py configs/base.yaml' }),
    );
    const elsewhere = tmpDir();
    renameSync(exp, path.join(elsewhere, 'exp'));
    const out = path.join(tmpDir(), 'seedish.zip');
    const res = await exportBundle({ expDir: path.join(elsewhere, 'exp'), out });
    expect(res.sourceIncluded).toBe(false);
    const bundle = await unpackBundle(out, tmpDir());
    const bin = receiverPath();

    const noCommand = runReproduce(bundle, ['--python', 'python3'], bin);
    expect(noCommand.code).toBe(1);
    expect(noCommand.stderr).toContain(
      'error: this run did not record the command that trained it (its metadata.json says only: train.py configs/base.yaml). Give the command after --',
    );
    const noSource = runReproduce(
      bundle,
      ['--python', 'python3', '--', 'python3', 'code/train.py', '{config}'],
      bin,
    );
    expect(noSource.code).toBe(1);
    expect(noSource.stderr).toContain('error: this bundle holds no source tree: ');
    expect(noSource.stderr).toContain('Pass --source DIR');
    nothingCreated(bundle);

    // The seed recorded its seed in the config (training.seed), which the bundle uses.
    const ok = runReproduce(
      bundle,
      ['--python', 'python3', '--source', proj.dir, '--', 'python3', 'code/train.py', '{config}'],
      bin,
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(readFileSync(path.join(ok.last, 'logs', 'train.log'), 'utf8')).toContain('seed 21');
    expect((await verifyRuns(path.join(elsewhere, 'exp'), ok.last)).verdict).toBe('identical');
    // --source is copied, never changed.
    expect(readFileSync(path.join(proj.dir, 'code', 'train.py'), 'utf8')).toBe(TRAIN_PY);
  });

  it('keeps the folder of a failed command, with FAILED.txt, and exits with its code', async () => {
    const { bundle } = await bundleOf();
    const r = runReproduce(
      bundle,
      [
        '--python',
        'python3',
        '--out',
        path.join(bundle, 'elsewhere'),
        '--',
        'python3',
        '-c',
        'import sys; print("boom {seed}"); sys.exit(3)',
      ],
      receiverPath(),
    );
    expect(r.code).toBe(3);
    expect(path.dirname(r.last)).toBe(path.join(bundle, 'elsewhere'));
    expect(r.stderr).toContain('the command failed with exit code 3');
    expect(readFileSync(path.join(r.last, 'logs', 'train.log'), 'utf8')).toBe('boom 5\n');
    expect(readFileSync(path.join(r.last, 'FAILED.txt'), 'utf8')).toMatch(/^Failed at step 0\n/);
  });
});
