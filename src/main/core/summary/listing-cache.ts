/**
 * The listing cache: per experiment, only what a listing needs — the input
 * files' signatures and the summary's parts (summary-build.ts) — one file per
 * folder of experiments like the full cache (summary-disk-cache.ts), beside
 * it. A warm listing reads this file alone: the full entries, with the
 * metrics reader's and fold's state for resuming metrics.jsonl at its byte
 * offset (~2.5× larger, most of a listing's parse and GC), are read only when
 * some experiment's files changed, or for a detail, a follow or a remote
 * workspace.
 *
 * A record is trusted only while every signature matches, like a full entry;
 * a damaged file (cut short by a crash, edited, another version's) is
 * ignored as a whole and rebuilt from the full entries or the files.
 */
import type { StatSig } from '../workspace/fs-batch';
import type { SummaryParts } from './summary-build';

/** A file's signature, null when it is missing (summary-store.ts's FileSig). */
type FileSig = StatSig | null;

/** Bump when the record's shape changes (the summary's semantics bump CACHE_VERSION, which this follows). */
export const LISTED_FORMAT = 1;

export interface ListedRecord {
  version: number;
  dir: string;
  sigs: Record<string, FileSig>;
  /** metrics.jsonl's (or the TensorBoard / MLflow source's) signature. */
  metricsSig: FileSig;
  systemSig: FileSig;
  parts: SummaryParts;
}

function isSig(v: unknown): v is FileSig {
  if (v === null) return true;
  if (typeof v !== 'object') return false;
  const s = v as Record<string, unknown>;
  return typeof s.size === 'number' && typeof s.mtimeMs === 'number' && typeof s.ino === 'number';
}

/**
 * Whether a record read from disk has the shape written (a hand-edited or
 * foreign file must cost a re-read, never a crash or a wrong listing).
 */
export function isListedRecord(v: unknown, keys: readonly string[]): v is ListedRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<ListedRecord>;
  const p = r.parts;
  return (
    typeof r.sigs === 'object' &&
    r.sigs !== null &&
    keys.every((k) => isSig(r.sigs![k])) &&
    isSig(r.metricsSig) &&
    isSig(r.systemSig) &&
    typeof p === 'object' &&
    p !== null &&
    typeof p.core === 'object' &&
    p.core !== null &&
    typeof p.core.name === 'string' &&
    Array.isArray(p.core.problems) &&
    typeof p.core.metrics === 'object' &&
    typeof p.hasFinalCheckpoint === 'boolean'
  );
}
