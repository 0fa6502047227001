/**
 * A real single-node SLURM cluster for tests, in a temp folder: munged with
 * its own key and socket, slurmctld and slurmd in the foreground (-D) on free
 * ports, as root (SlurmUser=root), with no cgroups and no accounting
 * (jobcomp/filetxt, so `sacct -c` answers for ended jobs). Clients reach it
 * through SLURM_CONF (`env`). stop() cancels the jobs still there, then ends
 * every daemon by its pid.
 *
 * `slurmSkipReason()` says why the cluster cannot run here (not root, a
 * binary missing); tests skip with it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './sshd';

const BINARIES = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scancel', 'scontrol', 'sacct'];

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin']))
    if (dir && existsSync(path.join(dir, cmd))) return path.join(dir, cmd);
  return null;
}

/** Why a real cluster cannot be started here, or null. */
export function slurmSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'SLURM tests need root (slurmd runs jobs as root here)';
  const missing = BINARIES.filter((b) => !which(b));
  return missing.length
    ? `SLURM tests skipped: ${missing.join(', ')} not installed (scripts/bootstrap.sh)`
    : null;
}

/** `expdesk run --slurm --detach` of the project's job.py (its gate file as argument) into `workspace`. */
export function slurmRunArgs(
  workspace: string,
  project: string,
  gate: string,
  extra: string[] = [],
): string[] {
  return [
    'run',
    '--slurm',
    '--detach',
    '--workspace',
    workspace,
    '--config',
    path.join(project, 'configs/ppo.yaml'),
    ...extra,
    '--',
    'python3',
    path.join(project, 'job.py'),
    gate,
  ];
}

export interface TestSlurm {
  dir: string;
  conf: string;
  /** Environment for clients (the CLI, sbatch, squeue): SLURM_CONF. */
  env: Record<string, string>;
  /** Run a client command against this cluster; its stdout. */
  cmd(argv: string[]): string;
  /** The daemons' logs (for a failing test). */
  logs(): string;
  stop(): Promise<void>;
}

async function waitFor(what: string, check: () => boolean, ms: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms / 1000} s\n${logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startSlurm(): Promise<TestSlurm> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-slurm-'));
  const p = (f: string): string => path.join(dir, f);
  for (const d of ['state', 'spool']) mkdirSync(p(d));
  writeFileSync(p('munge.key'), randomBytes(1024), { mode: 0o600 });
  const host = os.hostname().split('.')[0]!;
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const conf = p('slurm.conf');
  writeFileSync(
    conf,
    [
      `ClusterName=expdesk${ctldPort}`,
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${p('munge.sock')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/filetxt',
      `JobCompLoc=${p('jobcomp.txt')}`,
      'JobAcctGatherType=jobacct_gather/none',
      'MpiDefault=none',
      'ReturnToService=2',
      // Ended jobs stay in squeue for a while (the default); a time limit is enforced within seconds.
      'MinJobAge=300',
      'KillWait=5',
      'OverTimeLimit=0',
      'InactiveLimit=0',
      `StateSaveLocation=${p('state')}`,
      `SlurmdSpoolDir=${p('spool')}`,
      `SlurmctldPidFile=${p('slurmctld.pid')}`,
      `SlurmdPidFile=${p('slurmd.pid')}`,
      `SlurmctldLogFile=${p('slurmctld.log')}`,
      `SlurmdLogFile=${p('slurmd.log')}`,
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${os.cpus().length} State=UNKNOWN`,
      // Jobs share the node's few cores (tests run several small jobs at once).
      'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8',
      '',
    ].join('\n'),
  );
  const env = { SLURM_CONF: conf };
  const children: ChildProcess[] = [];
  const start = (bin: string, args: string[]): void => {
    const child = spawn(which(bin) ?? bin, args, { stdio: 'ignore', env: { ...process.env, ...env } });
    child.on('error', () => undefined);
    children.push(child);
  };
  const logs = (): string =>
    ['munged.log', 'slurmctld.log', 'slurmd.log']
      .map((f) => `--- ${f}\n${existsSync(p(f)) ? readFileSync(p(f), 'utf8').slice(-3000) : '(none)'}`)
      .join('\n');
  const cmd = (argv: string[]): string =>
    execFileSync(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });

  const stop = async (): Promise<void> => {
    // The jobs first: a job's step daemon and processes outlive slurmd when it stops before them
    // (a test that failed half-way would leave its job running into the next tests).
    const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
    if (running.length === 3) {
      // munged, slurmctld and slurmd all up: the cluster can still cancel its jobs.
      try {
        cmd(['scancel', '--full', '--user', os.userInfo().username]);
        await waitFor(
          'the jobs ending',
          () => cmd(['squeue', '-h', '-t', 'PENDING,RUNNING,SUSPENDED,COMPLETING']).trim() === '',
          20_000,
          logs,
        );
      } catch {
        // a cluster that does not answer any more: its daemons are stopped below all the same
      }
    }
    for (const c of children.reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    start('munged', [
      '-F',
      '-f',
      `--socket=${p('munge.sock')}`,
      `--key-file=${p('munge.key')}`,
      `--pid-file=${p('munged.pid')}`,
      `--log-file=${p('munged.log')}`,
      `--seed-file=${p('munged.seed')}`,
    ]);
    await waitFor('munged', () => existsSync(p('munge.sock')), 30_000, logs);
    start('slurmctld', ['-D', '-f', conf]);
    start('slurmd', ['-D', '-f', conf]);
    await waitFor(
      'the node becoming idle',
      () => {
        try {
          return /idle/.test(cmd(['sinfo', '-h', '-o', '%T']));
        } catch {
          return false;
        }
      },
      60_000,
      logs,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, conf, env, cmd, logs, stop };
}
