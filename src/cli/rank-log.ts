/**
 * `expdesk tail --rank N`: which of an experiment's logs is rank N's
 * (shared/rank-logs.ts), from the folder's listing through its backend — the
 * same call for a local folder and an ssh://… one.
 */
import { detailsAcross } from '../main/core/backend/across';
import { SummaryStore } from '../main/core/summary/summary-store';
import { logForRank, ranksOf } from '../shared/rank-logs';
import { cliBackends } from './backends';
import { CliError } from './errors';

export async function rankLogName(expDir: string, rank: number): Promise<string> {
  const [detail] = await detailsAcross([expDir], cliBackends(new SummaryStore()));
  const names = (detail?.logs ?? []).map((l) => l.name);
  const name = logForRank(names, rank);
  if (name) return name;
  const ranks = ranksOf(names);
  throw new CliError(
    `${expDir} has no log of rank ${rank} (logs/train_rank${rank}.log or logs/slurm-<job>-${rank}.out); ${
      ranks.length ? `its ranks: ${ranks.join(', ')}` : 'it has no per-rank logs'
    }`,
  );
}
