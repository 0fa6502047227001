/**
 * Remote launches through the real `expdesk` command against a real sshd
 * (through a fault-injecting proxy): the demo's train.py in a git repository
 * on the "remote" (this machine, another folder), capture done there, the run
 * in tmux (or, without tmux, in a detached session of its own). The run must
 * survive a cut connection and a killed client, record its end in its folder,
 * and be re-attached later with `expdesk tail --follow`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as pty from 'node-pty';
import { parse as parseYaml } from 'yaml';
import { EXPDESK_BIN, REPO } from '../helpers/cli';
import { checkManifest, filesUnder, unpackBundle } from '../helpers/bundle';
import { FaultProxy } from '../helpers/fault-proxy';
import { git, initRepo } from '../helpers/git';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { tmpDir } from '../helpers/tmp';
import { SEED_METADATA_KEYS } from '../helpers/experiments';

let sshd: TestSshd;
let proxy: FaultProxy;

beforeAll(async () => {
  sshd = await startSshd();
  proxy = new FaultProxy(sshd.port, { latencyMs: 5 });
  sshd.trustPort(await proxy.listen());
});

afterAll(async () => {
  await proxy?.close();
  await sshd?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function project(): string {
  const dir = tmpDir('expdesk-rproj-');
  cpSync(path.join(REPO, 'resources/demo/configs'), path.join(dir, 'configs'), { recursive: true });
  cpSync(path.join(REPO, 'resources/demo/train.py'), path.join(dir, 'train.py'));
  initRepo(dir);
  return dir;
}

interface Running {
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  kill: (signal?: NodeJS.Signals) => void;
}

function cli(args: string[], extra: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [EXPDESK_BIN, ...args], {
    env: {
      ...process.env,
      ...sshd.env,
      EXPDESK_CACHE_DIR: tmpDir(),
      EXPDESK_SSH_RETRY_INITIAL_MS: '100',
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return {
    stdout: () => out,
    stderr: () => err,
    exited: new Promise((r) => child.on('close', (code) => r(code))),
    kill: (signal = 'SIGTERM') => child.kill(signal),
  };
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function runArgs(proj: string, steps: number, extra: string[] = []): string[] {
  return [
    'run',
    '--workspace',
    sshd.url(proj, proxy.port),
    '--config',
    path.join(proj, 'configs', 'dpo_beta0.05.yaml'),
    '--set',
    `training.max_steps=${steps}`,
    ...extra,
    '--',
    'python3',
    'train.py',
    '{config}',
    '--step-delay',
    '0.05',
  ];
}

const json = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8'));

/** The remote experiment folder: the first line of `expdesk run`, an ssh:// location. */
function expDirOf(stdout: string): string {
  const first = stdout.split('\n')[0]!;
  const prefix = sshd.url('', proxy.port);
  expect(first.startsWith(prefix)).toBe(true);
  return first.slice(prefix.length);
}

async function waitForStatus(expDir: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const file = path.join(expDir, 'expdesk_status.json');
  await until(() => existsSync(file) && json(file).state !== 'running', timeoutMs, 'the run to end');
  return json(file);
}

