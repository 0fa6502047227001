/**
 * Issue 5 end to end, through the real `expdesk` command and tmux: launch the
 * demo training run, export it, move the original project out of reach,
 * unpack the bundle in a fresh folder, run its reproduce.sh with a PATH that
 * holds no node and no expdesk, and `expdesk verify` says identical — for a
 * clean tree (.zip) and a dirty tree with untracked files (.tar.gz). Also:
 * an interrupted export leaves no bundle; a seed-written folder exports;
 * verify says diverged or within tolerance when it should; the host's
 * bundle.export and experiments.verify.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExpdeskHost } from '../../src/main/host/host';
import type { EventPayload } from '../../src/shared/contract';
import { checkManifest, receiverPath, runReproduce, unpackBundle } from '../helpers/bundle';
import { EXPDESK_BIN, REPO } from '../helpers/cli';
import { git } from '../helpers/git';
import { tmpDir } from '../helpers/tmp';
import { demoProject, usePrivateTmux } from '../helpers/demo-project';

const tmux = usePrivateTmux();

const project = (): string => demoProject('expdesk-bundleproj-');

interface Cli {
  code: number | null;
  stdout: string;
  stderr: string;
  last: string;
}

function expdesk(cwd: string, args: string[], extra: Record<string, string> = {}): Cli {
  const r = spawnSync(process.execPath, [EXPDESK_BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...tmux.env, EXPDESK_CACHE_DIR: tmpDir(), ...extra },
    timeout: 120_000,
  });
  const lines = r.stdout.trimEnd().split('\n');
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, last: lines[lines.length - 1] ?? '' };
}

/** `expdesk run` of the demo; returns the experiment folder (the first line of its output). */
function launchDemo(proj: string, seed: number): string {
  const r = expdesk(proj, [
    'run',
    '--config',
    'configs/dpo_beta0.05.yaml',
    '--set',
    'training.max_steps=30',
    '--set',
    'logging.eval_interval=10',
    '--seed',
    String(seed),
    '--',
    'python3',
    'train.py',
    '{config}',
    '--step-delay',
    '0',
  ]);
  expect(r.code, r.stderr).toBe(0);
  const exp = r.stdout.split('\n')[0]!;
  expect(existsSync(path.join(exp, 'checkpoints', 'final'))).toBe(true);
  return exp;
}

/** Move the project (and the experiment in it) out of reach; returns where the experiment is now. */
function moveAway(proj: string, exp: string): string {
  renameSync(proj, `${proj}-out-of-reach`);
  return path.join(`${proj}-out-of-reach`, path.relative(proj, exp));
}

async function reproduceAndVerify(bundleFile: string, original: string): Promise<void> {
  const bundle = await unpackBundle(bundleFile, tmpDir('expdesk-fresh-'));
  checkManifest(bundle);
  const r = runReproduce(bundle, ['--python', 'python3'], receiverPath());
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toContain('Training complete: 30 steps');
  const reproduced = r.last;
  expect(existsSync(path.join(reproduced, 'logs', 'metrics.jsonl'))).toBe(true);
  const verdict = expdesk(tmpDir(), ['verify', original, reproduced]);
  expect(verdict.code, verdict.stdout + verdict.stderr).toBe(0);
  expect(verdict.stdout).toMatch(/^identical: 33 record\(s\), \d+ value\(s\) compared, every value equal\n$/);
  // The unpacked bundle holds the original's metrics: it verifies on its own, too.
  expect(expdesk(tmpDir(), ['verify', bundle, reproduced]).code).toBe(0);
}

