/**
 * The scheduler's word on a listing: experiments submitted to SLURM (their
 * folder holds expdesk_slurm.json) whose folder does not say they ended get
 * their status judged with the scheduler (src/shared/slurm.ts
 * judgeSlurmStatus) and a `slurm` object — one squeue (at most one sacct more)
 * for all of them, at most every 15 s in a long-lived process. The site says
 * where (this machine, or a login node over SSH: ../remote/slurm-ssh.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ExperimentSummary } from '../../../shared/model';
import { SLURM_RECORD } from '../../../shared/slurm-files';
import type { SlurmExecutor, SlurmSite } from './slurm-executor';

const ENDED = new Set(['completed', 'failed', 'stopped']);

export interface SlurmOverlayOptions {
  /** The site, made on first need (default: this machine's). */
  site?: () => SlurmSite | Promise<SlurmSite>;
  /** A summary's folder as the site names it (a remote path for an ssh://… summary). */
  folderOf?: (s: ExperimentSummary) => string;
  /**
   * A cheap check that a folder may hold a SLURM record (locally: it exists;
   * remotely: the listing saw a status file, which Expdesk writes before sbatch);
   * default: ask the site.
   */
  mayHoldRecord?: (folder: string, s: ExperimentSummary) => boolean;
  poll?: { minMs: number; maxMs: number };
}

export class SlurmOverlay {
  /** Made when a listing first holds a SLURM experiment: the SLURM code loads only then. */
  private executor: Promise<SlurmExecutor> | null = null;

  constructor(private readonly options: SlurmOverlayOptions = {}) {}

  /**
   * This machine's folders and scheduler. A folder whose status is inferred
   * has no status file, which Expdesk writes before sbatch, so it holds no
   * record (the SSH backend's rule): a listing checks for the record only
   * where a status file is (5,000 seed-written runs: no check at all).
   */
  static local(): SlurmOverlay {
    return new SlurmOverlay({
      mayHoldRecord: (dir, s) => s.status.source !== 'inferred' && existsSync(path.join(dir, SLURM_RECORD)),
    });
  }

  /** The summaries with SLURM's word added (new objects; the others as they were). */
  /** `all`: ask about ended jobs too (a detail view: exit code, elapsed time); else only live ones. */
  async apply(summaries: ExperimentSummary[], all = false): Promise<ExperimentSummary[]> {
    const folderOf = this.options.folderOf ?? ((s: ExperimentSummary) => s.path);
    const may = this.options.mayHoldRecord;
    const picked = summaries
      .map((s, i) => ({ s, i, folder: folderOf(s) }))
      .filter(({ s }) => all || !ENDED.has(s.status.state))
      .filter(({ s, folder }) => !may || may(folder, s));
    if (picked.length === 0) return summaries;
    this.executor ??= this.makeExecutor().catch((err: unknown) => {
      this.executor = null; // tried again by the next listing
      throw err;
    });
    const judged = await (
      await this.executor
    ).judge(
      picked.map(({ folder }) => folder),
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

  private async makeExecutor(): Promise<SlurmExecutor> {
    const [{ SlurmExecutor }, site] = await Promise.all([
      import('./slurm-executor'),
      this.options.site ? this.options.site() : import('./slurm-local').then((m) => m.localSlurmSite()),
    ]);
    return new SlurmExecutor(site, { poll: this.options.poll ?? { minMs: 15_000, maxMs: 120_000 } });
  }
}
