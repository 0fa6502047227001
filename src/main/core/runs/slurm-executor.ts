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
 * Job arrays (sweeps): `submitArray` prepares every member and keeps its own
 * script, then one sbatch (`--array=0-(n-1)%N`) whose script picks the folder
 * by $SLURM_ARRAY_TASK_ID; member i's record has the job id `<array>_<i>`, so
 * `cancel` of a member cancels only it, and `cancelArray` the whole array.
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
import type { ExperimentStatus, SweepTag } from '../../../shared/model';
import { shellComment, shellQuote } from '../../../shared/shell-quote';
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
  /** The wrapper's system sampler (expdesk_system.py): carried in the batch script's spec. */
  systemSource(): Promise<string>;
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
    const options = await this.checkOptions();
    const prepared = await this.site.prepare(plan);
    const script = await this.writeScript(prepared, options, plan.systemInterval);
    const r = await this.site.shell.exec(['sbatch', '--parsable', ...options, script]);
    const jobId = r.code === 0 ? /^\s*(\d+(?:_\d+)?)/.exec(r.stdout)?.[1] : undefined;
    if (!jobId) {
      // No half-made experiment: the folder was made for this job only.
      await this.site.removeFolder(prepared.expDir).catch(() => undefined);
      throw new LaunchError(`sbatch refused the job (no experiment was kept): ${firstError(r)}`);
    }
    return this.submitted(prepared, jobId, options);
  }

  /**
   * A sweep as one job array (`--array=0-(n-1)%maxParallel`, named after the
   * sweep): every member's folder is prepared and its own batch script kept
   * first, then one sbatch whose script runs the member picked by
   * $SLURM_ARRAY_TASK_ID. Member i's job id is `<array>_<i>`. If sbatch
   * refuses, or a member cannot be prepared, no member folder is kept.
   */
  async submitArray(
    members: readonly { plan: RunPlan; tag: SweepTag }[],
    maxParallel: number,
  ): Promise<SlurmSubmission[]> {
    if (!Number.isInteger(maxParallel) || maxParallel < 1)
      throw new LaunchError(`--max-parallel must be a positive integer, got ${maxParallel}`);
    const options = await this.checkOptions();
    const { site } = this;
    const made: { prepared: SlurmPrepared; script: string }[] = [];
    const removeAll = (): Promise<unknown> =>
      Promise.all(made.map((m) => site.removeFolder(m.prepared.expDir).catch(() => undefined)));
    try {
      for (const m of members) {
        const prepared = await site.prepare(m.plan);
        made.push({ prepared, script: '' });
        made[made.length - 1]!.script = await this.writeScript(
          prepared,
          options,
          m.plan.systemInterval,
          m.tag,
        );
      }
    } catch (err) {
      await removeAll();
      throw err;
    }
    const id = members[0]?.tag.id ?? 'sweep';
    const arrayScript = [
      '#!/bin/bash',
      `#SBATCH --job-name=${shellQuote(id)}`,
      '#SBATCH --output=/dev/null',
      `#SBATCH --array=0-${made.length - 1}%${maxParallel}`,
      ...options.map((o) => `#SBATCH ${shellQuote(o)}`),
      `# Written by Expdesk for sweep ${shellComment(id)}: member i runs its own folder's batch script.`,
      'case "$SLURM_ARRAY_TASK_ID" in',
      ...made.map(
        ({ prepared, script }, i) =>
          `  ${i}) mkdir -p ${shellQuote(site.join(prepared.expDir, 'logs'))} && cd ${shellQuote(prepared.cwd)} && exec /bin/bash ${shellQuote(script)} >>${shellQuote(
            site.join(prepared.expDir, 'logs', 'slurm-'),
          )}"$SLURM_ARRAY_JOB_ID"_${i}.out 2>&1 ;;`,
      ),
      '  *) echo "expdesk: no member $SLURM_ARRAY_TASK_ID in this sweep" >&2; exit 2 ;;',
      'esac',
      '',
    ].join('\n');
    const r = await site.shell.exec(['sbatch', '--parsable', ...options], arrayScript);
    const arrayId = r.code === 0 ? /^\s*(\d+)/.exec(r.stdout)?.[1] : undefined;
    if (!arrayId) {
      await removeAll();
      throw new LaunchError(`sbatch refused the job array (no experiment was kept): ${firstError(r)}`);
    }
    const out: SlurmSubmission[] = [];
    for (const [i, { prepared }] of made.entries())
      out.push(await this.submitted(prepared, `${arrayId}_${i}`, options));
    return out;
  }

  private async checkOptions(): Promise<string[]> {
    const options = [...(this.options.sbatch ?? [])];
    for (const o of options) {
      const bad = checkSbatchOption(o);
      if (bad) throw new LaunchError(bad);
    }
    await this.checkSbatch();
    return options;
  }

  /** Write the folder's batch script and its "queued" status; on failure the folder goes. */
  private async writeScript(
    prepared: SlurmPrepared,
    options: string[],
    systemInterval: number,
    sweep?: SweepTag,
  ): Promise<string> {
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
        // The wrapper reads itself from the script's stdin: the sampler comes in the spec. On a
        // multi-node job it samples the other nodes too (logs/system-<node>.jsonl).
        system_interval: systemInterval,
        system_source: await site.systemSource(),
        ...(sweep ? { sweep } : {}),
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
      await site.write(
        site.join(prepared.expDir, 'expdesk_status.json'),
        statusText({ state: 'queued', ...(sweep ? { sweep } : {}) }),
      );
    } catch (err) {
      await site.removeFolder(prepared.expDir).catch(() => undefined);
      throw err;
    }
    return script;
  }

  private async submitted(
    prepared: SlurmPrepared,
    jobId: string,
    options: string[],
  ): Promise<SlurmSubmission> {
    const record: SlurmRecord = {
      schema: 'expdesk.slurm/1',
      job_id: jobId,
      job_name: prepared.name,
      submitted_at: nowIso(),
      sbatch_options: options,
      script: SLURM_SCRIPT,
      host: this.site.host,
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
      if (!(await this.waitEnded([handle.expDir], (this.options.graceSeconds ?? 15) * 1000)))
        await scancel([]);
    } else if (phase === 'queued') {
      await scancel([]);
    }
    await this.waitEnded([handle.expDir], waitMs);
    return report(await this.settle(handle.expDir, record));
  }

  /**
   * Stop a whole job array (a SLURM sweep; every folder's job id `<array>_<i>`):
   * its pending members are cancelled first (none starts any more), the running
   * ones get SIGUSR1 and SIGINT as in `cancel`, then a plain scancel of the array
   * after the grace period.
   */
  async cancelArray(expDirs: readonly string[]): Promise<RunStateReport[]> {
    const folders = await this.site.folders(expDirs);
    const records = folders.map((f, i) => {
      if (!f.record || !/^\d+_\d+$/.test(f.record.job_id))
        throw new LaunchError(`${expDirs[i]} is not a member of a SLURM job array submitted by Expdesk`);
      return f.record;
    });
    const arrays = new Set(records.map((r) => r.job_id.split('_')[0]!));
    if (arrays.size !== 1)
      throw new LaunchError(`these folders belong to ${arrays.size} different job arrays, not one`);
    const [id] = arrays;
    const stopAt = nowIso();
    await Promise.all(
      records.map((r, i) => this.writeRecord(expDirs[i]!, { ...r, stop_requested_at: stopAt })),
    );
    const scancel = (args: string[]): Promise<unknown> => this.site.shell.exec(['scancel', ...args, id!]);
    await scancel(['--state=PENDING']);
    await scancel(['--batch', '--signal=USR1']);
    await scancel(['--signal=INT']);
    if (!(await this.waitEnded(expDirs, (this.options.graceSeconds ?? 15) * 1000))) {
      const r = await this.site.shell.exec(['scancel', id!]);
      if (r.code !== 0 && !/already completing|Invalid job id|has already finished/i.test(r.stderr))
        throw new LaunchError(`scancel failed on ${this.site.shell.label}: ${firstError(r)}`);
    }
    await this.waitEnded(expDirs, this.options.waitMs ?? 60_000);
    return Promise.all(
      expDirs.map(async (d, i) =>
        report(await this.settle(d, { ...records[i]!, stop_requested_at: stopAt })),
      ),
    );
  }

  /** The state after a cancel; a job cancelled before it started gets its "stopped" status from Expdesk. */
  private async settle(expDir: string, record: SlurmRecord): Promise<ExperimentStatus> {
    const [after] = await this.judge([expDir]);
    const settled = after!.status;
    // Cancelled before it started: no wrapper ever ran to record it; Expdesk does.
    if (after!.record && settled.state === 'stopped' && settled.source === 'inferred') {
      const f = (await this.site.folders([expDir]))[0];
      if (f?.status?.state === 'queued')
        await this.site.write(
          this.site.join(expDir, 'expdesk_status.json'),
          statusText({
            state: 'stopped',
            ended_at: nowIso(),
            stop_requested_at: record.stop_requested_at ?? nowIso(),
            ...(f.status.sweep ? { sweep: f.status.sweep } : {}),
          }),
        );
    }
    return settled;
  }

  private async waitEnded(expDirs: readonly string[], ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      const judged = await this.judge(expDirs);
      if (
        judged.every(
          (j) =>
            ['completed', 'failed', 'stopped'].includes(j.status.state) &&
            schedulerPhase(j.job?.state ?? 'ENDED') === 'ended',
        )
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
