/**
 * Reading and steering runs through their folders: the status file, stop
 * (SIGUSR1 to the run's wrapper, which escalates SIGINT → SIGTERM → SIGKILL
 * on the command's process group), and waiting for the end.
 *
 * The status file is in the experiment folder and is not trusted: a process
 * is signalled only when Expdesk's own record of the run (run-record.ts)
 * proves it is the run's. A wrapper that died without recording the end
 * (kill -9, out of memory) is noticed the same way, and the run is recorded
 * as failed here, in the wrapper's stead.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openRegular, readRegularFileSync } from '../fs/safe-read';
import { LAYOUT } from '../workspace/layout';
import { writeAtomic } from '../workspace/fs-batch';
import { parseStatusFile, type StatusFile } from '../workspace/status-file';
import { ExpdeskError } from '../../../shared/errors';
import {
  readRunRecord,
  removeRunRecord,
  signalRecordedGroup,
  stillRunning,
  type RunRecord,
} from './run-record';

export type RunStatus = StatusFile & {
  child_pid?: number | null;
  /** Output the wrapper could not write to logs/train.log (full disk, I/O error). */
  log_bytes_lost?: number | null;
  /** Why Expdesk, not the wrapper, recorded the end (the wrapper died). */
  failure?: string | null;
};

export function readStatusFile(expDir: string): RunStatus | null {
  try {
    // Only a regular file, opened without blocking (a planted FIFO must not hang stop), 1 MiB at most.
    const raw: unknown = JSON.parse(
      readRegularFileSync(fs, path.join(expDir, LAYOUT.status), 1024 * 1024, LAYOUT.status).toString('utf8'),
    );
    const parsed = parseStatusFile(raw);
    if (!parsed.value) return null;
    const { child_pid: childPid, log_bytes_lost: lost, failure } = raw as Record<string, unknown>;
    return {
      ...parsed.value,
      child_pid: typeof childPid === 'number' ? childPid : null,
      log_bytes_lost: typeof lost === 'number' ? lost : null,
      failure: typeof failure === 'string' ? failure : null,
    };
  } catch {
    return null;
  }
}

