/**
 * Executors carry run plans out (./plan.ts decides what a run is; an executor
 * decides where and how it runs). One interface for every target, shaped for a
 * batch scheduler too: submit returns a handle (plain JSON, kept and passed
 * back later, even by another process), the state of many handles is asked in
 * one query (one scheduler or SSH command however many runs), and cancel.
 *
 * Implementations: LocalExecutor (./local-executor.ts: this machine, pty +
 * tmux) and SshExecutor (../remote/ssh-executor.ts: remote tmux). A third
 * (SLURM, issue 11) implements the same interface: submit makes the folder
 * and capture as the others do and hands the wrapper to sbatch; its handle's
 * ids carry the job id; query is one squeue/sacct call for all handles.
 */
import type { ExperimentState } from '../../../shared/model';
import type { RunPlan } from './plan';

/** How an executor finds a run again: its kind, the experiment folder on the target, and its own ids. */
export interface RunHandle {
  /** The executor that ran it: 'local', 'ssh' (and 'slurm' later). */
  kind: string;
  /** The experiment folder, as a path on the target. */
  expDir: string;
  /** The executor's own ids (tmux session, host, job id). */
  ids: Record<string, string>;
}

/** A run's state as its executor sees it. */
export interface RunStateReport {
  /** A scheduler adds 'queued'. */
  state: ExperimentState | 'queued';
  exitCode: number | null;
  signal: string | null;
  /** Set when the run could not be read at all (its folder is gone or unreadable). */
  error: string | null;
}

export interface Submission {
  handle: RunHandle;
  name: string;
  /** The experiment folder on the target. */
  expDir: string;
  /** Everything the launch warns about, in order (the plan's, the git state's, the capture's). */
  warnings: string[];
  /** True when the run ends when this process does (a local run without tmux). */
  diesWithExpdesk: boolean;
}

export interface RunExecutor<S extends Submission = Submission> {
  readonly kind: string;
  /** Make the experiment folder on the target, write the plan's files and start (or queue) the run. */
  submit(plan: RunPlan): Promise<S>;
  /** The state of many runs at once: one report per handle, in order (never one command per handle). */
  query(handles: readonly RunHandle[]): Promise<RunStateReport[]>;
  /** Stop a run (gently, then firmly); resolves with its final state. */
  cancel(handle: RunHandle): Promise<RunStateReport>;
}

/** The report of a status file's fields (or of none). */
export function reportOf(
  status: { state: string; exit_code?: number | null; signal?: string | null } | null,
): RunStateReport {
  const known = ['running', 'completed', 'failed', 'stopped'];
  return {
    state: status && known.includes(status.state) ? (status.state as ExperimentState) : 'unknown',
    exitCode: status?.exit_code ?? null,
    signal: status?.signal ?? null,
    error: null,
  };
}

/** A handle of another executor given to this one: a programming error, said plainly. */
export function checkKind(executor: { kind: string }, handle: RunHandle): void {
  if (handle.kind !== executor.kind)
    throw new Error(`a ${handle.kind} run's handle was given to the ${executor.kind} executor`);
}
