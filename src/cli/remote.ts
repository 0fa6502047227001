/**
 * Remote workspaces in the CLI: every command that takes a folder also takes
 * `ssh://[user@]host[:port]/path` or `host:/path`. One SSH connection per
 * host for the whole command, closed at exit. Connection problems exit 4 with
 * one line saying what to do (unknown host key: --accept-new-host-key).
 */
import { formatRemoteLocation, withRemotePath, type RemoteLocation } from '../shared/remote-location';
import type { SshConnection } from '../main/core/remote/connection';
import { callRemote } from '../main/core/remote/remote-python';
import {
  RemoteLogFollower,
  remoteRunEnded,
  settleRemoteRun,
  type RemoteRunState,
  type RemoteRunStatus,
} from '../main/core/remote/remote-runs';
import { RemoteWorkspace } from '../main/core/remote/remote-workspace';
import { SshExecutor } from '../main/core/remote/ssh-executor';
import { sshSlurmSite } from '../main/core/remote/slurm-ssh';
import { SlurmExecutor } from '../main/core/runs/slurm-executor';
import { submitAndFollow, type SlurmTarget } from './slurm';
import { planContext, planRun } from '../main/core/runs/plan';
import { SummaryStore } from '../main/core/summary/summary-store';
import { RECENT_WRITE_MS } from '../main/core/workspace/status';
import { ExpdeskError } from '../shared/errors';
import { CliError } from './errors';
import { open } from './remote-pool';
import { attachTo, endedRunExit, followStoppable, onCtrlC, printFailure } from './run-follow';
import { describeStopped, runRequestFields, type RunCliOptions } from './run-options';
import { shellQuote } from '../shared/shell-quote';
import { logOutput, printErr, printOut } from './output';

/**
 * Print a remote log from `fromOffset` (negative: from the end) until `shouldEnd`
 * says so after a state frame; reconnects and resumes by offset on its own.
 */
async function followRemote(
  conn: SshConnection,
  expDir: string,
  fromOffset: number,
  shouldEnd: (state: RemoteRunState) => boolean,
  onHello?: (h: { exists: boolean; file: string }) => void,
  file?: string,
): Promise<RemoteRunState | null> {
  let last: RemoteRunState | null = null;
  let writing = Promise.resolve();
  const out = logOutput();
  const follower = new RemoteLogFollower(conn, expDir, {
    fromOffset,
    ...(file ? { file } : {}),
    onHello,
    onData: (_offset, data) => {
      writing = writing.then(() => out.write(data));
    },
    onState: (state) => {
      last = state;
      if (shouldEnd(state)) follower.stop();
    },
    onReconnect: (info) => {
      if (info && info.attempt > 1) process.stderr.write(`expdesk: following again (${info.error})\n`);
    },
  });
  await follower.run();
  await writing;
  await out.end();
  return last;
}

export async function remoteTailCommand(
  expDir: string,
  opts: { follow?: boolean; bytes?: number; file?: string },
): Promise<number> {
  const { loc, conn } = open(expDir);
  let stop = false;
  let missingLog = false;
  const state = await onCtrlC(
    () => (stop = true),
    () =>
      followRemote(
        conn,
        loc.path,
        -(opts.bytes ?? 64 * 1024),
        (s) => !opts.follow || stop || remoteRunEnded(s, RECENT_WRITE_MS),
        (h) => {
          if (!h.exists && !opts.follow) missingLog = true;
        },
        opts.file,
      ),
  );
  if (missingLog) throw new CliError(`${expDir} has no log (logs/train.log or logs/train_rank0.log)`);
  return opts.follow && state?.status?.state === 'failed' ? 1 : 0;
}

/**
 * `expdesk attach ssh://…`: a running run's tmux session on the remote, in
 * this terminal (detach with the tmux prefix, Ctrl-B d); the log otherwise.
 */
export async function remoteAttachCommand(expDir: string): Promise<number> {
  const { loc, conn } = open(expDir);
  let status: RemoteRunStatus | null = null;
  try {
    const file = await callRemote(
      conn,
      {
        op: 'read',
        path: `${loc.path.replace(/\/+$/, '')}/expdesk_status.json`,
        offset: 0,
        max: 1024 * 1024,
      },
      { retry: true },
    );
    if (!file.missing)
      status = JSON.parse(Buffer.from(file.data, 'base64').toString('utf8')) as RemoteRunStatus;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
  }
  return attachTo(
    expDir,
    status,
    (opts) => remoteTailCommand(expDir, opts),
    (running) =>
      running.tmux_session && process.stdin.isTTY && process.stdout.isTTY
        ? attachRemoteSession(conn, running.tmux_session)
        : remoteTailCommand(expDir, { follow: true }),
  );
}

