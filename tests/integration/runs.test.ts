/**
 * Launching real runs: a real git repository (clean, and dirty with untracked
 * files), the demo's real Python training script, through node-pty and tmux,
 * via the real `expdesk` command.
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, chmodSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { EXPDESK_BIN, runCli } from '../helpers/cli';
import { git } from '../helpers/git';
import { tmpDir } from '../helpers/tmp';
import { demoProject, usePrivateTmux } from '../helpers/demo-project';
import { SEED_METADATA_KEYS } from '../helpers/experiments';

const tmux = usePrivateTmux();

const project = (): string => demoProject('expdesk-proj-');

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { ...tmux.env, EXPDESK_CACHE_DIR: tmpDir(), ...extra };
}

function runIn(
  cwd: string,
  args: string[],
  extra: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [EXPDESK_BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env(extra) },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The experiment folder: the first line of `expdesk run`'s output. */
function expDirOf(stdout: string): string {
  const first = stdout.split('\n')[0]!;
  expect(existsSync(first)).toBe(true);
  return first;
}

const json = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8'));

// Each test launches real runs (tmux, Python, git): generous on a loaded two-core machine.
describe('expdesk run', { timeout: 120_000 }, () => {
  it('captures a dirty tree with untracked files as a patch that reproduces it byte for byte', () => {
    const proj = project();
    writeFileSync(
      path.join(proj, 'train.py'),
      readFileSync(path.join(proj, 'train.py'), 'utf8') + '\n# an unstaged change\n',
    );
    writeFileSync(
      path.join(proj, 'configs', 'base.yaml'),
      readFileSync(path.join(proj, 'configs', 'base.yaml'), 'utf8').replace('lr:', 'lr:'),
    );
    writeFileSync(path.join(proj, 'notes.md'), 'untracked notes\n');
    mkdirSync(path.join(proj, 'data'));
    writeFileSync(path.join(proj, 'data', 'blob.bin'), Buffer.from([0, 1, 2, 255, 254, 10, 13]));
    writeFileSync(path.join(proj, 'model.ckpt'), 'ignored, must not be recorded');
    writeFileSync(path.join(proj, 'staged.txt'), 'staged\n');
    git(proj, 'add', 'staged.txt');
    git(proj, 'rm', '-q', 'configs/ppo.yaml');

    const r = runIn(proj, [
      'run',
      '--config',
      'configs/dpo_beta0.05.yaml',
      '--set',
      'training.max_steps=20',
      '--seed',
      '1234',
      '--',
      'python3',
      'train.py',
      '{config}',
      '--step-delay',
      '0',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('uncommitted changes');
    const exp = expDirOf(r.stdout);
    expect(path.basename(exp)).toMatch(/^exp001_dpo_tiny-llama-1m_beta0\.05_\d{4}_\d{4}$/);

    const meta = json(path.join(exp, 'metadata.json'));
    const hash = git(proj, 'rev-parse', 'HEAD').trim();
    // The seed's fields, under the seed's names, in the seed's order.
    expect(Object.keys(meta).slice(0, 10)).toEqual(SEED_METADATA_KEYS);
    expect(meta).toMatchObject({
      name: path.basename(exp),
      git_hash: hash,
      git_branch: 'main',
      git_dirty: true,
      torch_version: 'not installed',
      cuda_version: 'N/A',
      seed: 1234,
      overrides: ['training.max_steps=20'],
    });
    expect(meta.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(meta.python_version).toMatch(/^3\.\d+/);
    expect(meta.command).toContain(path.join(exp, 'config.yaml'));
    for (const key of [
      'python_executable',
      'os',
      'cpu',
      'memory_bytes',
      'gpus',
      'env',
      'expdesk_version',
      'git_remote',
    ])
      expect(meta).toHaveProperty(key);
    expect((meta.env as Record<string, string>).EXPDESK_SEED).toBe('1234');

    // Frozen config: complete, plain, named, and the seed recorded where the config keeps it.
    const configText = readFileSync(path.join(exp, 'config.yaml'), 'utf8');
    expect(configText).not.toMatch(/defaults|\$\{/);
    const frozen = parseYaml(configText);
    expect(frozen.experiment).toEqual({ name: path.basename(exp), output_dir: exp });
    expect(frozen.training).toMatchObject({ max_steps: 20, seed: 1234 });
    expect(frozen.dpo.beta).toBe(0.05);

    // The patch reproduces the working tree on a fresh checkout of git_hash.
    const checkout = tmpDir('expdesk-checkout-');
    execFileSync('git', ['clone', '-q', proj, checkout]);
    git(checkout, 'checkout', '-q', '--detach', hash);
    git(checkout, 'apply', '--binary', path.join(exp, 'uncommitted.patch'));
    const tree = (dir: string): Record<string, string> => {
      const files = git(dir, 'ls-files', '--cached', '--others', '--exclude-standard', '-z')
        .split('\0')
        .filter((f) => f && !f.startsWith('experiments/') && existsSync(path.join(dir, f)));
      return Object.fromEntries(
        files.sort().map((f) => [f, readFileSync(path.join(dir, f)).toString('base64')]),
      );
    };
    expect(tree(checkout)).toEqual(tree(proj));
    expect(existsSync(path.join(checkout, 'configs', 'ppo.yaml'))).toBe(false);
    expect(readFileSync(path.join(exp, 'uncommitted.patch'), 'utf8')).not.toContain('model.ckpt');

    // Every byte of the run's output is in train.log; the run completed.
    const log = readFileSync(path.join(exp, 'logs', 'train.log'), 'utf8');
    expect(log).toContain('Training complete: 20 steps');
    expect(r.stdout).toContain('Training complete: 20 steps');
    expect(json(path.join(exp, 'expdesk_status.json'))).toMatchObject({ state: 'completed', exit_code: 0 });
    const reproduce = readFileSync(path.join(exp, 'reproduce.sh'), 'utf8');
    expect(reproduce).toContain(hash);
    expect(reproduce).toContain('EXPDESK_SEED=1234');
    expect(readFileSync(path.join(exp, 'requirements.txt'), 'utf8').length).toBeGreaterThan(0);
  });

  it('records a clean tree as clean, with an empty patch, and the seed from the config', () => {
    const proj = project();
    const r = runIn(proj, [
      'run',
      '--config',
      'configs/ppo.yaml',
      '--set',
      'training.max_steps=5',
      '--',
      'python3',
      'train.py',
      '{config}',
      '--step-delay',
      '0',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const exp = expDirOf(r.stdout);
    expect(path.basename(exp)).toMatch(/^exp001_ppo_tiny-llama-1m_clip0\.2_/);
    const meta = json(path.join(exp, 'metadata.json'));
    expect(meta).toMatchObject({ git_dirty: false, seed: 42 });
    expect(readFileSync(path.join(exp, 'uncommitted.patch'), 'utf8')).toBe('');
    expect(r.stderr).not.toContain('uncommitted changes');
    // A second run takes the next number.
    const r2 = runIn(proj, [
      'run',
      '--config',
      'configs/ppo.yaml',
      '--set',
      'training.max_steps=5',
      '--',
      'python3',
      'train.py',
      '{config}',
      '--step-delay',
      '0',
    ]);
    expect(path.basename(expDirOf(r2.stdout))).toMatch(/^exp002_/);
  });

  it('refuses a dirty tree when asked to, and bad configs with file:line:column, creating nothing', () => {
    const proj = project();
    writeFileSync(path.join(proj, 'train.py'), '# changed\n');
    const dirty = runIn(proj, [
      'run',
      '--refuse-dirty',
      '--config',
      'configs/base.yaml',
      '--',
      'python3',
      'train.py',
      '{config}',
    ]);
    expect(dirty.code).not.toBe(0);
    expect(dirty.stderr).toMatch(/uncommitted changes/);
    const typo = runIn(proj, [
      'run',
      '--config',
      'configs/base.yaml',
      '--set',
      'training.lrr=1',
      '--',
      'python3',
      'train.py',
      '{config}',
    ]);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/no config defines 'training\.lrr' \(nearest: training\.lr/);
    writeFileSync(path.join(proj, 'configs', 'broken.yaml'), 'defaults: [base]\ntraining:\n  lr: [1, 2\n');
    const broken = runIn(proj, [
      'run',
      '--config',
      'configs/broken.yaml',
      '--',
      'python3',
      'train.py',
      '{config}',
    ]);
    expect(broken.stderr).toMatch(/broken\.yaml:\d+:\d+: /);
    expect(
      existsSync(path.join(proj, 'experiments')) ? readdirSync(path.join(proj, 'experiments')) : [],
    ).toEqual([]);
  });

  it('writes FAILED.txt in the seed form for an exception, and exits with the run exit code', () => {
    const proj = project();
    const r = runIn(proj, [
      'run',
      '--config',
      'configs/base.yaml',
      '--set',
      'training.max_steps=50',
      '--',
      'python3',
      'train.py',
      '{config}',
      '--step-delay',
      '0',
      '--fail-at-step',
      '23',
    ]);
    expect(r.code).toBe(1);
    const exp = expDirOf(r.stdout);
    const failed = readFileSync(path.join(exp, 'FAILED.txt'), 'utf8');
    // The demo's own FAILED.txt is kept: its step is the one its traceback names.
    expect(failed.split('\n')[0]).toBe('Failed at step 23');
    expect(failed).toMatch(/RuntimeError: simulated failure at step 23 /);
    expect(failed).toContain('Traceback (most recent call last):');
    expect(failed).toContain('RuntimeError');
    expect(json(path.join(exp, 'expdesk_status.json'))).toMatchObject({ state: 'failed', exit_code: 1 });
    const shown = runCli(['show', exp, '--json'], env());
    expect(JSON.parse(shown.stdout).summary).toMatchObject({ status: 'failed' });
  });

  it('a run killed with kill -9 is failed, with the last step and the log tail; a stopped run is stopped', async () => {
    const proj = project();
    const started = runIn(proj, [
      'run',
      '--detach',
      '--config',
      'configs/base.yaml',
      '--set',
      'training.max_steps=2000',
      '--',
      'python3',
      'train.py',
      '{config}',
      '--step-delay',
      '0.01',
    ]);
    expect(started.code, started.stderr).toBe(0);
    const exp = expDirOf(started.stdout);
    await waitFor(
      () =>
        existsSync(path.join(exp, 'logs', 'metrics.jsonl')) &&
        readFileSync(path.join(exp, 'logs', 'metrics.jsonl'), 'utf8').split('\n').length > 20,
    );
    const child = json(path.join(exp, 'expdesk_status.json')).child_pid as number;
    process.kill(child, 'SIGKILL');
    await waitFor(() => json(path.join(exp, 'expdesk_status.json')).state !== 'running');
    expect(json(path.join(exp, 'expdesk_status.json'))).toMatchObject({ state: 'failed', signal: 'SIGKILL' });
    const failed = readFileSync(path.join(exp, 'FAILED.txt'), 'utf8');
    expect(failed).toMatch(/^Failed at step [1-9]\d*\n/);
    expect(failed).toContain('Killed by SIGKILL');

    const second = runIn(proj, [
      'run',
      '--detach',
      '--config',
      'configs/base.yaml',
      '--set',
      'training.max_steps=2000',
      '--',
      'python3',
      'train.py',
      '{config}',
      '--step-delay',
      '0.01',
    ]);
    const exp2 = expDirOf(second.stdout);
    await waitFor(() => existsSync(path.join(exp2, 'logs', 'metrics.jsonl')));
    const stopped = runIn(proj, ['stop', exp2]);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/^stopped/);
    expect(json(path.join(exp2, 'expdesk_status.json'))).toMatchObject({ state: 'stopped' });
    expect(existsSync(path.join(exp2, 'FAILED.txt'))).toBe(false);
    expect(JSON.parse(runCli(['summarize', exp2, '--json'], env()).stdout)[0].status).toBe('stopped');
  });

  it('a run survives SIGKILL of the expdesk process, and its end still lands in the folder', async () => {
    const proj = project();
    const child = spawn(
      process.execPath,
      [
        EXPDESK_BIN,
        'run',
        '--config',
        'configs/base.yaml',
        '--set',
        'training.max_steps=60',
        '--',
        'python3',
        'train.py',
        '{config}',
        '--step-delay',
        '0.05',
      ],
      {
        cwd: proj,
        env: { ...process.env, ...env() },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('step 5/60'));
    const exp = out.split('\n')[0]!;
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    expect(json(path.join(exp, 'expdesk_status.json')).state).toBe('running');
    await waitFor(() => json(path.join(exp, 'expdesk_status.json')).state !== 'running', 30_000);
    expect(json(path.join(exp, 'expdesk_status.json'))).toMatchObject({ state: 'completed', exit_code: 0 });
    expect(json(path.join(exp, 'expdesk_status.json')).ended_at).toBeTruthy();
    expect(readFileSync(path.join(exp, 'logs', 'train.log'), 'utf8')).toContain(
      'Training complete: 60 steps',
    );
    // tail prints the finished log.
    const tail = runIn(proj, ['tail', exp]);
    expect(tail.stdout).toContain('Training complete: 60 steps');
  });

  it('records a probe that hangs as timed out instead of hanging the launch', () => {
    const proj = project();
    const fakePython = path.join(tmpDir(), 'python3');
    writeFileSync(fakePython, '#!/bin/sh\nsleep 30\n');
    chmodSync(fakePython, 0o755);
    const r = runIn(
      proj,
      [
        'run',
        '--python',
        fakePython,
        '--config',
        'configs/base.yaml',
        '--set',
        'training.max_steps=3',
        '--',
        'python3',
        'train.py',
        '{config}',
        '--step-delay',
        '0',
      ],
      {
        EXPDESK_PROBE_TIMEOUT_MS: '1000',
        EXPDESK_FREEZE_TIMEOUT_MS: '1000',
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const meta = json(path.join(expDirOf(r.stdout), 'metadata.json'));
    expect(meta.python_version).toBe('unknown');
    expect(JSON.stringify(meta.capture_warnings)).toMatch(/timed out/);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (cond()) return;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}