// Each test launches real runs (a few seconds each): room for a loaded two-core machine.
describe('a reproduction bundle of the demo run', { timeout: 120_000 }, () => {
  it('reproduces a clean tree from a .zip, with the repository and Expdesk out of reach', async () => {
    const proj = project();
    const exp = launchDemo(proj, 1234);
    const out = path.join(tmpDir(), 'clean.zip');
    const r = expdesk(proj, ['export', exp, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.last).toBe(out);
    expect(r.stdout).toContain('source: included');
    expect(r.stderr).toContain('expdesk: packing');
    await reproduceAndVerify(out, moveAway(proj, exp));
  });

  it('reproduces a dirty tree with untracked files from a .tar.gz', async () => {
    const proj = project();
    // Changes that move the numbers: without the patch the reproduction diverges.
    writeFileSync(
      path.join(proj, 'configs', 'base.yaml'),
      readFileSync(path.join(proj, 'configs', 'base.yaml'), 'utf8').replace(
        'batch_size: 8',
        'batch_size: 16',
      ),
    );
    writeFileSync(
      path.join(proj, 'train.py'),
      readFileSync(path.join(proj, 'train.py'), 'utf8').replace(
        'self.rng = random.Random(seed)',
        'self.rng = random.Random(seed + int(open(PROJECT_DIR / "notes" / "offset.txt").read()))',
      ),
    );
    mkdirSync(path.join(proj, 'notes'));
    writeFileSync(path.join(proj, 'notes', 'offset.txt'), '17\n');
    writeFileSync(path.join(proj, 'model.ckpt'), 'ignored: never recorded');
    git(proj, 'rm', '-q', 'configs/ppo.yaml');
    const exp = launchDemo(proj, 99);
    const out = path.join(tmpDir(), 'dirty.tar.gz');
    const r = expdesk(proj, ['export', exp, '--output', out, '--with-logs', '--with-checkpoint']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.last).toBe(out);
    const original = moveAway(proj, exp);
    await reproduceAndVerify(out, original);

    // Without the patch the same commit gives other numbers: the patch is what made it identical.
    const bundle = await unpackBundle(out, tmpDir('expdesk-nopatch-'));
    expect(readdirSync(path.join(bundle, 'checkpoints', 'final'))).toContain('state.json');
    const script = path.join(bundle, 'reproduce.sh');
    writeFileSync(script, readFileSync(script, 'utf8').replace('\nHAS_PATCH=1\n', '\nHAS_PATCH=0\n'));
    const unpatched = runReproduce(bundle, ['--python', 'python3'], receiverPath());
    expect(unpatched.code, unpatched.stderr).toBe(0);
    const v = expdesk(tmpDir(), ['verify', original, unpatched.last]);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/^diverged: first at step 1 \(train\), train\//);
  });

  it('verify: diverged for another seed (exit 1, first step and metric), within tolerance for tiny noise', () => {
    const proj = project();
    const a = launchDemo(proj, 1);
    const b = launchDemo(proj, 2);
    const diverged = expdesk(proj, ['verify', a, b]);
    expect(diverged.code).toBe(1);
    expect(diverged.stdout).toMatch(
      /^diverged: first at step 1 \(train\), train\/grad_norm: [\d.e-]+ \(original\) vs [\d.e-]+ \(reproduced\), difference [\d.e-]+ beyond rtol 0\.00001, atol 1e-8 \(\d+ difference\(s\) in all\)\n$/,
    );
    const json = expdesk(proj, ['verify', a, b, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      verdict: 'diverged',
      firstDivergence: { step: 1, prefix: 'train', metric: 'train/grad_norm', reason: 'value' },
    });

    // The same run with every loss nudged by one part in ten million.
    const noisy = tmpDir();
    mkdirSync(path.join(noisy, 'logs'));
    const lines = readFileSync(path.join(a, 'logs', 'metrics.jsonl'), 'utf8')
      .trimEnd()
      .split('\n');
    const nudged = lines.map((l) => {
      const rec = JSON.parse(l) as Record<string, unknown>;
      if (typeof rec['train/loss'] === 'number') rec['train/loss'] = rec['train/loss'] * (1 + 1e-7);
      return JSON.stringify(rec);
    });
    writeFileSync(path.join(noisy, 'logs', 'metrics.jsonl'), nudged.join('\n') + '\n');
    const within = expdesk(proj, ['verify', a, noisy]);
    expect(within.code, within.stdout).toBe(0);
    expect(within.stdout).toMatch(
      /^within tolerance \(rtol 0\.00001, atol 1e-8\): 33 record\(s\), \d+ value\(s\) compared, 30 differ; largest difference [\d.e-]+ in train\/loss at step \d+ \(train\)/,
    );
    // Tighter than the noise: diverged.
    expect(expdesk(proj, ['verify', a, noisy, '--rtol', '0', '--atol', '0']).code).toBe(1);
    expect(expdesk(proj, ['verify', a, path.join(proj, 'nope')])).toMatchObject({ code: 3 });
    expect(expdesk(proj, ['verify', a, noisy, '--rtol', 'x']).stderr).toBe(
      'expdesk: --rtol must be a non-negative number, got x\n',
    );
  });

  it('leaves no bundle when the export fails or is interrupted', async () => {
    const proj = project();
    const exp = launchDemo(proj, 5);
    const outDir = tmpDir();
    const out = path.join(outDir, 'b.zip');

    const failed = expdesk(proj, ['export', exp, '-o', out], { EXPDESK_TEST_FAIL_EXPORT_AFTER: '3' });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('expdesk: injected failure after 3 entries');
    expect(readdirSync(outDir)).toEqual([]);

    // Ctrl-C in the middle (the export waits after 5 entries until it is interrupted).
    const interrupted = await exportUntil(proj, exp, out, 'SIGINT');
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain(`expdesk: export interrupted: no bundle was written at ${out}`);
    expect(readdirSync(outDir)).toEqual([]);

    // Even SIGKILL, which no cleanup survives, leaves nothing that looks complete.
    const killed = await exportUntil(proj, exp, out, 'SIGKILL');
    expect(killed.code).toBe(null);
    expect(existsSync(out)).toBe(false);
    for (const f of readdirSync(outDir)) expect(f).toMatch(/^b\.zip\.partial-[0-9a-f]{12}(\.source)?$/);
  });

  it('exports a folder written by the seed’s code, saying what it lacks', () => {
    const fixtures = tmpDir();
    spawnSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), fixtures]);
    const exp = path.join(fixtures, 'experiments', 'exp003_ppo_llama-7b_clip0.2_0117_1200');
    const out = path.join(tmpDir(), 'seed.zip');
    const r = expdesk(fixtures, ['export', exp, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.last).toBe(out);
    expect(r.stdout).toContain('source: NOT INCLUDED — the source of commit');
    expect(r.stdout).toContain('export again with --repo DIR');
    expect(r.stdout).toContain('warning: the run recorded no command template');
    // Without -o: <experiment>-bundle.zip in the current folder.
    const here = tmpDir();
    const d = expdesk(here, ['export', exp]);
    expect(d.last).toBe(path.join(here, 'exp003_ppo_llama-7b_clip0.2_0117_1200-bundle.zip'));
    expect(existsSync(d.last)).toBe(true);
    expect(expdesk(here, ['export', path.join(here, 'nothing')]).code).toBe(3);
    expect(expdesk(here, ['export', exp, '-o', 'x.rar']).stderr).toBe(
      "expdesk: x.rar: a bundle's name must end in .zip, .tar.gz or .tgz\n",
    );
  });

  it('through the host: bundle.export with progress events, experiments.verify', async () => {
    const proj = project();
    const exp = launchDemo(proj, 8);
    const host = new ExpdeskHost({
      mode: 'browser',
      version: 't',
      workspace: proj,
      demoWorkspace: null,
      cacheDir: tmpDir(),
    });
    const progress: Array<EventPayload<'bundle.progress'>> = [];
    host.onEvent((event, payload) => {
      if (event === 'bundle.progress') progress.push(payload as EventPayload<'bundle.progress'>);
    });
    const out = path.join(tmpDir(), 'host.zip');
    const result = await host.dispatch('bundle.export', { expDir: exp, out, withLogs: true });
    expect(result).toMatchObject({
      path: out,
      format: 'zip',
      sourceIncluded: true,
      sourceMissing: null,
      omitted: [],
    });
    expect(progress.map((p) => p.phase)).toEqual(
      expect.arrayContaining(['scan', 'source', 'pack', 'finish', 'done']),
    );
    expect(progress.every((p) => p.expDir === exp)).toBe(true);
    await expect(host.dispatch('bundle.export', { expDir: exp, out: 'relative.zip' })).rejects.toMatchObject({
      code: 'bad-request',
    });
    await expect(host.dispatch('bundle.export', { expDir: path.join(proj, 'nope') })).rejects.toMatchObject({
      code: 'not-found',
    });

    const same = await host.dispatch('experiments.verify', { original: exp, reproduced: exp });
    expect(same).toMatchObject({ verdict: 'identical', records: { matched: 33 } });
    const other = launchDemo(proj, 9);
    const diff = await host.dispatch('experiments.verify', {
      original: exp,
      reproduced: other,
      tolerance: { rtol: 1e-3 },
    });
    expect(diff).toMatchObject({ verdict: 'diverged', tolerance: { rtol: 1e-3, atol: 1e-8 } });
    host.dispose();
  });
});

/** Start `expdesk export`, stalled after 5 entries, and send `signal` once its partial file exists. */
function exportUntil(
  cwd: string,
  exp: string,
  out: string,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [EXPDESK_BIN, 'export', exp, '-o', out], {
      cwd,
      env: { ...process.env, ...tmux.env, EXPDESK_TEST_STALL_EXPORT_AFTER: '5' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const dir = path.dirname(out);
    const deadline = Date.now() + 30_000;
    const poll = setInterval(() => {
      if (readdirSync(dir).some((f) => /\.partial-[0-9a-f]+$/.test(f)) && stderr.includes('packing')) {
        clearInterval(poll);
        // Give it a moment inside the stall, then interrupt.
        setTimeout(() => child.kill(signal), 200);
      } else if (Date.now() > deadline) {
        clearInterval(poll);
        child.kill('SIGKILL');
        reject(new Error(`the export never reached its stall: ${stderr}`));
      }
    }, 25);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}
