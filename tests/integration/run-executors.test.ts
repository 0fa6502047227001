/**
 * The executor interface (core/runs/executor.ts) for many runs at once: one
 * query answers for every handle, in order — locally from the status files,
 * and over a real sshd in a single remote command however many runs (what a
 * scheduler's executor must do too: one squeue for all jobs). A run submitted
 * from a plan is found again through its handle, which survives JSON; and
 * `expdesk run` here and over SSH writes the same plan (seed, overrides,
 * frozen config) with the same dirty-tree warning.
 */
import { appendFileSync, cpSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnection } from '../../src/main/core/remote/connection';
import { RemoteWorkspace } from '../../src/main/core/remote/remote-workspace';
import { SshExecutor } from '../../src/main/core/remote/ssh-executor';
import type { RunHandle, RunStateReport } from '../../src/main/core/runs/executor';
import { LocalExecutor } from '../../src/main/core/runs/local-executor';
import { DIRTY_TREE_WARNING, planContext, planRun } from '../../src/main/core/runs/plan';
import { SummaryStore } from '../../src/main/core/summary/summary-store';
import { parseRemoteLocation } from '../../src/shared/remote-location';
import { parse as parseYaml } from 'yaml';
import { REPO, runCli } from '../helpers/cli';
import { writeExperiment } from '../helpers/experiments';
import { initRepo } from '../helpers/git';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { tmpDir } from '../helpers/tmp';

let sshd: TestSshd;
beforeAll(async () => {
  sshd = await startSshd();
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
});

const ENDED = [
  { state: 'completed', exit_code: 0, signal: null },
  { state: 'failed', exit_code: 3, signal: null },
  { state: 'stopped', exit_code: null, signal: 'SIGINT' },
] as const;

/** 24 finished runs of every kind, and 3 old folders with no status file; the expected report of each. */
function workspace(): { root: string; dirs: string[]; expected: RunStateReport[] } {
  const root = path.join(tmpDir('expdesk-exec-'), 'experiments');
  mkdirSync(root, { recursive: true });
  const dirs: string[] = [];
  const expected: RunStateReport[] = [];
  for (let i = 0; i < 27; i++) {
    const dir = path.join(root, `exp${String(i + 1).padStart(3, '0')}_r`);
    const ended = i < 24 ? ENDED[i % 3]! : null;
    writeExperiment(dir, {
      metrics: '{"step": 1, "loss": 0.5}\n',
      status: ended ? { schema: 'expdesk.status/1', pid: null, hostname: null, ...ended } : undefined,
    });
    // Written long ago: a folder without a status file is not taken for a live seed-style run.
    const old = new Date(Date.now() - 3600_000);
    if (!ended) utimesSync(path.join(dir, 'logs', 'metrics.jsonl'), old, old);
    dirs.push(dir);
    expected.push({
      state: ended?.state ?? 'unknown',
      exitCode: ended?.exit_code ?? null,
      signal: ended?.signal ?? null,
      error: null,
    });
  }
  return { root, dirs, expected };
}