describe('remote runs', () => {
  it('captures on the remote, runs in tmux there, and a cut connection loses nothing', async () => {
    const proj = project();
    const run = cli(runArgs(proj, 60));
    await until(() => /step 15\/60/.test(run.stdout()), 60_000, 'step 15');
    proxy.cut();
    const code = await run.exited;
    expect(code, run.stderr()).toBe(0);
    expect(run.stderr()).toContain('connection lost');
    const exp = expDirOf(run.stdout());
    expect(path.basename(exp)).toMatch(/^exp001_dpo_tiny-llama-1m_beta0\.05_\d{4}_\d{4}$/);

    const status = json(path.join(exp, 'expdesk_status.json'));
    expect(status).toMatchObject({ state: 'completed', exit_code: 0 });
    expect(status.tmux_session).toMatch(/^expdesk-exp001_/);
    // The terminal saw exactly the log's bytes, despite the cut.
    const printed = Buffer.from(run.stdout(), 'latin1');
    const firstNl = printed.indexOf(10);
    expect(printed.subarray(firstNl + 1).equals(readFileSync(path.join(exp, 'logs', 'train.log')))).toBe(
      true,
    );

    const meta = json(path.join(exp, 'metadata.json'));
    expect(Object.keys(meta).slice(0, 10)).toEqual(SEED_METADATA_KEYS);
    expect(meta).toMatchObject({
      name: path.basename(exp),
      git_hash: git(proj, 'rev-parse', 'HEAD').trim(),
      git_dirty: false,
      torch_version: 'not installed',
      cwd: proj,
      remote: { host: `${sshd.user}@127.0.0.1:${proxy.port}` },
    });
    const frozen = parseYaml(readFileSync(path.join(exp, 'config.yaml'), 'utf8')) as {
      experiment: { name: string; output_dir: string };
      training: { max_steps: number };
    };
    expect(frozen.experiment).toMatchObject({ name: path.basename(exp), output_dir: exp });
    expect(frozen.training.max_steps).toBe(60);
    for (const f of ['requirements.txt', 'reproduce.sh', 'checkpoints/final', 'logs/metrics.jsonl'])
      expect(existsSync(path.join(exp, f)), f).toBe(true);
    // The tmux session ended with the run; the wrapper's script and spec are gone.
    const has = spawnSync('tmux', ['has-session', '-t', `=${String(status.tmux_session)}`], {
      env: { ...process.env, TMUX_TMPDIR: sshd.tmuxDir },
    });
    expect(has.status).not.toBe(0);
  }, 120_000);

  it('survives a killed client and a dropped link in tmux; `tail --follow` re-attaches until the end', async () => {
    const proj = project();
    const run = cli(runArgs(proj, 80));
    await until(() => /step 10\/80/.test(run.stdout()), 60_000, 'step 10');
    run.kill('SIGKILL');
    proxy.cut();
    await run.exited;
    const exp = expDirOf(run.stdout());
    const status = json(path.join(exp, 'expdesk_status.json'));
    expect(status.state).toBe('running');
    const tmuxEnv = { ...process.env, TMUX_TMPDIR: sshd.tmuxDir };
    expect(
      spawnSync('tmux', ['has-session', '-t', `=${String(status.tmux_session)}`], { env: tmuxEnv }).status,
    ).toBe(0);

    const tail = cli(['tail', '--follow', sshd.url(exp, proxy.port)]);
    await until(() => tail.stdout().includes('step 40/80'), 60_000, 'the re-attached tail');
    proxy.cut();
    expect(await tail.exited, tail.stderr()).toBe(0);
    expect(tail.stdout()).toContain('Training complete: 80 steps');
    expect(json(path.join(exp, 'expdesk_status.json'))).toMatchObject({ state: 'completed', exit_code: 0 });
    const list = cli(['list', sshd.url(proj, proxy.port), '--json']);
    expect(await list.exited).toBe(0);
    expect(JSON.parse(list.stdout()).experiments[0]).toMatchObject({ status: 'completed', total_steps: 80 });
  }, 120_000);

  it('without tmux, a detached session of its own survives the client and records exit and failure', async () => {
    const proj = project();
    const noTmux = { EXPDESK_REMOTE_NO_TMUX: '1' };
    const run = cli(runArgs(proj, 40, ['--name', 'failing']).concat(['--fail-at-step', '25']), noTmux);
    await until(() => /step 5\/40/.test(run.stdout()), 60_000, 'step 5');
    run.kill('SIGKILL');
    proxy.cut();
    await run.exited;
    const exp = expDirOf(run.stdout());
    expect(path.basename(exp)).toBe('failing');
    const status = await waitForStatus(exp, 60_000);
    expect(status).toMatchObject({ state: 'failed', exit_code: 1, tmux_session: null });
    expect(readFileSync(path.join(exp, 'FAILED.txt'), 'utf8')).toMatch(/^Failed at step 2[45]\n/);

    // Stop a long detached run from another command: SIGINT first, recorded as stopped.
    const long = cli(runArgs(proj, 2000, ['--detach']), noTmux);
    expect(await long.exited, long.stderr()).toBe(0);
    expect(long.stderr()).toContain('expdesk tail --follow');
    const longExp = expDirOf(long.stdout());
    await until(() => existsSync(path.join(longExp, 'logs', 'metrics.jsonl')), 30_000, 'the first metrics');
    const stop = cli(['stop', sshd.url(longExp, proxy.port)]);
    expect(await stop.exited, stop.stderr()).toBe(0);
    expect(stop.stdout()).toMatch(/^stopped/);
    expect(json(path.join(longExp, 'expdesk_status.json'))).toMatchObject({ state: 'stopped' });
  }, 120_000);

  it('`expdesk attach` shows the remote tmux session in this terminal; Ctrl-B d leaves the run going', async () => {
    const proj = project();
    const run = cli(runArgs(proj, 400, ['--detach']));
    expect(await run.exited, run.stderr()).toBe(0);
    const exp = expDirOf(run.stdout());
    const term = pty.spawn(process.execPath, [EXPDESK_BIN, 'attach', sshd.url(exp, proxy.port)], {
      name: 'xterm-256color',
      cols: 120,
      rows: 30,
      env: { ...process.env, ...sshd.env, EXPDESK_CACHE_DIR: tmpDir() } as Record<string, string>,
    });
    let screen = '';
    term.onData((d) => (screen += d));
    const exited = new Promise<number>((r) => term.onExit((e) => r(e.exitCode)));
    try {
      await until(() => /step \d+\/400/.test(screen), 60_000, 'the tmux screen');
      term.write('\x02d'); // the tmux prefix, then d: detach
      expect(await exited).toBe(0);
    } finally {
      term.kill();
    }
    expect(screen).toMatch(/detached/);
    expect(json(path.join(exp, 'expdesk_status.json')).state).toBe('running');
    const stop = cli(['stop', sshd.url(exp, proxy.port)]);
    expect(await stop.exited, stop.stderr()).toBe(0);
    expect(stop.stdout()).toMatch(/^stopped/);
  }, 120_000);

  it('`expdesk export ssh://…` bundles a remote run with its source, the same files as a local export', async () => {
    const proj = project();
    writeFileSync(path.join(proj, 'notes.md'), 'an untracked file, recorded in the patch\n');
    const run = cli(runArgs(proj, 20, ['--seed', '7']));
    expect(await run.exited, run.stderr()).toBe(0);
    const exp = expDirOf(run.stdout());
    const out = tmpDir();
    const remote = cli(['export', sshd.url(exp, proxy.port), '-o', path.join(out, 'remote.zip')]);
    expect(await remote.exited, remote.stderr()).toBe(0);
    expect(remote.stdout()).toContain('source: included');
    const local = cli(['export', exp, '-o', path.join(out, 'local.zip')]);
    expect(await local.exited, local.stderr()).toBe(0);
    const remoteDir = await unpackBundle(path.join(out, 'remote.zip'), path.join(out, 'r'));
    const localDir = await unpackBundle(path.join(out, 'local.zip'), path.join(out, 'l'));
    expect(checkManifest(remoteDir)).toContain('source/train.py'); // throws on a bad checksum
    // Same files with the same bytes, the source tree included (bundle.json names where the source came from).
    const files = filesUnder(remoteDir).filter(
      (f) => f !== 'bundle.json' && f !== 'MANIFEST' && f !== 'README.md',
    );
    expect(files).toEqual(
      filesUnder(localDir).filter((f) => f !== 'bundle.json' && f !== 'MANIFEST' && f !== 'README.md'),
    );
    expect(files.some((f) => f.startsWith('source/') && f.endsWith('train.py'))).toBe(true);
    // reproduce.sh carries the export's own time; everything else is the run's bytes.
    for (const f of files.filter((f) => f !== 'reproduce.sh'))
      expect(readFileSync(path.join(remoteDir, f)).equals(readFileSync(path.join(localDir, f))), f).toBe(
        true,
      );
  }, 120_000);

  it('a bad config fails before anything is created on the remote', async () => {
    const proj = project();
    writeFileSync(path.join(proj, 'configs', 'bad.yaml'), 'defaults: [base]\ntraining: {max_stepz: 3}\n');
    const r = cli([
      'run',
      '--workspace',
      sshd.url(proj, proxy.port),
      '--config',
      path.join(proj, 'configs', 'base.yaml'),
      '--set',
      'training.max_stepz=3',
      '--',
      'python3',
      'train.py',
    ]);
    expect(await r.exited).toBe(2);
    expect(r.stderr()).toContain('max_stepz');
    expect(existsSync(path.join(proj, 'experiments'))).toBe(false);
  }, 60_000);

  it('the wrapper samples the remote machine into logs/system.jsonl; show --json summarises it over SSH', async () => {
    const proj = project();
    const run = cli(runArgs(proj, 15, ['--system-interval', '0.2']));
    expect(await run.exited, run.stderr()).toBe(0);
    const exp = expDirOf(run.stdout());
    const lines = readFileSync(path.join(exp, 'logs', 'system.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(lines.length).toBeGreaterThan(0);
    const last = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    expect(last).toMatchObject({ prefix: 'system' });
    expect(last['system/mem_total_mb']).toBeGreaterThan(0);
    const show = cli(['show', '--json', sshd.url(exp, proxy.port)]);
    expect(await show.exited, show.stderr()).toBe(0);
    const system = (JSON.parse(show.stdout()) as { system: Record<string, { count: number }> }).system;
    expect(system['system/mem_total_mb']!.count).toBe(lines.length);
  }, 120_000);
});