export class RunControlError extends ExpdeskError {
  constructor(message: string) {
    super('bad-request', message);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Expdesk's record of the running run in `expDir`, or a refusal: the status
 * file alone never makes a process signallable.
 */
function provenRecord(expDir: string, status: RunStatus): RunRecord {
  const rec = readRunRecord(expDir);
  const host = rec?.hostname ?? status.hostname;
  if (host && host !== os.hostname()) {
    throw new RunControlError(`the run is on ${host}; stop it from there (or through its remote workspace)`);
  }
  if (!rec) {
    const named = status.pid ?? status.child_pid;
    throw new RunControlError(
      `${expDir} was not started by Expdesk on this machine; refusing to signal ${named ? `pid ${named}` : 'any process'} (its ${LAYOUT.status} is not proof: Expdesk keeps its own record of the runs it starts)`,
    );
  }
  return rec;
}

/** Ask a run to stop. Resolves with the status once it has ended (or the wait timed out). */
export async function stopRun(expDir: string, waitMs = 30_000): Promise<RunStatus | null> {
  const status = readStatusFile(expDir);
  if (!status)
    throw new RunControlError(
      `${expDir} has no ${LAYOUT.status}: it was not started by Expdesk, so Expdesk cannot stop it`,
    );
  if (status.state === 'queued' && status.sweep && !status.job_id) {
    // A local sweep member that has not started: its queue skips it from now on (./sweep-queue.ts).
    // (A job queued on a scheduler is cancelled by its executor, never here.)
    const now = localIso(new Date());
    const next = { ...status, state: 'stopped', ended_at: now, stop_requested_at: now, updated_at: now };
    await writeAtomic(path.join(expDir, LAYOUT.status), JSON.stringify(next, null, 2) + '\n');
    return readStatusFile(expDir);
  }
  if (status.state !== 'running') return status;
  const rec = provenRecord(expDir, status);
  if (stillRunning(rec, rec.wrapper) && rec.wrapper.pid > 1 && rec.wrapper.pid !== process.pid) {
    process.kill(rec.wrapper.pid, 'SIGUSR1');
    return waitForEnd(expDir, waitMs);
  }
  // The wrapper is gone without recording the end (or was never seen): settle it here.
  return (await settleDeadWrapper(expDir, 'stopped')) ?? readStatusFile(expDir);
}

/**
 * Wait for the run to end; a wrapper that dies meanwhile (it can no longer
 * record the end) ends the wait with the run recorded as failed.
 */
export async function waitForEnd(expDir: string, waitMs: number, pollMs = 100): Promise<RunStatus | null> {
  const deadline = Date.now() + waitMs;
  for (let i = 0; ; i++) {
    const s = readStatusFile(expDir);
    if (s && s.state !== 'running') return s;
    if (s && i % 5 === 4) {
      const settled = await settleDeadWrapper(expDir);
      if (settled) return settled;
    }
    if (Date.now() > deadline) return s;
    await sleep(pollMs);
  }
}

/**
 * When the run in `expDir` is recorded as running but Expdesk's record shows
 * its wrapper is gone (or its pid now belongs to another process), end it in
 * the wrapper's stead: stop the command's group if it lives on, write
 * FAILED.txt in the seed's form and mark the status failed (or `stopped` when
 * the user asked for the stop). Resolves with the new status, or null when
 * the wrapper lives, the run already ended, or Expdesk has no record of it.
 */
export async function settleDeadWrapper(
  expDir: string,
  as: 'failed' | 'stopped' = 'failed',
): Promise<RunStatus | null> {
  const rec = readRunRecord(expDir);
  if (!rec || rec.hostname !== os.hostname()) return null;
  if (stillRunning(rec, rec.wrapper)) return null;
  // The wrapper records the end, then deletes its record, then exits: read the status after the check.
  const status = readStatusFile(expDir);
  if (!status || status.state !== 'running') return null;

  let commandNote = 'its command had ended too';
  if (stillRunning(rec, rec.child)) {
    commandNote = 'Expdesk stopped its command (process group ' + String(rec.child!.pgid) + ')';
    for (const [sig, waitMs] of [
      ['SIGINT', 5000],
      ['SIGTERM', 5000],
      ['SIGKILL', 5000],
    ] as const) {
      if (!signalRecordedGroup(rec, sig)) break;
      const until = Date.now() + waitMs;
      while (stillRunning(rec, rec.child) && Date.now() < until) await sleep(100);
      if (!stillRunning(rec, rec.child)) break;
    }
  }
  const state = as === 'stopped' ? 'stopped' : 'failed';
  const why = `Expdesk's run wrapper (pid ${rec.wrapper.pid}) died without recording the end of the run (killed, or out of memory or disk); ${commandNote}.`;
  const lost = status.log_bytes_lost
    ? ` ${status.log_bytes_lost} bytes of its output never reached the log.`
    : '';
  const statusFile = path.join(expDir, LAYOUT.status);
  let writing = path.join(expDir, LAYOUT.failed);
  try {
    if (state === 'failed') {
      const text = `Failed at step ${await lastStep(expDir)}\n${await failureText(expDir, why + lost)}`;
      await writeAtomic(writing, text);
    }
    writing = statusFile;
    const raw = JSON.parse(
      readRegularFileSync(fs, statusFile, 1024 * 1024, LAYOUT.status).toString('utf8'),
    ) as Record<string, unknown>;
    const ended = localIso(new Date());
    const next = {
      ...raw,
      state,
      ended_at: ended,
      exit_code: null,
      signal: null,
      failure: why,
      updated_at: ended,
    };
    await writeAtomic(statusFile, JSON.stringify(next, null, 2) + '\n');
  } catch (err) {
    throw new RunControlError(
      `${why} Expdesk cannot record that in ${writing}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  removeRunRecord(expDir);
  return readStatusFile(expDir);
}

/** The seed's timestamps: Python's datetime.now().isoformat(), local time, microseconds. */
function localIso(d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds() * 1000, 6)}`
  );
}

/** The last `size` bytes of a file, empty when it is missing: never the whole of a huge log. */
async function readTail(file: string, size = 256 * 1024): Promise<Buffer> {
  let fh;
  try {
    // Regular files only, opened without blocking: a planted FIFO must not hang the settling.
    const opened = await openRegular(file);
    fh = opened.fh;
    const total = opened.stat.size;
    const start = Math.max(0, total - size);
    const buf = Buffer.alloc(total - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    return buf.subarray(0, bytesRead);
  } catch {
    return Buffer.alloc(0);
  } finally {
    await fh?.close();
  }
}

/** The step of the last record in logs/metrics.jsonl, 0 if none (as the wrapper writes FAILED.txt). */
async function lastStep(expDir: string): Promise<number> {
  const lines = (await readTail(path.join(expDir, 'logs', 'metrics.jsonl'))).toString('utf8').split('\n');
  for (const line of lines.reverse()) {
    try {
      const rec: unknown = JSON.parse(line);
      const step = (rec as { step?: unknown } | null)?.step;
      if (typeof step === 'number' && Number.isFinite(step)) return Math.trunc(step);
    } catch {
      // a torn or foreign line: look further up
    }
  }
  return 0;
}

// eslint-disable-next-line no-control-regex -- terminal escapes are what is being removed
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g;

/** What the wrapper would have written below "Failed at step N": why, then the log's traceback or last lines. */
async function failureText(expDir: string, describe: string): Promise<string> {
  const tail = (await readTail(path.join(expDir, 'logs', 'train.log')))
    .toString('utf8')
    .replace(ANSI, '')
    .replace(/\r\n/g, '\n');
  const at = tail.lastIndexOf('Traceback (most recent call last):');
  if (at >= 0) return `${describe}\n${tail.slice(at).trimEnd()}\n`;
  const last = tail
    .split('\n')
    .map((l) => l.split('\r').pop()!)
    .slice(-40)
    .join('\n')
    .trim();
  return `${describe}\nNo Python traceback in the log; its last lines:\n${last}\n`;
}