describe('run executors', { timeout: 180_000 }, () => {
  it('a local query answers for many handles at once, in order, through handles that survive JSON', async () => {
    const { dirs, expected } = workspace();
    const executor = new LocalExecutor();
    const handles = JSON.parse(JSON.stringify(dirs.map((d) => LocalExecutor.handle(d)))) as RunHandle[];
    expect(await executor.query(handles)).toEqual(expected);
    // A handle of another executor is refused, not misread.
    await expect(executor.query([{ kind: 'ssh', expDir: dirs[0]!, ids: {} }])).rejects.toThrow(
      "a ssh run's handle was given to the local executor",
    );
  });

  it('an SSH query answers for many handles in one remote command', async () => {
    const { root, dirs, expected } = workspace();
    const conn = new SshConnection(
      { host: '127.0.0.1', user: sshd.user, port: sshd.port },
      {
        configFile: sshd.sshConfig,
        knownHostsFiles: [sshd.knownHosts],
        identityFiles: [sshd.identity],
        agent: null,
      },
    );
    try {
      const ws = new RemoteWorkspace(
        conn,
        parseRemoteLocation(sshd.url(root))!,
        new SummaryStore({ cacheDir: tmpDir('expdesk-exec-rc-') }),
      );
      const executor = new SshExecutor(conn, () => ws);
      const handles = JSON.parse(JSON.stringify(dirs.map((d) => executor.handle(d)))) as RunHandle[];
      expect(await executor.query(handles.slice(0, 1))).toEqual(expected.slice(0, 1)); // connected, helper checked
      const before = conn.stats.execs;
      expect(await executor.query(handles)).toEqual(expected);
      expect(conn.stats.execs - before).toBe(1);
      // Twice as many runs: still one command.
      const again = conn.stats.execs;
      expect(await executor.query([...handles, ...handles])).toEqual([...expected, ...expected]);
      expect(conn.stats.execs - again).toBe(1);
      // A folder that is gone is reported as such, the others still answered.
      const gone = executor.handle(path.join(root, 'exp999_gone'));
      const reports = await executor.query([handles[0]!, gone]);
      expect(reports[0]).toEqual(expected[0]);
      expect(reports[1]!.state).toBe('unknown');
      expect(reports[1]!.error).toMatch(/exp999_gone/);
    } finally {
      conn.close();
    }
  });

  it('a plan submitted locally is found again by its handle and ends completed', async () => {
    const proj = tmpDir('expdesk-exec-proj-');
    cpSync(path.join(REPO, 'resources/demo/configs'), path.join(proj, 'configs'), { recursive: true });
    writeFileSync(path.join(proj, 'hello.py'), 'import sys\nprint("hello from", sys.argv[1])\n');
    initRepo(proj);
    const request = {
      workspace: proj,
      configFile: path.join(proj, 'configs', 'base.yaml'),
      command: ['python3', 'hello.py', '{config}'],
    };
    const executor = new LocalExecutor({ tmux: false });
    const run = await executor.submit(planRun(request, planContext(request)));
    try {
      expect(run.handle).toEqual({ kind: 'local', expDir: run.expDir, ids: {} });
      const handle = JSON.parse(JSON.stringify(run.handle)) as RunHandle;
      let report: RunStateReport;
      do {
        await new Promise((r) => setTimeout(r, 100));
        [report] = (await executor.query([handle])) as [RunStateReport];
      } while (report.state === 'running');
      expect(report).toEqual({ state: 'completed', exitCode: 0, signal: null, error: null });
    } finally {
      run.terminal.kill();
    }
  });

  it('`expdesk run` here and over SSH plan the same run from the same request, with one dirty-tree warning', () => {
    const proj = tmpDir('expdesk-exec-same-');
    cpSync(path.join(REPO, 'resources/demo/configs'), path.join(proj, 'configs'), { recursive: true });
    writeFileSync(path.join(proj, 'hello.py'), 'import sys\nprint("hello from", sys.argv[1])\n');
    initRepo(proj);
    appendFileSync(path.join(proj, 'hello.py'), '# an uncommitted change\n');
    const args = (workspace: string): string[] => [
      'run',
      '--workspace',
      workspace,
      '--config',
      path.join(proj, 'configs', 'dpo_beta0.05.yaml'),
      '--set',
      'training.lr=0.5',
      '--seed',
      '11',
      '--',
      'python3',
      'hello.py',
      '{config}',
      '--seed={seed}',
    ];
    const env = {
      ...sshd.env,
      EXPDESK_CACHE_DIR: tmpDir(),
      EXPDESK_NO_TMUX: '1',
      EXPDESK_REMOTE_NO_TMUX: '1',
    };
    const local = runCli(args(proj), env);
    expect(local.stderr).toContain(DIRTY_TREE_WARNING);
    expect(local.code).toBe(0);
    const remote = runCli(args(sshd.url(proj)), env);
    expect(remote.stderr).toContain(DIRTY_TREE_WARNING);
    expect(remote.code).toBe(0);

    const localDir = local.stdout.split('\n')[0]!;
    const remoteDir = remote.stdout.split('\n')[0]!.slice(sshd.url('').length);
    expect(path.basename(localDir)).toMatch(/^exp001_dpo_tiny-llama-1m_beta0.05_\d{4}_\d{4}$/);
    expect(path.basename(remoteDir)).toMatch(/^exp002_dpo_tiny-llama-1m_beta0.05_\d{4}_\d{4}$/);
    const meta = (dir: string): Record<string, unknown> =>
      JSON.parse(readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as Record<string, unknown>;
    const planned = (m: Record<string, unknown>): unknown[] => [
      m.seed,
      m.command_template,
      m.overrides,
      m.config_source,
      m.config_files,
      m.git_dirty,
    ];
    expect(planned(meta(remoteDir))).toEqual(planned(meta(localDir)));
    expect(meta(localDir).capture_warnings).toContain(DIRTY_TREE_WARNING);
    expect(meta(remoteDir).capture_warnings).toContain(DIRTY_TREE_WARNING);
    expect(meta(remoteDir).command_argv).toEqual([
      'python3',
      'hello.py',
      path.join(remoteDir, 'config.yaml'),
      '--seed=11',
    ]);
    // The same frozen config, but for the folder it names.
    const frozen = (dir: string): Record<string, unknown> => {
      const c = parseYaml(readFileSync(path.join(dir, 'config.yaml'), 'utf8')) as Record<string, unknown>;
      expect(c.experiment).toEqual({ name: path.basename(dir), output_dir: dir });
      return { ...c, experiment: null };
    };
    expect(frozen(remoteDir)).toEqual(frozen(localDir));
    expect(frozen(localDir)).toMatchObject({ training: { lr: 0.5, seed: 11 } });
  });
});
