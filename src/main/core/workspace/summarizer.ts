/**
 * What listing, detail and comparison need of the summary layer: one
 * summary per experiment folder. Declared here, below summary/, so the
 * workspace layer never imports the layer above it; SummaryStore
 * (summary/summary-store.ts) is the implementation.
 */
import type { ExperimentSummary, WorkspaceListing } from '../../../shared/model';
import type { StatRow } from './fs-batch';

export interface SummarizeOptions {
  /**
   * The caller shows only the text table's columns (status, name,
   * algorithm, steps, final loss, final eval, problems): the other fields
   * (metrics, model, git, params, FAILED.txt's traceback…) may come back
   * empty where that is cheaper (the listing cache's table file alone).
   */
  tableOnly?: boolean;
}

/** How to list a workspace (ExperimentBackend.list). */
export interface ListOptions extends SummarizeOptions {
  /**
   * Only the first `limit` experiments, in the listing's order: the app's first screenful
   * of a large workspace (the whole listing follows).
   */
  limit?: number;
}

/**
 * A listing unless the text table kept from an earlier one still holds
 * (ExperimentBackend.listUnlessKept): `fingerprint` says what the listing
 * was made from, null where it cannot be kept (cli/list-snapshot.ts).
 */
export type KeptListing =
  { unchanged: true } | { unchanged: false; listing: WorkspaceListing; fingerprint: string | null };

export interface Summarizer {
  summarize(dir: string, opts?: SummarizeOptions): Promise<ExperimentSummary>;
  /**
   * Optional: get ready to summarize many folders at once (one batch of
   * stats); call the returned function when done. `statted`: the stats of
   * `inputs` already taken for some folders (by discovery), in that order.
   */
  prepare?(
    dirs: string[],
    opts?: SummarizeOptions,
    statted?: ReadonlyMap<string, StatRow>,
  ): Promise<() => void>;
  /**
   * Optional: the files (relative to an experiment folder) whose stats
   * prepare() needs. Discovery stats them with its marker, in the same batch,
   * so that a listing makes one round of stats, not two.
   */
  readonly inputs?: readonly string[];
  /** Optional: the summary prepare() could make already (nothing changed), without a promise; else undefined. */
  takePrepared?(dir: string): ExperimentSummary | undefined;
  /** Optional: a listing of `root` begins; read what it will need (the cache) while discovery runs. */
  expect?(root: string, opts?: SummarizeOptions): void;
}
