/**
 * A summary cache entry (what SummaryStore keeps per folder, in memory and
 * on disk) and the signatures it is checked by.
 */
import type { MetricsFoldState } from '../../../shared/metrics-summary';
import type { Problem } from '../../../shared/model';
import type { MetricsTailState } from '../metrics/metrics-tail';
import { statSig } from '../workspace/fs-batch';
import type { Derived } from './derive';
import { UNSTATTABLE_SIG, type FileSig } from './listing-cache';
import { SMALL_KEYS, type SmallKey } from './listing-inputs';

export interface CacheEntry {
  version: number;
  /** The folder's path, or a remote location (`ssh://…`): the cache key. */
  dir: string;
  sigs: Record<SmallKey, FileSig>;
  metricsSig: FileSig;
  derived: Derived;
  tail: MetricsTailState;
  fold: MetricsFoldState;
  /**
   * Why metrics.jsonl could not be read at its current signature (a FIFO,
   * permission denied), kept apart from the small files' problems so that it
   * lasts exactly as long as that file does.
   */
  metricsProblem?: Problem | null;
  /**
   * logs/system.jsonl (the run wrapper's samples) read like metrics.jsonl:
   * its signature, reader state and fold, for the summary's GPU fields.
   * Absent for entries that never read one (remote workspaces).
   */
  system?: { sig: FileSig; tail: MetricsTailState; fold: MetricsFoldState } | null;
}

/** null for a missing file, UNSTATTABLE_SIG for one that cannot be statted (EACCES, …); never throws. */
export async function sigOf(file: string): Promise<FileSig> {
  try {
    return await statSig(file);
  } catch {
    return UNSTATTABLE_SIG;
  }
}

/** The small files' signatures by key, from their list in SMALL_KEYS' order. */
export function sigsByKey(list: FileSig[]): Record<SmallKey, FileSig> {
  const out = {} as Record<SmallKey, FileSig>;
  for (let i = 0; i < SMALL_KEYS.length; i++) out[SMALL_KEYS[i]!] = list[i]!;
  return out;
}

/** What the signatures of an entry's files were when it was made. */
export function madeFrom(entry: CacheEntry): { sigs: FileSig[]; metricsSig: FileSig; systemSig: FileSig } {
  return {
    sigs: SMALL_KEYS.map((k) => entry.sigs[k]),
    metricsSig: entry.metricsSig,
    systemSig: entry.system?.sig ?? null,
  };
}
