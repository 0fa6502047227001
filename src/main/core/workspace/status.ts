/**
 * An experiment's status, derived only from what is on disk (never from
 * memory of the session that launched it), in this order:
 *   1. FAILED.txt means failed, with the step and traceback it holds (the seed's contract).
 *   2. expdesk_status.json, written atomically by Expdesk's run wrapper
 *      (format in docs/status-file.md); a "running" state whose process is
 *      gone on this host is reported as unknown, not trusted.
 *   3. Otherwise inferred, and labelled as inferred: checkpoints/final means
 *      completed; a log or metrics write in the last RECENT_WRITE_MS means running.
 */
import os from 'node:os';
import type { ExperimentStatus } from '../../../shared/model';
import type { FailedInfo } from './files';
import { LAYOUT } from './layout';
import type { StatusFile } from './status-file';

// The status file's schema and its validation (zod) are in ./status-file.ts: judging a status
// from a cached summary (a warm listing) loads no schema library.
export type { StatusFile } from './status-file';

/** A seed-written run that has not written for this long is no longer assumed to be running. */
export const RECENT_WRITE_MS = 120_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StatusInputs {
  failed: FailedInfo | null;
  statusFile: StatusFile | null;
  hasFinalCheckpoint: boolean;
  /** Latest mtime of logs/metrics.jsonl and logs/*.log, or null. */
  lastWriteMs: number | null;
  now?: number;
  /**
   * Whether a "running" status file's process is gone, checked on the machine
   * it runs on (remote workspaces check it there). Undefined: check here, by
   * pid, when the status file names this host.
   */
  processGone?: boolean;
}

/**
 * Whether a status, once derived, holds for as long as the files it was
 * derived from do: false where it also depends on the clock (a running status
 * inferred from recent writes ages into unknown), on a process (a status
 * file's running pid, alive or gone) or on a scheduler (queued). A listing
 * reused while its files' stats hold (cli/list-snapshot.ts) must hold only
 * settled statuses.
 */
export function statusSettled(status: ExperimentStatus): boolean {
  if (status.state === 'running' || status.state === 'queued') return false;
  // unknown from a status file: its running process was found gone (a pid can be reused).
  return !(status.source === 'status-file' && status.state === 'unknown');
}

export function deriveStatus(inputs: StatusInputs): ExperimentStatus {
  const { failed, statusFile: sf } = inputs;
  const times = { startedAt: sf?.started_at ?? null, endedAt: sf?.ended_at ?? null };
  if (failed) {
    return {
      state: 'failed',
      source: 'failed-file',
      reason: failed.step !== null ? `FAILED.txt: failed at step ${failed.step}` : 'FAILED.txt is present',
      failedAtStep: failed.step,
      traceback: failed.traceback,
      exitCode: sf?.exit_code ?? null,
      signal: sf?.signal ?? null,
      ...times,
    };
  }
  if (sf) {
    const base = { exitCode: sf.exit_code ?? null, signal: sf.signal ?? null, ...times };
    const gone =
      inputs.processGone ?? Boolean(sf.pid && sf.hostname === os.hostname() && !processAlive(sf.pid));
    if (sf.state === 'running' && sf.pid && gone) {
      return {
        state: 'unknown',
        source: 'status-file',
        reason: `${LAYOUT.status} says running, but its process ${sf.pid} is gone and no exit was recorded`,
        ...base,
      };
    }
    const reason =
      sf.state === 'queued'
        ? sf.sweep
          ? `queued: member ${sf.sweep.index + 1} of ${sf.sweep.count} of ${sf.sweep.id}, waiting for a free slot`
          : `submitted to the scheduler${sf.job_id ? ` as job ${sf.job_id}` : ''}; not started yet`
        : sf.state === 'running'
          ? `running since ${sf.started_at ?? 'an unknown time'}${sf.hostname ? ` on ${sf.hostname}` : ''}`
          : sf.state === 'stopped'
            ? 'stopped by the user'
            : sf.state === 'completed'
              ? `exited with code ${sf.exit_code ?? 0}`
              : sf.signal
                ? `killed by ${sf.signal}`
                : `exited with code ${sf.exit_code ?? '?'}`;
    return { state: sf.state, source: 'status-file', reason, ...base };
  }
  if (inputs.hasFinalCheckpoint) {
    return { state: 'completed', source: 'inferred', reason: 'inferred: checkpoints/final exists', ...times };
  }
  const now = inputs.now ?? Date.now();
  if (inputs.lastWriteMs !== null && now - inputs.lastWriteMs < RECENT_WRITE_MS) {
    const secs = Math.max(0, Math.round((now - inputs.lastWriteMs) / 1000));
    return { state: 'running', source: 'inferred', reason: `inferred: logs written ${secs}s ago`, ...times };
  }
  return {
    state: 'unknown',
    source: 'inferred',
    reason: 'no status file, no FAILED.txt and no final checkpoint',
    ...times,
  };
}
