/**
 * `expdesk run`, `expdesk stop`, `expdesk tail`: launching and following runs
 * from a terminal. The experiment folder's path is printed on a line of its
 * own before any of the run's output, so scripts can pick it up.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { LogTail, tailOffset } from '../main/core/logs/log-tail';
import { readStatusFile, settleDeadWrapper, type RunStatus } from '../main/core/runs/control';
import { tmuxAvailable, tmuxSessionAlive } from '../main/core/runs/launch';
import { LocalExecutor } from '../main/core/runs/local-executor';
import { planContext, planRun } from '../main/core/runs/plan';
import { traceStartup } from '../main/core/runs/startup-trace';
import { RECENT_WRITE_MS } from '../main/core/workspace/status';
import { byLocation } from '../main/core/backend/resolve';
import { CliError } from './errors';
import { logOutput, printErr } from './output';
import { attachTo, endedRunExit, followStoppable, onCtrlC, printFailure } from './run-follow';
import { describeStopped, runRequestFields, type RunCliOptions } from './run-options';
import type { SlurmCliOptions } from './slurm';

export { runRequestFields, type RunCliOptions } from './run-options';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Copy a log to stdout from `offset` until the run has ended and every byte is out.
 * With `watchWrapper`, a wrapper that dies without recording the end ends the
 * follow too, with the run recorded as failed (settleDeadWrapper).
 */
async function follow(
  expDir: string,
  file: string,
  offset: number,
  isDone: () => boolean,
  watchWrapper = false,
): Promise<RunStatus | null> {
  // Confined to the experiment: a log linked out of it is refused, never shown.
  const tail = new LogTail(file, offset, expDir);
  const out = logOutput();
  for (let i = 0; ; i++) {
    // Read the status before the log: bytes written before the end are then surely read.
    let status = readStatusFile(expDir);
    if (watchWrapper && status?.state === 'running' && i % 5 === 4)
      status = (await settleDeadWrapper(expDir)) ?? status;
    // A queued job (SLURM) has not started: its log is yet to come.
    const ended = isDone() || (status !== null && status.state !== 'running' && status.state !== 'queued');
    let chunk;
    while ((chunk = await tail.read())) await out.write(chunk.data);
    if (tail.refused) throw new CliError(tail.refused);
    if (ended) {
      await out.end();
      return status;
    }
    await sleep(100);
  }
}

/**
 * The SSH run commands when `location` is served by the SSH backend (loaded
 * only then: it pulls in ssh2), else null for this machine's. Where a location
 * lives is decided by core/backend/resolve.ts, never here.
 */
async function sshRunsFor(location: string | undefined): Promise<typeof import('./remote') | null> {
  if (location === undefined) return null;
  type SshRuns = typeof import('./remote');
  return byLocation<() => Promise<SshRuns> | null>(location, {
    local: () => null,
    ssh: () => import('./remote'),
  })();
}

/** Follow a run's train.log from its start until `isDone` (a SLURM job's end, as its scheduler says). */
async function followRunLog(expDir: string, isDone: () => boolean): Promise<void> {
  await follow(expDir, path.join(expDir, 'logs', 'train.log'), 0, isDone);
}

export async function runCommand(command: string[], opts: RunCliOptions & SlurmCliOptions): Promise<number> {
  if (opts.slurm) {
    const sshSlurm = await sshRunsFor(opts.workspace);
    if (sshSlurm) return sshSlurm.remoteSlurmRunCommand(command, opts);
    return (await import('./slurm')).slurmRunCommand(command, opts, followRunLog);
  }
  if (opts.sbatch?.length) throw new CliError('--sbatch options need --slurm');
  const ssh = await sshRunsFor(opts.workspace);
  if (ssh) return ssh.remoteRunCommand(command, opts);
  if (opts.detach && !tmuxAvailable()) {
    throw new CliError(
      '--detach needs tmux, so that the run outlives this command; install tmux (apt-get install tmux) or run in the foreground',
    );
  }
  traceStartup('node started', performance.timeOrigin);
  traceStartup('modules loaded, arguments parsed');
  const request = { workspace: opts.workspace ?? process.cwd(), ...runRequestFields(command, opts) };
  const executor = new LocalExecutor();
  const plan = planRun(request, planContext(request));
  traceStartup('config composed');
  const run = await executor.submit(plan);
  for (const w of run.warnings) printErr(`${w}\n`);
  process.stdout.write(`${run.expDir}\n`);
  if (run.diesWithExpdesk) {
    process.stderr.write(
      'expdesk: tmux is not installed: this run stops if expdesk exits (install tmux to keep runs alive)\n',
    );
  }
  // The tmux client's screen is not ours to print: the log is the exact byte stream.
  run.terminal.onData(() => undefined);
  if (opts.detach) {
    process.stderr.write(
      `expdesk: running in tmux session ${run.tmuxSession}; follow it with: expdesk tail --follow ${run.expDir}\n`,
    );
    run.terminal.kill();
    return 0;
  }

  try {
    return await followStoppable(
      () => executor.cancel(run.handle),
      async (detached) => {
        const status = await follow(
          run.expDir,
          path.join(run.expDir, 'logs', 'train.log'),
          0,
          detached,
          true,
        );
        if (detached() || !status || status.state === 'running') {
          process.stderr.write(`expdesk: detached; the run goes on in ${run.expDir}\n`);
          return 130;
        }
        if (status.failure) printFailure(status.failure);
        if (status.log_bytes_lost)
          process.stderr.write(
            `expdesk: ${status.log_bytes_lost} bytes of the run's output are missing from its log (the disk was full or failing)\n`,
          );
        return endedRunExit(status, path.join(run.expDir, 'FAILED.txt'));
      },
    );
  } finally {
    if (!run.diesWithExpdesk) run.terminal.kill();
  }
}

