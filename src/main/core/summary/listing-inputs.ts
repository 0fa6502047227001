/**
 * What a listing stats of every experiment folder, in a module of its own:
 * the CLI's entry stats a large folder's experiments with these names before
 * the listing's modules load (cli/list-early.ts), and the listing finds those
 * stats taken (workspace/fs-batch.ts prefetchStatGrid).
 */
import path from 'node:path';
import { LAYOUT } from '../workspace/layout';

/** The small files a summary is made from (read by small-files.ts), by key. */
export const SMALL_FILES = {
  config: LAYOUT.config,
  metadata: LAYOUT.metadata,
  failed: LAYOUT.failed,
  status: LAYOUT.status,
  final: path.join(LAYOUT.checkpoints, 'final'),
  annotations: LAYOUT.annotations,
} as const;
export type SmallKey = keyof typeof SMALL_FILES;
export const SMALL_KEYS = Object.keys(SMALL_FILES) as SmallKey[];

/**
 * Logs whose mtime tells whether a seed-written run is still writing, besides
 * logs/metrics.jsonl (statted anyway). They matter only where no status file,
 * FAILED.txt or final checkpoint decides the status.
 */
export const ACTIVITY_FILES = [
  path.join(LAYOUT.logs, 'train.log'),
  path.join(LAYOUT.logs, 'train_rank0.log'),
];

/**
 * What SummaryStore.prepare() stats of every folder, in this order: the small
 * files, metrics, system. Each guards what no other stat sees: config.yaml,
 * metadata.json and the notes are edited in place (an editor's save keeps
 * the inode, can keep the size); FAILED.txt and the status file may be
 * rewritten in place by whatever writes them (the seed's Python, a job
 * script); checkpoints/final is a folder whose presence sets the status;
 * metrics.jsonl and system.jsonl grow by appends. The experiment folder's
 * mtime would cover only files created, removed or renamed into place, not
 * an in-place write, nor (on file systems with 1–2 s timestamps) a change
 * within the same tick as the cache record, so no file's stat is traded for
 * its folder's (issue 14: a warm listing's correctness over its stats).
 */
export const STATTED = [...SMALL_KEYS.map((k) => SMALL_FILES[k]), LAYOUT.metrics, LAYOUT.system];

/** Everything a whole listing stats of every folder, in one batch with discovery's markers. */
export const LISTING_INPUTS: readonly string[] = [...STATTED, ...ACTIVITY_FILES];
