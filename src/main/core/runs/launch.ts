/**
 * Starting a prepared run so that it outlives Expdesk. The run's owner is the
 * wrapper resources/runner/expdesk_run.py (stdlib Python): it runs the
 * command in a pty of its own, appends every byte to logs/train.log and
 * records exit code, end time, status and FAILED.txt in the folder itself.
 *
 * The wrapper is started through node-pty. Where tmux exists the pty holds a
 * tmux client of a new session running the wrapper: killing Expdesk (even
 * with SIGKILL) only ends that client, the session and the run go on, and
 * Expdesk re-attaches with `tmux attach`. Where tmux is missing the wrapper
 * runs directly under Expdesk's pty, and quitting Expdesk stops the run (the
 * wrapper records it as stopped) — callers say so plainly.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as pty from 'node-pty';
import { runnerScript } from '../app/paths';
import { readStatusFile } from './control';
import type { PreparedRun } from './prepare';
import { runRecordFile } from './run-record';
import { wrapperPython } from './runner-python';
import { trackCapture } from './pending-captures';
import { startupTraceFile, traceStartup } from './startup-trace';

let tmuxChecked: boolean | undefined;

/** Whether tmux can be used (EXPDESK_NO_TMUX=1 forces the plain mode, for tests and users who prefer it). */
export function tmuxAvailable(): boolean {
  if (process.env.EXPDESK_NO_TMUX === '1') return false;
  if (tmuxChecked === undefined) {
    try {
      execFileSync('tmux', ['-V'], { stdio: 'ignore', timeout: 5000 });
      tmuxChecked = true;
    } catch {
      tmuxChecked = false;
    }
  }
  return tmuxChecked;
}

let tmuxCheck: Promise<boolean> | undefined;

/**
 * tmuxAvailable without blocking: the executor starts it with the capture,
 * so that the launch finds it answered rather than waiting on `tmux -V`.
 */
export function tmuxAvailableSoon(): Promise<boolean> {
  if (process.env.EXPDESK_NO_TMUX === '1') return Promise.resolve(false);
  if (tmuxChecked !== undefined) return Promise.resolve(tmuxChecked);
  tmuxCheck ??= new Promise((resolve) =>
    execFile('tmux', ['-V'], { timeout: 5000 }, (err) => {
      tmuxChecked ??= !err;
      resolve(tmuxChecked);
    }),
  );
  return tmuxCheck;
}

/** tmux session names may not contain '.' or ':'. */
export function tmuxSessionName(expName: string): string {
  return `expdesk-${expName}`.replace(/[.:]/g, '_');
}

export interface LaunchOptions {
  /** Seconds after SIGINT before SIGTERM, and after SIGTERM before SIGKILL, when stopping. */
  stopTimeouts?: [number, number];
  cols?: number;
  rows?: number;
  /** Use tmux when available (default true). */
  tmux?: boolean;
  /** Seconds between system samples (the plan's systemInterval); 0: none; default the wrapper's 10. */
  systemInterval?: number;
}

export interface LaunchedRun {
  expDir: string;
  name: string;
  tmuxSession: string | null;
  /** The terminal holding the run (the tmux client, or the wrapper itself). */
  terminal: pty.IPty;
  /** True when quitting this process stops the run (no tmux). */
  diesWithExpdesk: boolean;
}

/** The interpreter for the wrapper itself (any Python 3; not necessarily the run's). */
export function runnerPython(): string {
  return process.env.EXPDESK_RUNNER_PYTHON || 'python3';
}

/** What the run wrapper is started with (its spec file): the run, its environment, where to record itself. */
export function wrapperSpec(
  prepared: PreparedRun,
  session: string | null,
  stopTimeouts: [number, number],
  sweep?: unknown,
): Record<string, unknown> {
  return {
    exp_dir: prepared.expDir,
    cwd: prepared.cwd,
    argv: prepared.command,
    env: prepared.env,
    tmux_session: session,
    stop_timeouts: stopTimeouts,
    // Where the wrapper proves the run is Expdesk's (outside the folder): see run-record.ts.
    record_file: runRecordFile(prepared.expDir),
    ...(sweep ? { sweep } : {}),
    ...(startupTraceFile() ? { trace_file: startupTraceFile() } : {}),
  };
}

