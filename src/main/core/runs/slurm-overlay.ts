/**
 * The scheduler's word on a listing: experiments submitted to SLURM (their
 * folder holds expdesk_slurm.json) whose folder does not say they ended get
 * their status judged with the scheduler (src/shared/slurm.ts
 * judgeSlurmStatus) and a `slurm` object — one squeue (at most one sacct more)
 * for all of them, at most every 15 s in a long-lived process.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ExperimentSummary } from '../../../shared/model';
import { SLURM_RECORD } from '../../../shared/slurm';
import { SlurmExecutor } from './slurm-executor';
import { localSlurmSite } from './slurm-local';

const ENDED = new Set(['completed', 'failed', 'stopped']);

export class SlurmOverlay {
  private executor: SlurmExecutor | null = null;

  constructor(private readonly poll = { minMs: 15_000, maxMs: 120_000 }) {}

  /** The summaries with SLURM's word added (new objects; the others as they were). */
  /** `all`: ask about ended jobs too (a detail view: exit code, elapsed time); else only live ones. */
  async apply(summaries: ExperimentSummary[], all = false): Promise<ExperimentSummary[]> {
    const picked = summaries
      .map((s, i) => ({ s, i }))
      .filter(({ s }) => all || !ENDED.has(s.status.state))
      .filter(({ s }) => existsSync(path.join(s.path, SLURM_RECORD)));
    if (picked.length === 0) return summaries;
    this.executor ??= new SlurmExecutor(localSlurmSite(), { poll: this.poll });
    const judged = await this.executor.judge(
      picked.map(({ s }) => s.path),
      all,
    );
    const out = [...summaries];
    picked.forEach(({ s, i }, k) => {
      const j = judged[k]!;
      if (!j.record) return;
      const status = j.error
        ? { ...s.status, reason: `${s.status.reason} (${j.error})` }
        : { ...s.status, ...j.status };
      out[i] = { ...s, status, ...(j.job ? { slurm: j.job } : {}) };
    });
    return out;
  }
}
