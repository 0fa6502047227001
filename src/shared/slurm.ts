/**
 * SLURM, the pure half: the batch script Expdesk writes, the scheduler's
 * parsable output read back (squeue, sacct, scontrol), and one judgement of a
 * job's state from the experiment folder's status and the scheduler's word.
 * Pure TypeScript (no node:*): the executors in src/main/core run the
 * commands; this file decides what they mean.
 */
import { z } from 'zod';
import { SlurmJob, type ExperimentStatus } from './model';

export { SlurmJob } from './model';
import { shellComment, shellQuote } from './shell-quote';

export { SLURM_RECORD, SLURM_SCRIPT } from './slurm-files';

export const SlurmRecord = z.object({
  schema: z.literal('expdesk.slurm/1'),
  job_id: z.string().regex(/^\d+(_\d+)?$/),
  job_name: z.string(),
  submitted_at: z.string(),
  /** The sbatch options as given, one per entry. */
  sbatch_options: z.array(z.string()),
  script: z.string(),
  /** Where sbatch ran: null for this machine, else the SSH host's label. */
  host: z.string().nullable(),
  /** Set when the user asked to stop the job (a CANCELLED job is then "stopped", not "failed"). */
  stop_requested_at: z.string().nullable().optional(),
});
export type SlurmRecord = z.infer<typeof SlurmRecord>;

/**
 * One sbatch option as `--sbatch=` carries it: a flag, never a line break
 * (the option is written into the script as an #SBATCH line as well).
 */
export function checkSbatchOption(option: string): string | null {
  if (!/^-/.test(option))
    return `sbatch option ${JSON.stringify(option)} must start with - (e.g. --partition=gpu)`;
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(option))
    return `sbatch option ${JSON.stringify(option)} holds a control character`;
  if (/^(--job-name(=|$)|-J)/.test(option))
    return `sbatch option ${JSON.stringify(option)}: Expdesk names the job after its experiment folder`;
  return null;
}

export interface BatchScriptInput {
  jobName: string;
  expDir: string;
  cwd: string;
  options: readonly string[];
  /** The run wrapper's source (resources/runner/expdesk_run.py). */
  runnerSource: string;
  /** The wrapper's spec (argv, cwd, exp_dir, env additions). */
  spec: Record<string, unknown>;
  python: string;
}

/** The job's output file (SLURM's own, beside the wrapper's logs/train.log). */
export function slurmOutputPattern(expDir: string, join: (...p: string[]) => string): string {
  return join(expDir, 'logs', 'slurm-%j.out');
}

/**
 * The batch script: #SBATCH lines, then the run wrapper as the batch step's
 * own process (exec: SLURM's signals reach it, and the step ends when it
 * does), its source on stdin and its spec in a private temp file. Everything
 * the script needs is in it, so `sbatch expdesk_job.sbatch` submits it again.
 */
export function batchScript(input: BatchScriptInput, join: (...p: string[]) => string): string {
  const header = [
    '#!/bin/bash',
    `#SBATCH --job-name=${shellQuote(input.jobName)}`,
    `#SBATCH --output=${shellQuote(slurmOutputPattern(input.expDir, join))}`,
    `#SBATCH --chdir=${shellQuote(input.cwd)}`,
    ...input.options.map((o) => `#SBATCH ${shellQuote(o)}`),
  ];
  const spec = JSON.stringify(input.spec);
  const runner = input.runnerSource.endsWith('\n') ? input.runnerSource : `${input.runnerSource}\n`;
  if (runner.split('\n').includes('EXPDESK_RUNNER_EOF'))
    throw new Error('the run wrapper holds the heredoc marker');
  return [
    ...header,
    `# Written by Expdesk for ${shellComment(input.expDir)}.`,
    "# It runs the experiment's command under Expdesk's run wrapper, which writes",
    '# logs/train.log, expdesk_status.json and FAILED.txt into the experiment folder.',
    'set -eu',
    'spec=$(mktemp "${TMPDIR:-/tmp}/expdesk-spec.XXXXXX")',
    `printf '%s' ${shellQuote(spec)} > "$spec"`,
    `exec ${shellQuote(input.python)} - "$spec" <<'EXPDESK_RUNNER_EOF'`,
    runner + 'EXPDESK_RUNNER_EOF',
    '',
  ].join('\n');
}

