/**
 * Runs on a remote workspace: launch, follow, stop.
 *
 * Launch is two round trips. The run is planned HERE (core/runs/plan.ts, the
 * same plan as a local run, from the local config file). Then `prepare` runs
 * on the remote: it creates expNNN_… atomically (mkdir) and captures git
 * state and the uncommitted patch (throwaway index, as capture/git.ts), the
 * interpreter, pip freeze, conda and the machine — all there, where the run
 * will execute. The plan's pure functions turn plan and capture into the
 * files; `start` writes config.yaml, metadata.json, requirements.txt and
 * reproduce.sh, and starts resources/runner/expdesk_run.py (sent along,
 * deleted once loaded) in `tmux new-session -d`, or where tmux is missing in
 * a detached session of its own (setsid): either way the run survives the SSH
 * link and the laptop, and its wrapper records exit status, end time and
 * FAILED.txt in the folder.
 *
 * Following (re-attaching) is one long-running command (`follow`) that
 * streams the log's new bytes with their offsets and the run's state; when
 * the link drops it is restarted from the last offset received, so no byte is
 * lost or doubled.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClientChannel } from 'ssh2';
import { remoteBasename, remoteDirname, remoteJoin } from '../../../shared/remote-location';
import { runnerScript, systemSamplerScript } from '../app/paths';
import { freezeTimeoutMs, probeTimeoutMs, PYTHON_PROBE } from '../capture/python';
import { tmuxSessionName } from '../runs/launch';
import {
  captureWarnings,
  gitWarnings,
  LaunchError,
  placeRun,
  runMetadata,
  runReproduceScript,
  type RunPlan,
  type TargetCapture,
} from '../runs/plan';
import {
  ConnectionLostError,
  RemoteUnreachableError,
  SshPermanentError,
  type SshConnection,
} from './connection';
import { FollowFrame, type FollowRequest, type RemoteRunState, type RemoteRunStatus } from './protocol';
import {
  afterMarker,
  callRemote,
  checkVersion,
  describeIssue,
  helperCommand,
  RemoteOpError,
  RemoteProtocolError,
  wireRequest,
} from './remote-python';

export type { RemoteRunState, RemoteRunStatus };

export interface FollowOptions {
  /** Log file name under logs/ (default train.log, else train_rank0.log). */
  file?: string;
  /** Where to start; negative: that many bytes before the end. */
  fromOffset?: number;
  onData: (offset: number, data: Buffer) => void;
  onState?: (state: RemoteRunState) => void;
  onHello?: (hello: { file: string; offset: number; exists: boolean; expDir: string; size: number }) => void;
  /** Only the run's state, no log bytes (watching a run's status). */
  statusOnly?: boolean;
  /** A reconnection is under way (attempt) or done (null). */
  onReconnect?: (info: { attempt: number; error: string } | null) => void;
  pollMs?: number;
  heartbeatMs?: number;
}

type Frame = FollowFrame;

/** One header line of the follow stream, checked against the protocol (and the helper's version on hello). */
function parseFrame(line: string): Frame {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new RemoteProtocolError(`malformed frame in follow: not JSON: ${line.slice(0, 200)}`);
  }
  const parsed = FollowFrame.safeParse(raw);
  if (!parsed.success)
    throw new RemoteProtocolError(`malformed frame in follow: ${describeIssue(parsed.error)}`);
  if (parsed.data.t === 'hello') checkVersion('the remote', 'follow', parsed.data.v);
  return parsed.data;
}

