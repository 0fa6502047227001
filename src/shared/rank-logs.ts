/**
 * Which log of an experiment belongs to which rank of a multi-task run. One
 * rule, from the names of the files in the folder's logs/ (local listing,
 * remote listing, `expdesk tail --rank`, the log view's tabs):
 *
 *   - `train_rank<N>.log`: the seed's Logger (one per rank, via `logging`);
 *   - `slurm-<job>-<N>.out`: SLURM's per-task output, as Expdesk's batch
 *     script asks srun for it (SLURM_TASK_OUTPUT: `%j` the job id — for a job
 *     array `<array job>_<index>` —, `%t` the task's rank).
 *
 * A rank's seed log comes before its SLURM output; several jobs' outputs
 * (a resubmitted run) come newest job first. Pure.
 */

/** The `--output` pattern of srun's per-task files, relative to the experiment folder. */
export const SLURM_TASK_OUTPUT = 'logs/slurm-%j-%t.out';

export interface RankLog {
  /** The file's name in logs/. */
  name: string;
  rank: number;
  source: 'seed' | 'slurm';
  /** The SLURM job id (`123` or `123_4`) of a per-task output, else null. */
  job: string | null;
}

const SEED = /^train_rank(\d+)\.log$/;
const SLURM = /^slurm-(\d+(?:_\d+)?)-(\d+)\.out$/;

/** The rank a log file's name belongs to, or null for any other file. */
export function rankOfLogName(name: string): RankLog | null {
  const seed = SEED.exec(name);
  if (seed) return { name, rank: Number(seed[1]), source: 'seed', job: null };
  const slurm = SLURM.exec(name);
  if (slurm) return { name, rank: Number(slurm[2]), source: 'slurm', job: slurm[1]! };
  return null;
}

/** Whether a file in logs/ is a log Expdesk shows: `*.log`, or a SLURM per-task output. */
export function isLogName(name: string): boolean {
  return name.endsWith('.log') || SLURM.test(name);
}

function jobOrder(a: string | null, b: string | null): number {
  const [aj, ai] = (a ?? '0').split('_').map(Number);
  const [bj, bi] = (b ?? '0').split('_').map(Number);
  return bj! - aj! || (bi ?? 0) - (ai ?? 0);
}

/** The rank logs among a folder's log file names: by rank, the seed's first, then newest job first. */
export function rankLogs(names: readonly string[]): RankLog[] {
  return names
    .map(rankOfLogName)
    .filter((r): r is RankLog => r !== null)
    .sort(
      (a, b) =>
        a.rank - b.rank ||
        (a.source === b.source ? 0 : a.source === 'seed' ? -1 : 1) ||
        jobOrder(a.job, b.job),
    );
}

/** The ranks present, ascending. */
export function ranksOf(names: readonly string[]): number[] {
  return [...new Set(rankLogs(names).map((r) => r.rank))];
}

/** The log `expdesk tail --rank N` shows: the rank's seed log, else its newest SLURM output; null if none. */
export function logForRank(names: readonly string[], rank: number): string | null {
  return rankLogs(names).find((r) => r.rank === rank)?.name ?? null;
}