/**
 * The squeue call that reads every job of the user, nothing truncated: fields split by '|', reason last;
 * `-r`: one line per job array element (`<array>_<index>`), pending ones too.
 */
export const SQUEUE_ARGS = [
  '-h',
  '-r',
  '-t',
  'all',
  '--me',
  '-O',
  'JobArrayID:|,State:|,exit_code:|,TimeUsed:|,NodeList:|,Name:|,Reason',
] as const;

/** sacct for the jobs squeue no longer holds (where accounting exists). */
export function sacctArgs(jobIds: readonly string[]): string[] {
  return [
    '--parsable2',
    '-X',
    '-n',
    '-j',
    jobIds.join(','),
    '-o',
    'JobID,State,ExitCode,Elapsed,NodeList,Reason,JobName',
  ];
}

function nullIfEmpty(s: string | undefined): string | null {
  const t = (s ?? '').trim();
  return t === '' || t === '(null)' || t === 'None' || t === 'N/A' ? null : t;
}

/** squeue prints a wait status (768 is exit code 3); sacct and scontrol print "code:signal": say it their way. */
function waitStatusText(raw: string | undefined): string | null {
  const t = nullIfEmpty(raw);
  if (t === null || !/^\d+$/.test(t)) return t;
  const n = Number(t);
  return `${n >> 8}:${n & 0x7f}`;
}

/** squeue's output (SQUEUE_ARGS): job id → job. Lines that do not parse are skipped. */
export function parseSqueue(text: string): Map<string, SlurmJob> {
  const jobs = new Map<string, SlurmJob>();
  for (const line of text.split('\n')) {
    const parts = line.split('|');
    if (parts.length < 7) continue;
    const [id, state, exit, used, nodes] = parts.map((p) => p.trim());
    const reason = parts.slice(6).join('|').trim();
    if (!id || !/^\d/.test(id)) continue;
    jobs.set(id, {
      jobId: id,
      state: nullIfEmpty(state),
      reason: nullIfEmpty(reason),
      nodes: nullIfEmpty(nodes),
      exitCode: waitStatusText(exit),
      elapsed: nullIfEmpty(used),
      source: 'squeue',
    });
  }
  return jobs;
}

/** sacct --parsable2 output (sacctArgs). "CANCELLED by 0" keeps its first word as the state. */
export function parseSacct(text: string): Map<string, SlurmJob> {
  const jobs = new Map<string, SlurmJob>();
  for (const line of text.split('\n')) {
    const [id, state, exit, elapsed, nodes, reason] = line.split('|');
    if (!id || !/^\d/.test(id) || state === undefined) continue;
    jobs.set(id, {
      jobId: id,
      state: nullIfEmpty(state.split(' ')[0]),
      reason: nullIfEmpty(reason),
      nodes: nullIfEmpty(nodes),
      exitCode: nullIfEmpty(exit),
      elapsed: nullIfEmpty(elapsed),
      source: 'sacct',
    });
  }
  return jobs;
}

/** `scontrol show job -o` output (one line a job, Key=Value words). */
export function parseScontrol(text: string): Map<string, SlurmJob> {
  const jobs = new Map<string, SlurmJob>();
  for (const line of text.split('\n')) {
    const fields = new Map<string, string>();
    for (const m of line.matchAll(/(?:^|\s)([A-Za-z/:]+)=(\S*)/g)) fields.set(m[1]!, m[2]!);
    const id = fields.get('JobId');
    if (!id) continue;
    jobs.set(id, {
      jobId: id,
      state: nullIfEmpty(fields.get('JobState')),
      reason: nullIfEmpty(fields.get('Reason')),
      nodes: nullIfEmpty(fields.get('NodeList')),
      exitCode: nullIfEmpty(fields.get('ExitCode')),
      elapsed: nullIfEmpty(fields.get('RunTime')),
      source: 'scontrol',
    });
  }
  return jobs;
}

