/**
 * The executor for an SSH host: a plan is prepared and started there in
 * remote tmux (or a detached session of its own) by ./remote-runs.ts. The
 * state of all of a host's runs is one round trip (the helper's gather, the
 * same call a listing makes), cancel is the helper's proven stop.
 */
import type { ExperimentSummary } from '../../../shared/model';
import {
  checkKind,
  reportOf,
  type RunExecutor,
  type RunHandle,
  type RunStateReport,
  type Submission,
} from '../runs/executor';
import type { RunPlan } from '../runs/plan';
import type { SshConnection } from './connection';
import { startRemoteRun, stopRemoteRun } from './remote-runs';

export interface SshSubmission extends Submission {
  tmuxSession: string | null;
  /** The remote machine's own name. */
  hostname: string;
}

/** What the executor reads state through: summaries of several experiments in one round trip. */
export interface RemoteStateSource {
  summaries(paths: string[]): Promise<Array<ExperimentSummary | Error>>;
}

export class SshExecutor implements RunExecutor<SshSubmission> {
  readonly kind = 'ssh';

  constructor(
    private readonly conn: SshConnection,
    /** Made on the first query only (a launch from the command line never queries). */
    private readonly state: () => RemoteStateSource,
    private readonly options: { tmux?: boolean; stopTimeouts?: [number, number] } = {},
  ) {}

  async submit(plan: RunPlan): Promise<SshSubmission> {
    const started = await startRemoteRun(this.conn, plan, this.options);
    return {
      handle: this.handle(started.expDir, started.tmuxSession),
      name: started.name,
      expDir: started.expDir,
      warnings: started.warnings,
      // Remote runs live in tmux or a detached session there: never tied to this process.
      diesWithExpdesk: false,
      tmuxSession: started.tmuxSession,
      hostname: started.hostname,
    };
  }

  /** The handle of the run in `expDir` (a path on this executor's host). */
  handle(expDir: string, tmuxSession: string | null = null): RunHandle {
    return {
      kind: 'ssh',
      expDir,
      ids: { host: this.conn.label, ...(tmuxSession ? { tmuxSession } : {}) },
    };
  }

  /** One remote command for all handles, however many. */
  async query(handles: readonly RunHandle[]): Promise<RunStateReport[]> {
    for (const h of handles) this.check(h);
    if (handles.length === 0) return [];
    const summaries = await this.state().summaries(handles.map((h) => h.expDir));
    return summaries.map((s) =>
      s instanceof Error
        ? { ...reportOf(null), error: s.message }
        : {
            state: s.status.state,
            exitCode: s.status.exitCode ?? null,
            signal: s.status.signal ?? null,
            error: null,
          },
    );
  }

  async cancel(handle: RunHandle): Promise<RunStateReport> {
    this.check(handle);
    return reportOf(await stopRemoteRun(this.conn, handle.expDir));
  }

  private check(handle: RunHandle): void {
    checkKind(this, handle);
    if (handle.ids.host !== undefined && handle.ids.host !== this.conn.label)
      throw new Error(`a run on ${handle.ids.host} was given to the executor of ${this.conn.label}`);
  }
}
