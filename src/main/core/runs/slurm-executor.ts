/**
 * The SLURM executor: the third RunExecutor (beside ./local-executor.ts and
 * ../remote/ssh-executor.ts). A plan is prepared exactly as for a local run
 * (folder, frozen config, metadata, capture: the site's `prepare`), then the
 * batch script (src/shared/slurm.ts `batchScript`) is written into the folder
 * and handed to sbatch; the job's name is the folder's, and its id is kept in
 * the folder (`expdesk_slurm.json`). On the node the script runs Expdesk's
 * run wrapper, so logs/train.log, the status file and FAILED.txt land as for
 * local runs. State: the folder's status first, the scheduler where the
 * folder cannot know, one SlurmQuery for all handles. Cancel: SIGUSR1 to the
 * wrapper (the batch step) and SIGINT to the job's steps, then a plain
 * scancel after a grace period; a job still pending is simply cancelled.
 *
 * Where the folder and the scheduler are is a `SlurmSite`: this machine here
 * (`localSlurmSite`); a login node over SSH in ../remote.
 *
 * Job arrays (sweeps) would add `submitArray(plans)`: prepare every plan,
 * write one script per folder, and one `sbatch --array=0-N%M` whose script
 * picks the folder by $SLURM_ARRAY_TASK_ID; `recordSubmission` per folder with
 * the job id `<array>_<index>` (SlurmRecord accepts it; squeue prints it so).
 */
import {
  batchScript,
  checkSbatchOption,
  judgeSlurmStatus,
  SLURM_RECORD,
  SLURM_SCRIPT,
  schedulerPhase,
  type SlurmJob,
  type SlurmRecord,
} from '../../../shared/slurm';
import type { ExperimentStatus } from '../../../shared/model';
import { deriveStatus, type StatusFile } from '../workspace/status';
import {
  checkKind,
  type RunExecutor,
  type RunHandle,
  type RunStateReport,
  type Submission,
} from './executor';
import { LaunchError, type RunPlan } from './plan';
import type { PreparedRun } from './prepare';
import { firstError, SlurmQuery, type SchedulerShell } from './slurm-scheduler';

/** What the executor reads of a folder, for many folders at once. */
export interface SlurmFolderState {
  status: StatusFile | null;
  failed: boolean;
  record: SlurmRecord | null;
}

/** What submission needs of a prepared folder (PreparedRun here, RemotePrepared over SSH). */
export type SlurmPrepared = Pick<PreparedRun, 'expDir' | 'name' | 'cwd' | 'command' | 'runEnv' | 'warnings'>;

/** Where the experiment folders and the scheduler's commands are. */
export interface SlurmSite {
  readonly shell: SchedulerShell;
  /** null for this machine, else the SSH host's label. */
  readonly host: string | null;
  join(...parts: string[]): string;
  /** Make the folder and its capture, as a local launch does (./prepare.ts, or over SSH). */
  prepare(plan: RunPlan): Promise<SlurmPrepared>;
  /** Write a file atomically (temp + rename). */
  write(file: string, text: string, mode?: number): Promise<void>;
  /** Several folders' status, FAILED.txt and SLURM record, in one go. */
  folders(expDirs: readonly string[]): Promise<SlurmFolderState[]>;
  /** Remove a folder this submission made (sbatch refused the job). */
  removeFolder(expDir: string): Promise<void>;
  runnerSource(): Promise<string>;
  runnerPython: string;
}

export interface SlurmSubmission extends Submission {
  jobId: string;
  record: SlurmRecord;
}

export interface SlurmOptions {
  /** One sbatch option an entry (`--partition=gpu`). */
  sbatch?: readonly string[];
  /** Seconds between SIGINT and the plain scancel when stopping a running job. */
  graceSeconds?: number;
  /** How long cancel waits for the job to end. */
  waitMs?: number;
  /** How often squeue is asked at most (SlurmQuery); default: every time (commands, stop). */
  poll?: { minMs: number; maxMs: number };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function nowIso(): string {
  return new Date().toISOString();
}

/** The folder's own status (no scheduler): FAILED.txt, then the status file. */
function folderStatus(f: SlurmFolderState): ExperimentStatus {
  return deriveStatus({
    failed: f.failed ? { step: null, traceback: '' } : null,
    statusFile: f.status,
    hasFinalCheckpoint: false,
    lastWriteMs: null,
    // The wrapper runs on a node: whether it lives is the scheduler's to say.
    processGone: false,
  });
}

function report(s: ExperimentStatus, error: string | null = null): RunStateReport {
  return { state: s.state, exitCode: s.exitCode ?? null, signal: s.signal ?? null, error };
}

export class SlurmExecutor implements RunExecutor<SlurmSubmission> {
  readonly kind = 'slurm';
  readonly query_: SlurmQuery;

