/**
 * Reading and steering runs through their folders: the status file, stop
 * (SIGUSR1 to the run's wrapper, which escalates SIGINT → SIGTERM → SIGKILL
 * on the command's process group), and waiting for the end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readRegularFileSync } from '../fs/safe-read';
import { LAYOUT } from '../workspace/layout';
import { parseStatusFile, type StatusFile } from '../workspace/status';
import { ExpdeskError } from '../../../shared/errors';

export type RunStatus = StatusFile & { child_pid?: number | null };

export function readStatusFile(expDir: string): RunStatus | null {
  try {
    // Only a regular file, opened without blocking (a planted FIFO must not hang stop), 1 MiB at most.
    const raw: unknown = JSON.parse(
      readRegularFileSync(fs, path.join(expDir, LAYOUT.status), 1024 * 1024, LAYOUT.status).toString('utf8'),
    );
    const parsed = parseStatusFile(raw);
    if (!parsed.value) return null;
    const childPid = (raw as { child_pid?: unknown }).child_pid;
    return { ...parsed.value, child_pid: typeof childPid === 'number' ? childPid : null };
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class RunControlError extends ExpdeskError {
  constructor(message: string) {
    super('bad-request', message);
  }
}

/** Ask a run to stop. Resolves with the status once it has ended (or the wait timed out). */
export async function stopRun(expDir: string, waitMs = 30_000): Promise<RunStatus | null> {
  const status = readStatusFile(expDir);
  if (!status)
    throw new RunControlError(
      `${expDir} has no ${LAYOUT.status}: it was not started by Expdesk, so Expdesk cannot stop it`,
    );
  if (status.state !== 'running') return status;
  if (status.hostname && status.hostname !== os.hostname()) {
    throw new RunControlError(
      `the run is on ${status.hostname}; stop it from there (or through its remote workspace)`,
    );
  }
  if (status.pid && alive(status.pid)) {
    process.kill(status.pid, 'SIGUSR1');
  } else if (status.child_pid && alive(status.child_pid)) {
    // The wrapper is gone but the command lives on: signal its group ourselves.
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
      try {
        process.kill(-status.child_pid, sig);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 5000));
      if (!alive(status.child_pid)) break;
    }
    return readStatusFile(expDir);
  } else {
    throw new RunControlError(`the run's process ${status.pid ?? '?'} is gone and no exit was recorded`);
  }
  return waitForEnd(expDir, waitMs);
}

export async function waitForEnd(expDir: string, waitMs: number, pollMs = 100): Promise<RunStatus | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const s = readStatusFile(expDir);
    if (s && s.state !== 'running') return s;
    if (Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
