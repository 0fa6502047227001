/**
 * Proof that a process is a run Expdesk started. The status file lives in the
 * experiment folder, which is not trusted (folders are downloaded, copied,
 * shared): its pids are never signalled on its word. At launch the run
 * wrapper (resources/runner/expdesk_run.py) writes a record into Expdesk's own
 * state directory (userStateDir()/runs, outside every experiment folder),
 * atomically, keyed by the experiment folder's real path: its host and boot,
 * and for the wrapper and the command it runs their pid, start time and
 * process group as the kernel reports them (/proc/<pid>/stat fields 22 and 5).
 *
 * A process is the run's only while all of these still match: a reused pid
 * has another start time, a planted status file has no record at all. The
 * wrapper deletes its record once it has recorded the run's end.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { userStateDir } from '../app/paths';

export const RUN_RECORD_SCHEMA = 'expdesk.run-record/1';

const RecordedProcess = z.object({
  pid: z.number().int().min(2),
  /** Start time: /proc/<pid>/stat field 22 (clock ticks since boot), or `ps -o lstart` without /proc. */
  start: z.string().min(1),
  pgid: z.number().int().min(2),
});
export type RecordedProcess = z.infer<typeof RecordedProcess>;

const RunRecord = z.object({
  schema: z.literal(RUN_RECORD_SCHEMA),
  /** The experiment folder's real path. */
  exp_dir: z.string().min(1),
  hostname: z.string(),
  /** /proc/sys/kernel/random/boot_id ('' where there is none): start times count from boot. */
  boot_id: z.string(),
  wrapper: RecordedProcess,
  /** The command, leader of a process group (and session) of its own: pgid === pid. */
  child: RecordedProcess.nullable(),
  tmux_session: z.string().nullable(),
});
export type RunRecord = z.infer<typeof RunRecord>;

function realDir(expDir: string): string {
  try {
    return realpathSync(expDir);
  } catch {
    return path.resolve(expDir);
  }
}

/** Where the record of the run in `expDir` is kept (the wrapper is told this path at launch). */
export function runRecordFile(expDir: string): string {
  const key = createHash('sha256').update(realDir(expDir)).digest('hex');
  return path.join(userStateDir(), 'runs', `${key}.json`);
}

/** The record Expdesk kept for the run in `expDir`, or null when Expdesk did not start one there. */
export function readRunRecord(expDir: string): RunRecord | null {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(runRecordFile(expDir), 'utf8'));
  } catch {
    return null;
  }
  const parsed = RunRecord.safeParse(raw);
  if (!parsed.success || parsed.data.exp_dir !== realDir(expDir)) return null;
  return parsed.data;
}

export interface ProcessIdentity {
  start: string;
  pgid: number;
  /** A zombie has ended: it only waits to be reaped. */
  zombie: boolean;
}

/** What the kernel says of `pid` now, or null when there is no such process. */
export function processIdentity(pid: number): ProcessIdentity | null {
  if (!Number.isInteger(pid) || pid < 1) return null;
  let stat: string | null = null;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && process.platform === 'linux') return null;
  }
  if (stat !== null) {
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses; fields count from after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgid = Number(fields[2]);
    const start = fields[19];
    if (!Number.isInteger(pgid) || !start) return null;
    return { start, pgid, zombie: fields[0] === 'Z' };
  }
  try {
    // No /proc (macOS): the same two facts from ps, as the wrapper records them there.
    const out = execFileSync('ps', ['-o', 'pgid=,stat=,lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      timeout: 5000,
    }).trim();
    const m = /^(\d+)\s+(\S+)\s+(.+)$/.exec(out);
    if (!m) return null;
    return { pgid: Number(m[1]), zombie: m[2]!.startsWith('Z'), start: m[3]!.replace(/\s+/g, ' ') };
  } catch {
    return null;
  }
}

let cachedBootId: string | undefined;
export function bootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = '';
    }
  }
  return cachedBootId;
}

/** Whether the record was made on this machine since it last booted. */
export function recordIsFromHere(rec: RunRecord): boolean {
  return rec.hostname === os.hostname() && rec.boot_id === bootId();
}

/** Whether `proc` is still the very process the record names (same pid, start time and group). */
export function stillRunning(rec: RunRecord, proc: RecordedProcess | null): boolean {
  if (!proc || !recordIsFromHere(rec)) return false;
  const now = processIdentity(proc.pid);
  return now !== null && !now.zombie && now.start === proc.start && now.pgid === proc.pgid;
}

/**
 * Signal the process group of the recorded command — only a group Expdesk
 * created for it (the command leads it), never pid ≤ 1, never our own group.
 */
export function signalRecordedGroup(rec: RunRecord, signal: NodeJS.Signals): boolean {
  const child = rec.child;
  if (!child || child.pgid !== child.pid || child.pid <= 1) return false;
  if (child.pgid === processIdentity(process.pid)?.pgid) return false;
  if (!stillRunning(rec, child)) return false;
  try {
    process.kill(-child.pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Forget a run's record once its end is recorded. */
export function removeRunRecord(expDir: string): void {
  rmSync(runRecordFile(expDir), { force: true });
}