  constructor(
    readonly site: SlurmSite,
    private readonly options: SlurmOptions = {},
  ) {
    this.query_ = new SlurmQuery(site.shell, options.poll ?? { minMs: 0, maxMs: 0 });
  }

  /** sbatch's path on the site, or an error saying where it looked. */
  async checkSbatch(): Promise<void> {
    const { found, searched } = await this.site.shell.which('sbatch');
    if (!found)
      throw new LaunchError(
        `sbatch was not found on ${this.site.shell.label} (searched PATH=${searched || '(empty)'}); install the SLURM client there, or run where it is`,
      );
  }

  async submit(plan: RunPlan): Promise<SlurmSubmission> {
    const options = [...(this.options.sbatch ?? [])];
    for (const o of options) {
      const bad = checkSbatchOption(o);
      if (bad) throw new LaunchError(bad);
    }
    await this.checkSbatch();
    const prepared = await this.site.prepare(plan);
    const { site } = this;
    const script = site.join(prepared.expDir, SLURM_SCRIPT);
    try {
      const spec = {
        exp_dir: prepared.expDir,
        cwd: prepared.cwd,
        argv: prepared.command,
        // The node's environment (sbatch exports the submitter's), plus the run's own variables.
        env: prepared.runEnv,
        env_from_process: true,
        // SLURM ends a job with SIGTERM (time limit, scancel): a failure, unless the user asked (SIGUSR1).
        term_is_stop: false,
        tmux_session: null,
        stop_timeouts: [5, 5],
      };
      const text = batchScript(
        {
          jobName: prepared.name,
          expDir: prepared.expDir,
          cwd: prepared.cwd,
          options,
          runnerSource: await site.runnerSource(),
          spec,
          python: site.runnerPython,
        },
        (...p) => site.join(...p),
      );
      await site.write(script, text, 0o755);
      // Queued before sbatch: the wrapper's "running" can then only come after it.
      await site.write(site.join(prepared.expDir, 'expdesk_status.json'), statusText({ state: 'queued' }));
    } catch (err) {
      await site.removeFolder(prepared.expDir).catch(() => undefined);
      throw err;
    }
    const r = await site.shell.exec(['sbatch', '--parsable', ...options, script]);
    const jobId = r.code === 0 ? /^\s*(\d+(?:_\d+)?)/.exec(r.stdout)?.[1] : undefined;
    if (!jobId) {
      // No half-made experiment: the folder was made for this job only.
      await site.removeFolder(prepared.expDir).catch(() => undefined);
      throw new LaunchError(`sbatch refused the job (no experiment was kept): ${firstError(r)}`);
    }
    const record: SlurmRecord = {
      schema: 'expdesk.slurm/1',
      job_id: jobId,
      job_name: prepared.name,
      submitted_at: nowIso(),
      sbatch_options: options,
      script: SLURM_SCRIPT,
      host: site.host,
      stop_requested_at: null,
    };
    await this.writeRecord(prepared.expDir, record);
    return {
      handle: this.handle(prepared.expDir, jobId),
      name: prepared.name,
      expDir: prepared.expDir,
      warnings: prepared.warnings,
      diesWithExpdesk: false,
      jobId,
      record,
    };
  }

  handle(expDir: string, jobId: string): RunHandle {
    return { kind: 'slurm', expDir, ids: { jobId, ...(this.site.host ? { host: this.site.host } : {}) } };
  }

  private writeRecord(expDir: string, record: SlurmRecord): Promise<void> {
    return this.site.write(this.site.join(expDir, SLURM_RECORD), JSON.stringify(record, null, 2) + '\n');
  }