/**
 * Re-attach a terminal to a run: its tmux session where it has one (the live,
 * interactive terminal), else follow its log until it ends.
 */
export async function attachCommand(expDir: string): Promise<number> {
  const ssh = await sshRunsFor(expDir);
  if (ssh) return ssh.remoteAttachCommand(expDir);
  const dir = path.resolve(expDir);
  return attachTo(
    dir,
    readStatusFile(dir),
    (opts) => tailCommand(dir, opts),
    (status) => {
      if (status.tmux_session && tmuxSessionAlive(status.tmux_session)) {
        // tmux needs our terminal: hand it over (detach with the tmux prefix, Ctrl-B d).
        const r = spawnSync('tmux', ['attach-session', '-t', `=${status.tmux_session}`], {
          stdio: 'inherit',
        });
        return Promise.resolve(r.status ?? 1);
      }
      return tailCommand(dir, { follow: true });
    },
  );
}

export async function stopCommand(expDir: string): Promise<string> {
  const ssh = await sshRunsFor(expDir);
  if (ssh) return ssh.remoteStopCommand(expDir);
  const slurm = await import('./slurm');
  if (slurm.isSlurmExperiment(expDir)) return slurm.slurmStopCommand(expDir);
  return describeStopped(await new LocalExecutor().cancel(LocalExecutor.handle(expDir)));
}

/** The log a tail shows: `file` when given, else train.log, else rank 0's (as the seed's Logger writes it). */
function logOf(expDir: string, file?: string): string {
  for (const name of file ? [file] : ['train.log', 'train_rank0.log']) {
    const p = path.join(expDir, 'logs', name);
    if (existsSync(p)) return p;
  }
  return path.join(expDir, 'logs', 'train.log');
}

/**
 * A folder written by the seed's code has no status file: it is followed
 * while it looks alive — no FAILED.txt, no final checkpoint, and a log write
 * within RECENT_WRITE_MS (the same rule `expdesk list` uses to infer "running").
 */
function seedRunLooksAlive(dir: string, log: string): boolean {
  if (existsSync(path.join(dir, 'FAILED.txt')) || existsSync(path.join(dir, 'checkpoints', 'final')))
    return false;
  const mtimes = [log, path.join(dir, 'logs', 'metrics.jsonl')].map((f) =>
    existsSync(f) ? statSync(f).mtimeMs : 0,
  );
  return Date.now() - Math.max(...mtimes) < RECENT_WRITE_MS;
}

export async function resubmitCommand(
  expDir: string,
  opts: { detach?: boolean; sbatch?: string[] },
): Promise<number> {
  if (await sshRunsFor(expDir))
    throw new CliError('resubmit of an SSH workspace is not supported yet: run expdesk on the login node');
  return (await import('./slurm')).resubmitCommand(expDir, opts, followRunLog);
}

export async function tailCommand(
  expDir: string,
  opts: { follow?: boolean; bytes?: number; rank?: number },
): Promise<number> {
  const ssh = await sshRunsFor(expDir);
  const rankFile =
    opts.rank === undefined ? undefined : await (await import('./rank-log')).rankLogName(expDir, opts.rank);
  if (ssh) return ssh.remoteTailCommand(expDir, { ...opts, file: rankFile });
  const dir = path.resolve(expDir);
  if (!existsSync(dir)) throw new CliError(`no such folder: ${dir}`);
  const file = logOf(dir, rankFile);
  if (!existsSync(file) && !opts.follow)
    throw new CliError(`${dir} has no log (logs/train.log or logs/train_rank0.log)`);
  const start = await tailOffset(file, opts.bytes ?? 64 * 1024, dir);
  if (!opts.follow) {
    await follow(dir, file, start, () => true);
    return 0;
  }
  let stop = false;
  const status = await onCtrlC(
    () => (stop = true),
    () =>
      follow(dir, file, start, () => stop || (readStatusFile(dir) === null && !seedRunLooksAlive(dir, file))),
  );
  return status?.state === 'failed' ? 1 : 0;
}
