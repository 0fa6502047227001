/**
 * `expdesk run --slurm`, `expdesk stop` and `expdesk resubmit` for jobs on
 * SLURM: the plan is the same as a local run's (core/runs/plan.ts), the
 * executor is core/runs/slurm-executor.ts. Without --detach the command waits
 * while the job is queued (saying why, as the scheduler says it), then
 * follows its log until it ends; Ctrl-C stops the job, a second Ctrl-C
 * detaches and leaves it to the scheduler.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { planContext, planRun, type RunRequest } from '../main/core/runs/plan';
import { SlurmExecutor, type SlurmSubmission } from '../main/core/runs/slurm-executor';
import { localSlurmSite, readSlurmRecord } from '../main/core/runs/slurm-local';
import { SLURM_RECORD } from '../shared/slurm';
import { CliError } from './errors';
import { printErr } from './output';
import { describeStopped, runRequestFields, type RunCliOptions } from './run-options';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface SlurmCliOptions extends RunCliOptions {
  slurm?: boolean;
  sbatch?: string[];
}

/** A SLURM executor and how its site names paths (./slurm-target.ts resolves one per location). */
export interface SlurmTarget {
  executor: SlurmExecutor;
  /** A location (of this target's host) as a path on the site. */
  pathOf(location: string): string;
  /** A path on the site as the location the user knows (ssh://… over SSH). */
  where(sitePath: string): string;
}

/** The executor of this machine's scheduler (sbatch and squeue on PATH). */
function localExecutor(sbatch: readonly string[] = []): SlurmExecutor {
  return new SlurmExecutor(localSlurmSite(), { sbatch });
}

/** The follower run.ts uses for local runs (given, so neither module imports the other's internals). */
export type FollowLog = (expDir: string, isDone: () => boolean) => Promise<void>;

/**
 * Submit, print the folder (as `where` names it: an ssh://… location over
 * SSH), then wait while queued and follow the log until the job ends.
 */
export async function submitAndFollow(
  executor: SlurmExecutor,
  request: RunRequest,
  opts: { detach?: boolean },
  followLog: FollowLog,
  where: (expDir: string) => string = (d) => d,
): Promise<number> {
  const run: SlurmSubmission = await executor.submit(planRun(request, planContext(request)));
  for (const w of run.warnings) printErr(`${w}\n`);
  process.stdout.write(`${where(run.expDir)}\n`);
  printErr(`expdesk: submitted SLURM job ${run.jobId} (${run.name})\n`);
  if (opts.detach) {
    printErr(`expdesk: follow it with: expdesk tail --follow ${where(run.expDir)}\n`);
    return 0;
  }
  let interrupts = 0;
  let detached = false;
  let ended = false;
  let last = '';
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) {
      printErr('\nexpdesk: cancelling the job (Ctrl-C again to detach and leave it to the scheduler)\n');
      executor.cancel(run.handle).catch((err: Error) => printErr(`expdesk: ${err.message}\n`));
    } else detached = true;
  };
  process.on('SIGINT', onSigint);
  // The scheduler's word every few seconds while the log is followed (one squeue each time).
  const watch = (async () => {
    while (!ended && !detached) {
      const [r] = await executor.judge([run.expDir]).catch(() => [null]);
      if (r) {
        const line = r.status.state === 'queued' ? `queued: ${r.status.reason}` : r.status.state;
        if (line !== last && r.status.state !== 'running') printErr(`expdesk: ${line}\n`);
        last = line;
        if (['completed', 'failed', 'stopped'].includes(r.status.state)) ended = true;
      }
      if (!ended) await sleep(3000);
    }
  })();
  try {
    await followLog(run.expDir, () => ended || detached);
    await watch;
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (detached) {
    printErr(`expdesk: detached; SLURM job ${run.jobId} goes on in ${where(run.expDir)}\n`);
    return 130;
  }
  const [final] = await executor.query([run.handle]);
  if (final!.state === 'failed')
    printErr(`expdesk: the job failed; see ${path.join(run.expDir, 'FAILED.txt')}\n`);
  return final!.state === 'completed' ? 0 : (final!.exitCode ?? 1) || 1;
}

export async function slurmRunCommand(
  command: string[],
  opts: SlurmCliOptions,
  followLog: FollowLog,
): Promise<number> {
  const request = { workspace: opts.workspace ?? process.cwd(), ...runRequestFields(command, opts) };
  return submitAndFollow(localExecutor(opts.sbatch), request, opts, followLog);
}

/** Whether `expDir` was submitted to SLURM by Expdesk (its folder holds the job's record). */
export function isSlurmExperiment(expDir: string): boolean {
  return readSlurmRecord(path.resolve(expDir)) !== null;
}

export async function slurmStopCommand(expDir: string): Promise<string> {
  const dir = path.resolve(expDir);
  const record = readSlurmRecord(dir);
  if (!record) throw new CliError(`${dir} has no ${SLURM_RECORD}: it was not submitted to SLURM by Expdesk`);
  const executor = localExecutor();
  return describeStopped(await executor.cancel(executor.handle(dir, record.job_id)));
}

/**
 * A new experiment from an old one's frozen config, command, seed and sbatch
 * options, submitted again; the code is the working tree's now (its state is
 * captured as for any launch, and a change from the original is warned about).
 */
export async function resubmitCommand(
  expDir: string,
  opts: { detach?: boolean; sbatch?: string[] },
  followLog: FollowLog,
): Promise<number> {
  const dir = path.resolve(expDir);
  const record = readSlurmRecord(dir);
  if (!record)
    throw new CliError(
      `${dir} has no ${SLURM_RECORD}: only experiments submitted to SLURM can be resubmitted`,
    );
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(
      `${path.join(dir, 'metadata.json')}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const template = meta.command_template;
  if (!Array.isArray(template) || !template.every((w) => typeof w === 'string'))
    throw new CliError(`${path.join(dir, 'metadata.json')}: no command_template to resubmit`);
  const request: RunRequest = {
    workspace: path.dirname(dir),
    configFile: path.join(dir, 'config.yaml'),
    command: template,
    seed: typeof meta.seed === 'number' ? meta.seed : undefined,
    cwd: typeof meta.cwd === 'string' ? meta.cwd : undefined,
    python: typeof meta.python_executable === 'string' ? meta.python_executable : undefined,
  };
  const executor = localExecutor(opts.sbatch?.length ? opts.sbatch : record.sbatch_options);
  return submitAndFollow(executor, request, opts, followLog);
}