  /**
   * Each folder's status judged with the scheduler's word: one squeue (and at
   * most one sacct) for all of them; none for folders whose run has ended.
   */
  async judge(
    expDirs: readonly string[],
    /** Ask about jobs whose folder says they ended too (exit code, elapsed time for a detail view). */
    all = false,
  ): Promise<
    Array<{
      status: ExperimentStatus;
      job: SlurmJob | null;
      record: SlurmRecord | null;
      error: string | null;
    }>
  > {
    const folders = await this.site.folders(expDirs);
    const own = folders.map(folderStatus);
    const live = folders
      .map((f, i) => ({ f, s: own[i]! }))
      .filter(({ f, s }) => f.record && (all || !['completed', 'failed', 'stopped'].includes(s.state)));
    let jobs = new Map<string, SlurmJob>();
    let error: string | null = null;
    if (live.length) {
      try {
        jobs = await this.query_.jobs(live.map(({ f }) => f.record!.job_id));
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
    }
    return folders.map((f, i) => {
      const s = own[i]!;
      if (!f.record) return { status: s, job: null, record: null, error: null };
      const job = jobs.get(f.record.job_id) ?? null;
      // The scheduler unreachable: nothing can be concluded beyond the folder.
      if (error) return { status: s, job: null, record: f.record, error };
      const forgotten: SlurmJob = {
        jobId: f.record.job_id,
        state: null,
        reason: null,
        nodes: null,
        exitCode: null,
        elapsed: null,
        source: 'folder',
      };
      const asked = live.some(({ f: g }) => g === f);
      return {
        status: asked ? judgeSlurmStatus(s, f.record, job) : s,
        job: job ?? (asked ? forgotten : null),
        record: f.record,
        error: null,
      };
    });
  }

  async query(handles: readonly RunHandle[]): Promise<RunStateReport[]> {
    for (const h of handles) checkKind(this, h);
    const judged = await this.judge(handles.map((h) => h.expDir));
    return judged.map((j) => report(j.status, j.error));
  }

  /** SIGUSR1 to the wrapper and SIGINT to the steps; a plain scancel after the grace period. */
  async cancel(handle: RunHandle): Promise<RunStateReport> {
    checkKind(this, handle);
    const [folder] = await this.site.folders([handle.expDir]);
    const record = folder?.record;
    if (!record)
      throw new LaunchError(
        `${handle.expDir} has no ${SLURM_RECORD}: it was not submitted to SLURM by Expdesk`,
      );
    await this.writeRecord(handle.expDir, { ...record, stop_requested_at: nowIso() });
    const id = record.job_id;
    const [first] = await this.judge([handle.expDir]);
    const phase = schedulerPhase(first?.job?.state ?? null);
    const scancel = async (args: string[]): Promise<void> => {
      const r = await this.site.shell.exec(['scancel', ...args, id]);
      if (r.code !== 0 && !/already completing|Invalid job id|has already finished/i.test(r.stderr))
        throw new LaunchError(`scancel failed on ${this.site.shell.label}: ${firstError(r)}`);
    };
    const waitMs = this.options.waitMs ?? 60_000;
    if (phase === 'running') {
      await scancel(['--batch', '--signal=USR1']);
      await scancel(['--signal=INT']).catch(() => undefined); // no steps: nothing to signal
      if (!(await this.waitEnded(handle.expDir, (this.options.graceSeconds ?? 15) * 1000))) await scancel([]);
    } else if (phase === 'queued') {
      await scancel([]);
    }
    await this.waitEnded(handle.expDir, waitMs);
    const [after] = await this.judge([handle.expDir]);
    const settled = after!.status;
    // Cancelled before it started: no wrapper ever ran to record it; Expdesk does.
    if (after!.record && settled.state === 'stopped' && settled.source === 'inferred') {
      const f = (await this.site.folders([handle.expDir]))[0];
      if (f?.status?.state === 'queued')
        await this.site.write(
          this.site.join(handle.expDir, 'expdesk_status.json'),
          statusText({
            state: 'stopped',
            ended_at: nowIso(),
            stop_requested_at: record.stop_requested_at ?? nowIso(),
          }),
        );
    }
    return report(settled);
  }

  private async waitEnded(expDir: string, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      const [j] = await this.judge([expDir]);
      if (
        j &&
        ['completed', 'failed', 'stopped'].includes(j.status.state) &&
        schedulerPhase(j.job?.state ?? 'ENDED') === 'ended'
      )
        return true;
      if (Date.now() > deadline) return false;
      await sleep(500);
    }
  }
}

function statusText(fields: Partial<StatusFile> & { state: StatusFile['state'] }): string {
  const now = nowIso();
  return (
    JSON.stringify(
      {
        schema: 'expdesk.status/1',
        started_at: null,
        ended_at: null,
        exit_code: null,
        signal: null,
        updated_at: now,
        ...fields,
      },
      null,
      2,
    ) + '\n'
  );
}
