/**
 * The executor for this machine: a plan is prepared in a new numbered folder
 * with its capture (./prepare.ts) and started under the run wrapper in a pty,
 * inside tmux where it exists (./launch.ts). State comes from the status
 * files, a wrapper that died is settled (./control.ts), cancel is the proven
 * stop (./control.ts, ./run-record.ts).
 */
import path from 'node:path';
import type { IPty } from 'node-pty';
import { readStatusFile, settleDeadWrapper, stopRun } from './control';
import {
  checkKind,
  reportOf,
  type RunExecutor,
  type RunHandle,
  type RunStateReport,
  type Submission,
} from './executor';
import { firstOutput, launchRun, tmuxAvailableSoon, type LaunchOptions } from './launch';
import type { RunPlan } from './plan';
import { prepareLocally, type PreparedRun } from './prepare';

export interface LocalSubmission extends Submission {
  /** The terminal holding the run (the tmux client, or the wrapper itself): keep it drained. */
  terminal: IPty;
  tmuxSession: string | null;
  prepared: PreparedRun;
}

export class LocalExecutor implements RunExecutor<LocalSubmission> {
  readonly kind = 'local';

  constructor(private readonly options: LaunchOptions = {}) {}

  async submit(plan: RunPlan): Promise<LocalSubmission> {
    // The run starts once git state, patch and config are captured; the environment lands beside it.
    // The environment's probes wait for the launch: they would slow the start down.
    void tmuxAvailableSoon(); // answered by the time the capture is
    let launched!: () => void;
    const environmentAfter = new Promise<void>((resolve) => (launched = resolve));
    const prepared = await prepareLocally(plan, { deferEnvironment: true, environmentAfter });
    const run = await launchRun(prepared, { ...this.options, systemInterval: plan.systemInterval }).catch(
      (err: unknown) => {
        launched();
        throw err;
      },
    );
    // ... and the command's own startup: they start at its first output (or 2 s after the start).
    void firstOutput(run.expDir).finally(launched);
    return {
      handle: LocalExecutor.handle(run.expDir, run.tmuxSession),
      name: run.name,
      expDir: run.expDir,
      warnings: prepared.warnings,
      diesWithExpdesk: run.diesWithExpdesk,
      terminal: run.terminal,
      tmuxSession: run.tmuxSession,
      prepared,
    };
  }

  /** The handle of a run in `expDir` (a run started earlier, by this or another process). */
  static handle(expDir: string, tmuxSession: string | null = null): RunHandle {
    return { kind: 'local', expDir: path.resolve(expDir), ids: tmuxSession ? { tmuxSession } : {} };
  }

  /**
   * Each run's status file; a run whose wrapper died without recording the end
   * is recorded as failed (when that cannot be written, a full disk, it stays
   * running and the next query tries again).
   */
  async query(handles: readonly RunHandle[]): Promise<RunStateReport[]> {
    return Promise.all(
      handles.map(async (h) => {
        checkKind(this, h);
        let status = readStatusFile(h.expDir);
        if (status?.state === 'running')
          status = (await settleDeadWrapper(h.expDir).catch(() => null)) ?? status;
        return reportOf(status);
      }),
    );
  }

  async cancel(handle: RunHandle): Promise<RunStateReport> {
    checkKind(this, handle);
    return reportOf(await stopRun(handle.expDir));
  }
}