const QUEUED = new Set([
  'PENDING',
  'CONFIGURING',
  'REQUEUED',
  'REQUEUE_HOLD',
  'REQUEUE_FED',
  'RESV_DEL_HOLD',
  'SUSPENDED',
]);
const RUNNING = new Set(['RUNNING', 'COMPLETING', 'STAGE_OUT', 'SIGNALING', 'RESIZING']);
/** Ends the scheduler imposed on a job: the run failed whatever its wrapper managed to write. */
const SCHEDULER_FAILURES: Record<string, string> = {
  TIMEOUT: 'it reached its time limit',
  OUT_OF_MEMORY: 'it ran out of memory',
  NODE_FAIL: 'its node failed',
  PREEMPTED: 'it was preempted',
  BOOT_FAIL: 'its node failed to boot',
  DEADLINE: 'it reached its deadline',
};

/** The scheduler's state in Expdesk's words: queued, running, or ended. */
export function schedulerPhase(state: string | null): 'queued' | 'running' | 'ended' | 'unknown' {
  if (!state) return 'unknown';
  const s = state.replace(/\+$/, '');
  if (QUEUED.has(s)) return 'queued';
  if (RUNNING.has(s)) return 'running';
  return 'ended';
}

function jobWords(job: SlurmJob): string {
  return `SLURM job ${job.jobId}${job.state ? ` is ${job.state}` : ''}`;
}

/**
 * A SLURM experiment's status: the folder's (its status file, FAILED.txt)
 * first; the scheduler's word where the folder cannot know (queued, a job the
 * scheduler ended or killed before the wrapper could record it); a job the
 * scheduler has forgotten is judged from the folder, labelled inferred.
 */
export function judgeSlurmStatus(
  folder: ExperimentStatus,
  record: SlurmRecord,
  job: SlurmJob | null,
): ExperimentStatus {
  const ended = folder.source === 'failed-file' || ['completed', 'failed', 'stopped'].includes(folder.state);
  const state = job?.state?.split(' ')[0]?.replace(/\+$/, '') ?? null;
  const imposed = state ? SCHEDULER_FAILURES[state] : undefined;
  if (ended) {
    // The wrapper recorded the end; the scheduler may know why (a time limit ends a run with SIGTERM).
    if (imposed && folder.state !== 'completed')
      return { ...folder, state: 'failed', reason: `${folder.reason}; ${jobWords(job!)}: ${imposed}` };
    return folder;
  }
  const phase = job ? schedulerPhase(state) : 'unknown';
  if (job && phase === 'queued') {
    return {
      ...folder,
      state: 'queued',
      source: 'status-file',
      reason: `${jobWords(job)}${job.reason ? ` (${job.reason})` : ''}`,
    };
  }
  if (job && phase === 'running') {
    if (folder.state === 'running') return folder;
    return {
      ...folder,
      state: 'running',
      source: 'status-file',
      reason: `${jobWords(job)} on ${job.nodes ?? 'its node'}`,
    };
  }
  const started = folder.state === 'running' || folder.state === 'unknown';
  const what = started ? 'its run wrapper recorded no end' : 'its run never started';
  if (job && phase === 'ended') {
    if (state === 'CANCELLED' && record.stop_requested_at)
      return {
        ...folder,
        state: 'stopped',
        source: 'inferred',
        reason: `inferred: ${jobWords(job)} (stopped by the user); ${what}`,
      };
    const why = imposed ? `: ${imposed}` : '';
    return {
      ...folder,
      state: 'failed',
      source: 'inferred',
      reason: `inferred: ${jobWords(job)}${why}; ${what}`,
    };
  }
  if (record.stop_requested_at)
    return {
      ...folder,
      state: 'stopped',
      source: 'inferred',
      reason: `inferred: the scheduler no longer knows SLURM job ${record.job_id}, stopped by the user; ${what}`,
    };
  return {
    ...folder,
    state: 'failed',
    source: 'inferred',
    reason: `inferred: the scheduler no longer knows SLURM job ${record.job_id} and ${what}`,
  };
}