/** A remote tmux session in this terminal, until it detaches or ends; its exit code. */
async function attachRemoteSession(conn: SshConnection, tmuxSession: string): Promise<number> {
  const session = tmuxSession.replace(/[^A-Za-z0-9_.:=-]/g, '');
  const channel = await conn.openTerminal(`exec tmux attach-session -t ${shellQuote(`=${session}`)}`, {
    rows: process.stdout.rows || 24,
    cols: process.stdout.columns || 80,
    term: process.env.TERM || 'xterm-256color',
  });
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  const onInput = (d: Buffer): void => {
    channel.write(d);
  };
  const onResize = (): void => channel.setWindow(process.stdout.rows, process.stdout.columns, 0, 0);
  stdin.on('data', onInput);
  process.stdout.on('resize', onResize);
  channel.on('data', (d: Buffer) => process.stdout.write(d));
  const code = await new Promise<number>((resolve) => {
    let exit = 0;
    channel.on('exit', (c: number | null) => (exit = c ?? 1));
    channel.on('close', () => resolve(exit));
  });
  stdin.off('data', onInput);
  process.stdout.off('resize', onResize);
  stdin.setRawMode(false);
  stdin.pause();
  return code;
}

/** The executor of runs on the host of `loc` (its state read through a workspace made when first asked). */
function executorFor(loc: RemoteLocation, conn: SshConnection): SshExecutor {
  return new SshExecutor(conn, () => new RemoteWorkspace(conn, loc, new SummaryStore()));
}

/** The login node of `location`'s host as a SLURM target (./slurm-target.ts), on this command's connection. */
export function remoteSlurmTarget(location: string, sbatch: readonly string[] = []): SlurmTarget {
  const { loc, conn } = open(location);
  return {
    executor: new SlurmExecutor(sshSlurmSite(conn), { sbatch }),
    pathOf: (l) => {
      const other = open(l);
      if (other.conn !== conn) throw new CliError(`${l} is not on ${conn.label}, where ${location} is`);
      return other.loc.path;
    },
    where: (p) => formatRemoteLocation(withRemotePath(loc, p)),
  };
}

/** `expdesk run --slurm` with an SSH workspace: sbatch on the login node (core/remote/slurm-ssh.ts). */
export async function remoteSlurmRunCommand(
  command: string[],
  opts: RunCliOptions & { sbatch?: string[] },
): Promise<number> {
  const { loc, conn } = open(opts.workspace!);
  const request = { workspace: loc.path, ...runRequestFields(command, opts) };
  const executor = new SlurmExecutor(sshSlurmSite(conn), { sbatch: opts.sbatch });
  const follow = async (expDir: string, isDone: () => boolean): Promise<void> => {
    await followRemote(conn, expDir, 0, () => isDone());
  };
  return submitAndFollow(executor, request, opts, follow, (p) =>
    formatRemoteLocation(withRemotePath(loc, p)),
  );
}

export async function remoteStopCommand(expDir: string): Promise<string> {
  const { loc, conn } = open(expDir);
  const slurm = new SlurmExecutor(sshSlurmSite(conn));
  const [folder] = await slurm.site.folders([loc.path]);
  if (folder?.record)
    return describeStopped(await slurm.cancel(slurm.handle(loc.path, folder.record.job_id)));
  const executor = executorFor(loc, conn);
  return describeStopped(await executor.cancel(executor.handle(loc.path)));
}

export async function remoteRunCommand(command: string[], opts: RunCliOptions): Promise<number> {
  const { loc, conn } = open(opts.workspace!);
  const request = { workspace: loc.path, ...runRequestFields(command, opts) };
  const executor = executorFor(loc, conn);
  const started = await executor.submit(planRun(request, planContext(request)));
  const where = formatRemoteLocation(withRemotePath(loc, started.expDir));
  for (const w of started.warnings) printErr(`${w}\n`);
  printOut(`${where}\n`);
  const holder = started.tmuxSession
    ? `tmux session ${started.tmuxSession} on ${started.hostname}`
    : `a detached session on ${started.hostname} (without tmux)`;
  if (opts.detach) {
    process.stderr.write(`expdesk: running in ${holder}; follow it with: expdesk tail --follow ${where}\n`);
    return 0;
  }
  try {
    return await followStoppable(
      () => executor.cancel(started.handle),
      async (detached) => {
        const state = await followRemote(
          conn,
          started.expDir,
          0,
          (s) => detached() || remoteRunEnded(s, RECENT_WRITE_MS),
        );
        let status = state?.status ?? null;
        // Its wrapper died without recording the end: record the run as failed there, and say so.
        if (!detached() && status?.state === 'running' && state?.pid_alive === false) {
          status = (await settleRemoteRun(conn, started.expDir)) ?? status;
          const failure = (status as { failure?: unknown }).failure;
          if (typeof failure === 'string') printFailure(failure);
        }
        if (detached() || !status || status.state === 'running') {
          process.stderr.write(`expdesk: detached; the run goes on in ${holder}: ${where}\n`);
          return 130;
        }
        return endedRunExit(status, `${where}/FAILED.txt`);
      },
    );
  } catch (err) {
    if (err instanceof ExpdeskError)
      err.message = `${err.message}\nexpdesk: the run goes on in ${holder}; re-attach with: expdesk tail --follow ${where}`;
    throw err;
  }
}