/** Splits the follow stream into frames: a JSON header line, then (for data) its bytes. */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);
  private seenMarker = false;
  private pendingData: { o: number; n: number } | null = null;

  constructor(
    private readonly onFrame: (f: Frame) => void,
    private readonly onBytes: (offset: number, data: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (!this.seenMarker) {
      const rest = afterMarker(this.buf);
      if (!rest) return;
      this.seenMarker = true;
      this.buf = rest;
    }
    for (;;) {
      if (this.pendingData) {
        if (this.buf.length < this.pendingData.n) return;
        const data = this.buf.subarray(0, this.pendingData.n);
        this.buf = this.buf.subarray(this.pendingData.n);
        const { o } = this.pendingData;
        this.pendingData = null;
        this.onBytes(o, Buffer.from(data));
        continue;
      }
      const nl = this.buf.indexOf(10);
      if (nl < 0) return;
      const line = this.buf.toString('utf8', 0, nl);
      this.buf = this.buf.subarray(nl + 1);
      const frame = parseFrame(line);
      if (frame.t === 'data') this.pendingData = { o: frame.o, n: frame.n };
      else this.onFrame(frame);
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Follow a remote log by byte offset across dropped connections. `offset` is
 * the next byte expected; every byte is delivered once, in order.
 */
export class RemoteLogFollower {
  offset: number | null = null;
  reconnects = 0;
  private stopped = false;
  private channel: ClientChannel | null = null;

  constructor(
    private readonly conn: SshConnection,
    private readonly expDir: string,
    private readonly opts: FollowOptions,
  ) {}

  /** Runs until stop(); rejects when the remote is gone for good or the folder is missing. */
  async run(): Promise<void> {
    let failures = 0;
    let lastError = '';
    while (!this.stopped) {
      let progressed = false;
      try {
        const outcome = await this.once(() => (progressed = true));
        if (outcome === 'stopped' || this.stopped) return;
        lastError = outcome;
      } catch (err) {
        if (
          err instanceof RemoteOpError ||
          err instanceof SshPermanentError ||
          err instanceof RemoteUnreachableError
        )
          throw err;
        if ((err as { kind?: string }).kind?.startsWith('host-key')) throw err;
        lastError = (err as Error).message;
      }
      if (this.stopped) return;
      this.reconnects++;
      failures = progressed ? 1 : failures + 1;
      this.opts.onReconnect?.({ attempt: failures, error: lastError });
      if (this.conn.connected) {
        // The link is up but the follower ended: the helper itself failed; do not spin.
        if (failures > 5)
          throw new Error(`following the log on ${this.conn.label} keeps failing: ${lastError}`);
        await sleep(Math.min(200 * 2 ** failures, 5000));
      }
      // When the link is down, the next openStream waits for ensureConnected's backoff.
    }
  }

  /** One follow command; resolves 'stopped', or a reason when the stream ended by itself. */
  private async once(onProgress: () => void): Promise<string> {
    const heartbeatMs = this.opts.heartbeatMs ?? 2000;
    const request: FollowRequest = {
      op: 'follow',
      exp_dir: this.expDir,
      file: this.opts.file ?? null,
      offset: this.offset ?? this.opts.fromOffset ?? 0,
      poll_ms: this.opts.pollMs ?? 200,
      heartbeat_ms: heartbeatMs,
      status_only: this.opts.statusOnly ?? false,
    };
    const channel = await this.conn.openStream(helperCommand(), wireRequest(request));
    if (this.offset !== null) this.opts.onReconnect?.(null);
    this.channel = channel;
    if (this.stopped) {
      channel.close();
      return 'stopped';
    }
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      let stderr = '';
      let errorFrame: Error | null = null;
      // A link that stalls without closing (no frame for several heartbeats) is dropped and re-made.
      const stallMs = heartbeatMs * 3 + 5000;
      let watchdog = setTimeout(stall, stallMs);
      function stall(): void {
        channel.close();
        conn.dropLink();
      }
      const conn = this.conn;
      const feed = (): void => {
        clearTimeout(watchdog);
        watchdog = setTimeout(stall, stallMs);
      };
      const parser = new FrameParser(
        (f) => {
          feed();
          if (f.t === 'hello') {
            this.offset = this.offset ?? f.offset;
            this.opts.onHello?.({
              file: f.file,
              offset: f.offset,
              exists: f.exists,
              expDir: f.exp_dir,
              size: f.size,
            });
          } else if (f.t === 'reset') {
            this.offset = 0;
          } else if (f.t === 'state') {
            onProgress();
            const { t: _t, ...state } = f;
            this.opts.onState?.(state);
          } else if (f.t === 'error') {
            errorFrame = new RemoteOpError(f.code, f.message);
          }
        },
        (o, data) => {
          feed();
          onProgress();
          const at = this.offset ?? o;
          // Only bytes at or after the next expected offset; never a gap or a double.
          if (o + data.length <= at) return;
          const slice = o < at ? data.subarray(at - o) : data;
          this.offset = Math.max(at, o) + slice.length;
          this.opts.onData(Math.max(at, o), slice);
        },
      );
      const done = (reason: string | Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        if (this.channel === channel) this.channel = null;
        if (reason instanceof Error) reject(reason);
        else resolve(reason);
      };
      channel.on('data', (d: Buffer) => {
        try {
          parser.push(d);
        } catch (err) {
          done(new Error(`garbled follow stream from ${conn.label}: ${(err as Error).message}`));
          channel.close();
        }
      });
      channel.stderr.on('data', (d: Buffer) => {
        if (stderr.length < 16 * 1024) stderr += d.toString('utf8');
      });
      channel.on('close', () => {
        if (errorFrame) return done(errorFrame);
        if (this.stopped) return done('stopped');
        done(stderr.trim().split('\n').pop() || 'the follow stream ended');
      });
      channel.on('error', (err: Error) => done(new ConnectionLostError(err.message)));
    });
  }

  stop(): void {
    this.stopped = true;
    const ch = this.channel;
    this.channel = null;
    if (ch) {
      try {
        ch.end(); // the helper sees its stdin close and exits
        ch.close();
      } catch {
        // already gone
      }
    }
  }
}

export interface RemoteRunStarted {
  /** The remote experiment folder (absolute path on the remote). */
  expDir: string;
  name: string;
  warnings: string[];
  tmuxSession: string | null;
  hostname: string;
}

function remoteExperimentsDir(workspace: string): string {
  return remoteBasename(workspace) === 'experiments' ? workspace : remoteJoin(workspace, 'experiments');
}

function remoteProjectDir(workspace: string): string {
  return remoteBasename(workspace) === 'experiments' ? remoteDirname(workspace) : workspace;
}

/** A plan prepared on the remote: its folder made and captured there, the files to write into it. */
export interface RemotePrepared {
  expDir: string;
  name: string;
  cwd: string;
  warnings: string[];
  /** The command with its placeholders replaced, and what its environment adds. */
  command: string[];
  runEnv: Record<string, string>;
  /** config.yaml, metadata.json, requirements.txt, reproduce.sh (and conda_env.txt): base64 data. */
  files: Array<{ path: string; data: string; mode: number }>;
  tmux: boolean;
}

/**
 * A run plan's SSH half, before anything starts: `prepare` makes the folder
 * and captures the target there; the files the plan writes are put together
 * here (the same pure functions as a local launch). Shared by the SSH
 * executor (which then `start`s the wrapper) and SLURM over SSH (which
 * submits it).
 */
export async function prepareRemoteRun(conn: SshConnection, plan: RunPlan): Promise<RemotePrepared> {
  // The name's time is the remote's clock (MMDD_HHMM appended there), like started_at.
  const experimentsDir = remoteExperimentsDir(plan.workspace);
  const prep = await callRemote(
    conn,
    {
      op: 'prepare',
      experiments_dir: experimentsDir,
      base: plan.naming.unstamped,
      name: plan.naming.explicit,
      cwd: plan.cwd ?? remoteProjectDir(plan.workspace),
      python: plan.python,
      refuse_dirty: plan.refuseDirty,
      patch_limit: plan.patchLimitBytes,
      probe: PYTHON_PROBE,
      probe_timeout_ms: probeTimeoutMs(),
      freeze_timeout_ms: freezeTimeoutMs(),
    },
    { retry: false },
  ).catch((err: unknown) => {
    if (err instanceof RemoteOpError && err.code === 'bad-request') throw new LaunchError(err.message);
    throw err;
  });

  const expDir = prep.exp_dir;
  const placed = placeRun(plan, { name: prep.name, expDir, join: remoteJoin });
  const warnings = [
    ...plan.warnings,
    ...gitWarnings(plan, prep.git, `${prep.cwd} on ${prep.sys.hostname}`),
    ...captureWarnings(plan.python, prep.py, prep.freeze, prep.patch),
  ];
  const capture: TargetCapture = {
    startedAt: prep.started_at,
    cwd: prep.cwd,
    git: prep.git,
    py: prep.py,
    sys: prep.sys,
    patch: prep.patch,
    env: prep.env,
  };
  const metadata = runMetadata(plan, placed, capture, warnings, {
    remote: { host: conn.label, config_composed_on: os.hostname() },
  });
  const reproduce = runReproduceScript(plan, placed, capture, path.posix.relative);
  const file = (name: string, data: string, mode = 0o644): { path: string; data: string; mode: number } => ({
    path: remoteJoin(expDir, name),
    data: Buffer.from(data).toString('base64'),
    mode,
  });
  const files = [
    file('config.yaml', placed.frozenConfig),
    file('metadata.json', JSON.stringify(metadata, null, 2) + '\n'),
    file('requirements.txt', prep.freeze.text),
    file('reproduce.sh', reproduce, 0o755),
  ];
  if (prep.conda !== null) files.push(file('conda_env.txt', prep.conda));
  return {
    expDir,
    name: prep.name,
    cwd: prep.cwd,
    warnings,
    command: placed.command,
    runEnv: placed.env,
    files,
    tmux: prep.tmux,
  };
}

/**
 * A run plan's SSH half (SshExecutor's submit): prepared (prepareRemoteRun),
 * then `start` writes the files and starts the wrapper. Resolves once the
 * wrapper has written its status.
 */
export async function startRemoteRun(
  conn: SshConnection,
  plan: RunPlan,
  opts: { tmux?: boolean; stopTimeouts?: [number, number] } = {},
): Promise<RemoteRunStarted> {
  const { expDir, name, cwd, warnings, command, runEnv, files, tmux } = await prepareRemoteRun(conn, plan);
  const useTmux = (opts.tmux ?? true) && process.env.EXPDESK_REMOTE_NO_TMUX !== '1' && tmux;
  const started = await callRemote(
    conn,
    {
      op: 'start',
      files,
      runner: readFileSync(runnerScript()).toString('base64'),
      runner_modules: runnerModules(),
      system_interval: plan.systemInterval,
      spec: {
        exp_dir: expDir,
        cwd,
        argv: command,
        env_extra: runEnv,
        stop_timeouts: opts.stopTimeouts ?? [10, 10],
      },
      tmux: useTmux,
      session: tmuxSessionName(name),
    },
    { retry: false },
  );
  return {
    expDir,
    name,
    warnings,
    tmuxSession: started.tmux_session,
    hostname: started.hostname,
  };
}

/** The modules the wrapper imports (the system sampler), sent with it and written beside it there. */
function runnerModules(): Record<string, string> {
  return { 'expdesk_system.py': readFileSync(systemSamplerScript()).toString('base64') };
}

/** Stop a remote run (SIGUSR1 to its wrapper, which escalates); resolves with the final status. */
export async function stopRemoteRun(
  conn: SshConnection,
  expDir: string,
  waitMs = 30_000,
): Promise<RemoteRunStatus | null> {
  const r = await callRemote(
    conn,
    { op: 'stop', exp_dir: expDir, wait_ms: waitMs },
    { retry: false, timeoutMs: waitMs + 60_000 },
  );
  return r.status;
}

/**
 * When a remote run's wrapper died without recording the end, record it there
 * as failed (FAILED.txt and status), proven by the launch's record on that
 * host; resolves with the status (unchanged while the wrapper lives).
 */
export async function settleRemoteRun(conn: SshConnection, expDir: string): Promise<RemoteRunStatus | null> {
  const r = await callRemote(
    conn,
    { op: 'stop', exp_dir: expDir, settle: true },
    { retry: false, timeoutMs: 90_000 },
  );
  return r.status;
}

/** Whether a followed run has ended, by the same rules as the local `expdesk tail --follow`. */
export function remoteRunEnded(state: RemoteRunState, recentWriteMs: number): boolean {
  const s = state.status;
  if (s && typeof s === 'object' && 'state' in s) {
    if (s.state === 'queued') return false; // a SLURM job not started yet: its log is to come
    if (s.state !== 'running') return true;
    return state.pid_alive === false; // running, but its process is gone and nothing was recorded
  }
  if (state.failed || state.final) return true;
  return state.last_write_ms === null || state.now_ms - state.last_write_ms >= recentWriteMs;
}