function writeSpec(prepared: PreparedRun, session: string | null, stopTimeouts: [number, number]): string {
  // The spec holds the full environment of the run: private folder, private file, deleted by the wrapper.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-launch-'));
  const file = path.join(dir, 'spec.json');
  writeFileSync(file, JSON.stringify(wrapperSpec(prepared, session, stopTimeouts)), { mode: 0o600 });
  return file;
}

/** The wrapper's --system-interval argument (none: its default). */
export function systemIntervalArgs(seconds: number | undefined): string[] {
  return seconds === undefined ? [] : ['--system-interval', String(seconds)];
}

export async function launchRun(prepared: PreparedRun, options: LaunchOptions = {}): Promise<LaunchedRun> {
  const useTmux = (options.tmux ?? true) && (await tmuxAvailableSoon());
  const session = useTmux ? tmuxSessionName(prepared.name) : null;
  const specFile = writeSpec(prepared, session, options.stopTimeouts ?? [10, 10]);
  const cols = options.cols ?? 160;
  const rows = options.rows ?? 50;
  // The interpreter itself, not a version manager's shim (./runner-python.ts); -S: the wrapper is
  // stdlib only, so site-packages' .pth files (which import packages) are not read.
  const interpreter = wrapperPython();
  const wrapper = [
    interpreter.python,
    '-S',
    runnerScript(),
    ...systemIntervalArgs(options.systemInterval),
    specFile,
  ];
  const env = outsideTmuxEnv();
  env.TERM = env.TERM && env.TERM !== 'dumb' ? env.TERM : 'xterm-256color';

  const terminal = session
    ? pty.spawn(
        'tmux',
        ['new-session', '-s', session, '-x', String(cols), '-y', String(rows), '--', ...wrapper],
        {
          name: 'xterm-256color',
          cols,
          rows,
          cwd: prepared.cwd,
          env,
        },
      )
    : pty.spawn(wrapper[0]!, wrapper.slice(1), {
        name: 'xterm-256color',
        cols,
        rows,
        cwd: prepared.cwd,
        env,
      });

  traceStartup('wrapper spawned');
  let early = '';
  const collect = terminal.onData((d) => {
    if (early.length < 16 * 1024) early += d;
  });
  let exited: { exitCode: number } | null = null;
  const onExit = terminal.onExit((e) => (exited = e));
  try {
    // The run has started once the wrapper has written its status file.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const status = readStatusFile(prepared.expDir);
      if (status) break;
      if (exited || Date.now() > deadline) {
        rmSync(path.dirname(specFile), { recursive: true, force: true });
        const why = exited
          ? `it exited with code ${(exited as { exitCode: number }).exitCode}`
          : 'it did not start within 15 s';
        throw new Error(
          `the run wrapper failed to start (${why})${early.trim() ? `: ${early.trim().slice(-2000)}` : ''}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    collect.dispose();
    onExit.dispose();
  }
  rmSync(path.dirname(specFile), { recursive: true, force: true });
  // Learned beside the run, for the next start.
  if (interpreter.learn) trackCapture(interpreter.learn());
  return {
    expDir: prepared.expDir,
    name: prepared.name,
    tmuxSession: session,
    terminal,
    diesWithExpdesk: !session,
  };
}

/**
 * Resolves once the run's log has its first byte, or after `limitMs`: work
 * that should not compete with the command's own startup for the CPU (the
 * deferred environment capture) waits for this, never longer than the limit.
 */
export async function firstOutput(expDir: string, limitMs = 2000): Promise<void> {
  const log = path.join(expDir, 'logs', 'train.log');
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    try {
      if (statSync(log).size > 0) return;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Attach a terminal to a run still alive in tmux (after Expdesk restarted). */
export function attachTerminal(session: string, cols = 160, rows = 50): pty.IPty {
  const env = outsideTmuxEnv();
  return pty.spawn('tmux', ['attach-session', '-t', session], { name: 'xterm-256color', cols, rows, env });
}

/** This process's environment without tmux's own variables (a run never joins the caller's tmux). */
export function outsideTmuxEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && k !== 'TMUX' && k !== 'TMUX_PANE') env[k] = v;
  return env;
}

export function tmuxSessionAlive(session: string): boolean {
  try {
    execFileSync('tmux', ['has-session', '-t', `=${session}`], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
