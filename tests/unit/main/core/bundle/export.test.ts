/**
 * exportBundle on real launches (prepareRun, a real git repository): what a
 * bundle holds, that its MANIFEST checks out, what it says when the source is
 * gone or a file is too large, that a failed or interrupted export leaves
 * nothing at the target path, and folders written by the seed's own code.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BundleError,
  bundleFormatOf,
  exportBundle,
  type BundleProgress,
} from '../../../../../src/main/core/bundle/export';
import { manifestLine, parseManifest } from '../../../../../src/main/core/bundle/manifest';
import { checkManifest, filesUnder, unpackBundle } from '../../../../helpers/bundle';
import { launchDirect, makeDirty, miniProject } from '../../../../helpers/bundle-project';
import { git } from '../../../../helpers/git';
import { REPO } from '../../../../helpers/cli';
import { tmpDir } from '../../../../helpers/tmp';

const json = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8'));

describe('exportBundle', { timeout: 60_000 }, () => {
  it('packs the recorded files, the source at git_hash and a MANIFEST that sha256sum accepts (zip)', async () => {
    const proj = miniProject();
    makeDirty(proj.dir, { binary: true });
    const exp = await launchDirect(proj.dir, { seed: 11 });
    const out = path.join(tmpDir(), 'mini-bundle.zip');
    const phases: BundleProgress['phase'][] = [];
    const r = await exportBundle({
      expDir: exp,
      out,
      onProgress: (p) => {
        if (phases[phases.length - 1] !== p.phase) phases.push(p.phase);
      },
    });
    expect(r).toMatchObject({
      path: out,
      format: 'zip',
      folder: 'mini-bundle',
      sourceIncluded: true,
      sourceMissing: null,
    });
    expect(r.omitted).toEqual([]);
    expect(phases).toEqual(['scan', 'source', 'pack', 'finish', 'done']);

    const dir = await unpackBundle(out, tmpDir());
    expect(path.basename(dir)).toBe('mini-bundle');
    const listed = checkManifest(dir);
    expect(listed).toEqual(
      [
        'README.md',
        'bundle.json',
        'config.yaml',
        'logs/metrics.jsonl',
        'metadata.json',
        'reproduce.sh',
        'reproduce.original.sh',
        'requirements.txt',
        'uncommitted.patch',
        'source/.gitignore',
        'source/code/train.py',
        'source/configs/base.yaml',
        'source/data/scale.txt',
        'source/run.sh',
      ].sort(),
    );
    // What coreutils says, on the unpacked folder, with no Expdesk involved.
    expect(
      execFileSync('sha256sum', ['-c', '--strict', 'MANIFEST'], { cwd: dir, encoding: 'utf8' }),
    ).toContain('source/run.sh: OK');
    // source/ is the commit, not the working tree: the patch carries the changes.
    for (const f of ['code/train.py', 'data/scale.txt', 'run.sh'])
      expect(readFileSync(path.join(dir, 'source', f), 'utf8')).toBe(
        git(proj.dir, 'show', `${proj.hash}:${f}`),
      );
    expect(readFileSync(path.join(dir, 'source/data/scale.txt'), 'utf8')).toBe('1.0\n');
    expect(readFileSync(path.join(dir, 'uncommitted.patch'), 'utf8')).toContain('GIT binary patch');
    // Modes as git recorded them; the script is executable.
    expect(statSync(path.join(dir, 'source/run.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(dir, 'source/code/train.py')).mode & 0o777).toBe(0o644);
    expect(statSync(path.join(dir, 'reproduce.sh')).mode & 0o777).toBe(0o755);
    // The recorded files are the experiment's bytes.
    for (const f of [
      'config.yaml',
      'metadata.json',
      'requirements.txt',
      'uncommitted.patch',
      'logs/metrics.jsonl',
    ])
      expect(readFileSync(path.join(dir, f))).toEqual(readFileSync(path.join(exp, f)));

    const desc = json(path.join(dir, 'bundle.json'));
    expect(desc).toMatchObject({
      format: 'expdesk.bundle/1',
      experiment: path.basename(exp),
      git_hash: proj.hash,
      seed: 11,
      command_template: ['python3', 'train.py', '{config}'],
      relative_cwd: 'code',
      source: { included: true, repository: proj.dir, missing_reason: null, omitted: [] },
      patch: { present: true, complete: true },
      included: { metrics: true, logs: false, checkpoint: null },
    });
    const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('# Reproduction bundle: ' + path.basename(exp));
    expect(readme).toContain('bash mini-bundle/reproduce.sh');
    expect(readme).toContain(`source/\` — the repository at commit \`${proj.hash}\``);
    expect(readme).not.toContain('What this bundle lacks');
    const script = readFileSync(path.join(dir, 'reproduce.sh'), 'utf8');
    expect(script).toContain(`GIT_HASH=${proj.hash}`);
    expect(script).toContain('SEED=11');
    expect(script).toContain('REL_CWD=code');
    expect(spawnSync('bash', ['-n', path.join(dir, 'reproduce.sh')]).status).toBe(0);
  });

  it('writes .tar.gz by name, with the checkpoint and every log on request', async () => {
    const proj = miniProject();
    const exp = await launchDirect(proj.dir);
    const out = path.join(tmpDir(), 'b.tar.gz');
    const r = await exportBundle({ expDir: exp, out, withCheckpoint: true, withLogs: true });
    expect(r.format).toBe('tar.gz');
    const dir = await unpackBundle(out, tmpDir());
    const listed = checkManifest(dir);
    expect(listed).toContain('checkpoints/final/model.bin');
    expect(listed).toContain('logs/train.log');
    expect(listed).not.toContain('uncommitted.patch'.replace('.patch', '.nope'));
    expect(readFileSync(path.join(dir, 'checkpoints/final/model.bin'))).toEqual(
      readFileSync(path.join(exp, 'checkpoints/final/model.bin')),
    );
    expect(statSync(path.join(dir, 'source/run.sh')).mode & 0o777).toBe(0o755);
    // A clean tree: the patch is empty, and the bundle says so rather than shipping a patch to apply.
    expect(json(path.join(dir, 'bundle.json'))).toMatchObject({
      patch: { present: false },
      included: { logs: true, checkpoint: 'checkpoints/final' },
    });
    expect(readFileSync(path.join(dir, 'reproduce.sh'), 'utf8')).toContain('HAS_PATCH=0');
  });

  it('gives a bundle without source/ when the repository is gone, and says so plainly', async () => {
    const proj = miniProject();
    const exp = await launchDirect(proj.dir);
    // The experiment stays reachable; the repository it came from does not.
    const keep = tmpDir();
    renameSync(path.join(proj.dir, 'experiments'), path.join(keep, 'experiments'));
    renameSync(proj.dir, `${proj.dir}-moved`);
    const moved = path.join(keep, 'experiments', path.basename(exp));
    const out = path.join(tmpDir(), 'gone.zip');
    const r = await exportBundle({ expDir: moved, out });
    expect(r.sourceIncluded).toBe(false);
    expect(r.sourceMissing).toContain(`${proj.dir} does not exist`);
    expect(r.warnings[0]).toMatch(/^the bundle has no source tree: /);
    const dir = await unpackBundle(out, tmpDir());
    checkManifest(dir);
    expect(filesUnder(dir).some((f) => f.startsWith('source/'))).toBe(false);
    const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('## What this bundle lacks');
    expect(readme).toContain('**No source tree**');
    expect(readme).toContain('--source DIR');
    expect(readFileSync(path.join(dir, 'reproduce.sh'), 'utf8')).toContain('HAS_SOURCE=0');

    // Told where the repository went, the export finds the commit there.
    const again = await exportBundle({ expDir: moved, out, repository: `${proj.dir}-moved` });
    expect(again.sourceIncluded).toBe(true);
  });

  it('names a commit that is no longer in the repository', async () => {
    const proj = miniProject();
    const exp = await launchDirect(proj.dir);
    const meta = json(path.join(exp, 'metadata.json'));
    writeFileSync(path.join(exp, 'metadata.json'), JSON.stringify({ ...meta, git_hash: 'ab'.repeat(20) }));
    const r = await exportBundle({ expDir: exp, out: path.join(tmpDir(), 'x.zip') });
    expect(r.sourceIncluded).toBe(false);
    expect(r.sourceMissing).toContain(`commit abababababab is not in ${proj.dir}`);
  });

  it('says when the uncommitted changes could not be recorded in full at launch', async () => {
    const proj = miniProject();
    const exp = await launchDirect(proj.dir);
    const meta = json(path.join(exp, 'metadata.json'));
    writeFileSync(
      path.join(exp, 'metadata.json'),
      JSON.stringify({
        ...meta,
        git_dirty: true,
        uncommitted_patch: {
          file: 'uncommitted.patch',
          bytes: 0,
          files: 0,
          complete: false,
          omitted: [],
          error: 'git add: boom\nmore',
        },
      }),
    );
    const r = await exportBundle({ expDir: exp, out: path.join(tmpDir(), 'p.zip') });
    expect(r.warnings).toContain(
      'the uncommitted changes at launch could not be recorded in full (git add: boom): the reproduction may differ',
    );
    const dir = await unpackBundle(r.path, tmpDir());
    expect(readFileSync(path.join(dir, 'README.md'), 'utf8')).toContain(
      '**The uncommitted changes could not be recorded in full** at launch: git add: boom.',
    );
    expect(readFileSync(path.join(dir, 'reproduce.sh'), 'utf8')).toContain('PATCH_COMPLETE=0');
  });

  it('reports a source file over the size limit instead of dropping it silently', async () => {
    const proj = miniProject();
    writeFileSync(path.join(proj.dir, 'data', 'weights.bin'), Buffer.alloc(300_000, 7));
    git(proj.dir, 'add', 'data/weights.bin');
    git(proj.dir, 'commit', '-qm', 'weights');
    const exp = await launchDirect(proj.dir);
    const out = path.join(tmpDir(), 'huge.zip');
    const r = await exportBundle({ expDir: exp, out, sourceFileLimitBytes: 100_000 });
    expect(r.sourceIncluded).toBe(true);
    expect(r.omitted).toEqual([
      { path: 'data/weights.bin', bytes: 300_000, reason: 'over the 98 KB limit for source files' },
    ]);
    expect(r.warnings.join('\n')).toContain('source/data/weights.bin (293 KB) is not in the bundle');
    const dir = await unpackBundle(out, tmpDir());
    checkManifest(dir);
    expect(filesUnder(dir)).not.toContain('source/data/weights.bin');
    expect(readFileSync(path.join(dir, 'README.md'), 'utf8')).toContain(
      '`data/weights.bin` (293 KB): over the',
    );
    expect(json(path.join(dir, 'bundle.json'))).toMatchObject({
      source: { omitted: [{ path: 'data/weights.bin', bytes: 300_000 }], file_limit_bytes: 100_000 },
    });
    expect(readFileSync(path.join(dir, 'reproduce.sh'), 'utf8')).toMatch(
      /SOURCE_OMITTED=\(\n {2}data\/weights\.bin\n\)/,
    );
  });

  it('leaves nothing at the target path, and no partial file, when the export fails midway', async () => {
    const proj = miniProject();
    const exp = await launchDirect(proj.dir);
    const outDir = tmpDir();
    const out = path.join(outDir, 'fail.zip');
    process.env.EXPDESK_TEST_FAIL_EXPORT_AFTER = '4';
    try {
      await expect(exportBundle({ expDir: exp, out })).rejects.toThrow(/injected failure after 4 entries/);
    } finally {
      delete process.env.EXPDESK_TEST_FAIL_EXPORT_AFTER;
    }
    expect(readdirSync(outDir)).toEqual([]);
    // A previous bundle at the path stays whole: the new one replaces it only when complete.
    writeFileSync(out, 'previous bundle');
    const controller = new AbortController();
    const p = exportBundle({
      expDir: exp,
      out,
      signal: controller.signal,
      onProgress: (pr) => {
        if (pr.phase === 'pack') controller.abort();
      },
    });
    await expect(p).rejects.toMatchObject({ code: 'aborted' });
    expect(readdirSync(outDir)).toEqual(['fail.zip']);
    expect(readFileSync(out, 'utf8')).toBe('previous bundle');
  });

  it('exports folders written by the seed’s code, saying what they lack', async () => {
    const fixtures = tmpDir();
    execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), fixtures], {
      stdio: 'ignore',
    });
    const exps = path.join(fixtures, 'experiments');
    const exp1 = path.join(exps, 'exp001_dpo_llama-7b_beta0.1_0115_1430');
    const out = path.join(tmpDir(), 'seed.tar.gz');
    const r = await exportBundle({ expDir: exp1, out, withCheckpoint: true, withLogs: true });
    expect(r.sourceIncluded).toBe(false);
    expect(r.sourceMissing).toContain('could not be found (the run recorded no repository path)');
    expect(r.warnings).toContain(
      'the run recorded no command template (not launched by Expdesk): reproduce.sh needs the command after -- (the README says how)',
    );
    const dir = await unpackBundle(out, tmpDir());
    expect(checkManifest(dir)).toEqual(
      [
        'README.md',
        'bundle.json',
        'reproduce.sh',
        'config.yaml',
        'metadata.json',
        'requirements.txt',
        'reproduce.original.sh',
        'logs/metrics.jsonl',
        'logs/train_rank0.log',
        'logs/train_rank1.log',
        'checkpoints/final/trainer_state.json',
      ].sort(),
    );
    const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('**No recorded command.**');
    expect(readme).toContain('`command: scripts/train.py --config configs/dpo.yaml`');
    expect(readme).toContain('| seed | 42 |');
    const script = readFileSync(path.join(dir, 'reproduce.sh'), 'utf8');
    expect(script).toContain('COMMAND=()');
    expect(script).toContain('SEED=42');

    // Only logs/metrics.jsonl: still a bundle, which lists what was never recorded.
    const exp5 = path.join(exps, 'exp005_dpo_llama-7b_beta0.2_0119_1000');
    const r5 = await exportBundle({ expDir: exp5, out: path.join(tmpDir(), 'five.zip') });
    const dir5 = await unpackBundle(r5.path, tmpDir());
    expect(checkManifest(dir5)).toEqual(['README.md', 'bundle.json', 'logs/metrics.jsonl', 'reproduce.sh']);
    const readme5 = readFileSync(path.join(dir5, 'README.md'), 'utf8');
    expect(readme5).toContain('`config.yaml` was not recorded');
    expect(readme5).toContain('`metadata.json` was not recorded');
    expect(r5.warnings).toContain('the folder has no config.yaml: reproduce.sh cannot run it');
  });

  it('refuses what it cannot do, with the reason', async () => {
    expect(() => bundleFormatOf('x.rar')).toThrow(/must end in \.zip, \.tar\.gz or \.tgz/);
    expect(bundleFormatOf('X.TGZ')).toBe('tar.gz');
    const empty = tmpDir();
    await expect(exportBundle({ expDir: empty, out: path.join(tmpDir(), 'a.zip') })).rejects.toMatchObject({
      code: 'not-found',
    });
    const proj = miniProject();
    const exp = await launchDirect(proj.dir);
    await expect(exportBundle({ expDir: exp, out: path.join(exp, 'inside.zip') })).rejects.toBeInstanceOf(
      BundleError,
    );
  });
});

describe('MANIFEST lines', () => {
  it('escape names the way sha256sum does, and parse back', () => {
    const h = 'a'.repeat(64);
    expect(manifestLine({ path: 'a b/c.txt', sha256: h })).toBe(`${h}  a b/c.txt\n`);
    expect(manifestLine({ path: 'we\\ird\nname', sha256: h })).toBe(`\\${h}  we\\\\ird\\nname\n`);
    expect(parseManifest(`${h}  a b/c.txt\n\\${h}  we\\\\ird\\nname\n`)).toEqual([
      { path: 'a b/c.txt', sha256: h },
      { path: 'we\\ird\nname', sha256: h },
    ]);
    expect(() => parseManifest('nope\n')).toThrow(/line 1/);
  });
});
