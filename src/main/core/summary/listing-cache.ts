/**
 * The listing cache: per experiment, only what a listing needs — the input
 * files' signatures and the summary's parts (summary-build.ts) — in files
 * beside the full cache (summary-disk-cache.ts), one per folder of
 * experiments. A warm listing reads these alone: the full entries, with the
 * metrics reader's and fold's state for resuming metrics.jsonl at its byte
 * offset (most of a listing's parse and GC), are read only when some
 * experiment's files changed, or for a detail, a follow or a remote
 * workspace. The per-metric statistics (two thirds of a record) sit in a
 * file of their own, read only by listings that show them (the app's
 * columns, `list --json`), not by the text table.
 *
 * A record is trusted only while every signature matches, like a full entry;
 * a damaged file (cut short by a crash, edited, another version's) is
 * ignored as a whole and rebuilt from the full entries or the files.
 */
import path from 'node:path';
import type { StatSig } from '../workspace/fs-batch';
import type { SummaryParts } from './summary-build';
import { SummaryDiskCache, type EntryCodec } from './summary-disk-cache';

/** Bump when a record's shape changes (the summary's semantics bump CACHE_VERSION, which this follows). */
export const LISTED_FORMAT = 2;

/** A file's signature (size, mtime, inode), null when it is missing. */
export type FileSig = StatSig | null;

export function sameSig(a: FileSig, b: FileSig): boolean {
  if (a === null || b === null) return a === b;
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/** The signatures a summary was made from. */
export interface Sigs {
  /** The small files' (config.yaml, metadata.json, …), in the order of the keys given to ListingCache. */
  sigs: readonly FileSig[];
  /** metrics.jsonl's (or the TensorBoard / MLflow source's). */
  metricsSig: FileSig;
  systemSig: FileSig;
}

/** What the text table shows of a summary (and what its status needs); everything else is in RestRecord. */
type TableCore = Pick<
  SummaryParts['core'],
  'name' | 'algorithm' | 'total_steps' | 'final_loss' | 'final_loss_nonfinite' | 'final_eval' | 'problems'
>;

interface TableRecord extends Sigs {
  version: number;
  dir: string;
  core: TableCore;
  /** FAILED.txt's step (its traceback is in the rest), the status file, the final checkpoint. */
  failedStep: number | null | undefined;
  statusFile: SummaryParts['statusFile'];
  hasFinalCheckpoint: boolean;
}

/** The rest of the parts, made from the same files (checked alike). */
interface RestRecord extends Sigs {
  version: number;
  dir: string;
  core: Omit<SummaryParts['core'], keyof TableCore>;
  traceback: string | null;
  startedAt: string | null;
}

function isSig(v: unknown): v is FileSig {
  if (v === null) return true;
  if (typeof v !== 'object') return false;
  const s = v as Record<string, unknown>;
  return typeof s.size === 'number' && typeof s.mtimeMs === 'number' && typeof s.ino === 'number';
}

/** Whether an object read from disk has the shape written: a foreign or edited file costs a re-read, never a crash. */
function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function madeFromSigs(v: Sigs, keys: readonly string[]): boolean {
  return (
    Array.isArray(v.sigs) &&
    v.sigs.length === keys.length &&
    v.sigs.every(isSig) &&
    isSig(v.metricsSig) &&
    isSig(v.systemSig)
  );
}

function isTableRecord(v: TableRecord, keys: readonly string[]): boolean {
  const c: unknown = v.core;
  return (
    madeFromSigs(v, keys) &&
    isObject(c) &&
    typeof c.name === 'string' &&
    Array.isArray(c.problems) &&
    typeof v.hasFinalCheckpoint === 'boolean'
  );
}

function sameSigs(a: Sigs, b: Sigs, n: number): boolean {
  if (!sameSig(a.metricsSig, b.metricsSig) || !sameSig(a.systemSig, b.systemSig)) return false;
  for (let i = 0; i < n; i++) if (!sameSig(a.sigs[i]!, b.sigs[i]!)) return false;
  return true;
}

/** The table's core fields, a column each in the table file. */
const TABLE_FIELDS = [
  'name',
  'algorithm',
  'total_steps',
  'final_loss',
  'final_loss_nonfinite',
  'final_eval',
  'problems',
] as const satisfies readonly (keyof TableCore)[];

/**
 * The table file's form: one array per field rather than an object per
 * record, so that a warm listing's JSON.parse makes a few arrays of numbers
 * and strings, not 5,000 records of 10 objects with their keys (the file
 * shrinks to about half, its parse and garbage more).
 */
interface TableColumns {
  keys: string[];
  /** Per record: each file (small files, metrics, system) as size, mtimeMs, ino; a missing one as null ×3. */
  sigs: (number | null)[];
  core: Record<(typeof TABLE_FIELDS)[number], unknown[]>;
  /** FAILED.txt's step; false when there is none (undefined has no JSON form). */
  failedStep: (number | null | false)[];
  statusFile: unknown[];
  hasFinalCheckpoint: unknown[];
}

function tableCodec(version: number, nKeys: number): EntryCodec<TableRecord> {
  const files = nKeys + 2;
  return {
    encode(entries) {
      const c: TableColumns = {
        keys: [],
        sigs: [],
        core: Object.fromEntries(TABLE_FIELDS.map((f) => [f, []])) as unknown as TableColumns['core'],
        failedStep: [],
        statusFile: [],
        hasFinalCheckpoint: [],
      };
      for (const [key, r] of entries) {
        c.keys.push(key);
        for (const s of [...r.sigs, r.metricsSig, r.systemSig])
          if (s) c.sigs.push(s.size, s.mtimeMs, s.ino);
          else c.sigs.push(null, null, null);
        for (const f of TABLE_FIELDS) c.core[f].push(r.core[f]);
        c.failedStep.push(r.failedStep === undefined ? false : r.failedStep);
        c.statusFile.push(r.statusFile);
        c.hasFinalCheckpoint.push(r.hasFinalCheckpoint);
      }
      return c;
    },
    decode(v) {
      if (!isObject(v)) return null;
      const c = v as Partial<TableColumns>;
      const n = Array.isArray(c.keys) ? c.keys.length : -1;
      const col = (a: unknown): a is unknown[] => Array.isArray(a) && a.length === n;
      const core = c.core as Record<string, unknown> | undefined;
      if (
        !col(c.failedStep) ||
        !col(c.statusFile) ||
        !col(c.hasFinalCheckpoint) ||
        !Array.isArray(c.sigs) ||
        c.sigs.length !== n * files * 3 ||
        !isObject(core) ||
        !TABLE_FIELDS.every((f) => col(core[f]))
      )
        return null;
      const { keys, sigs: flat, failedStep, statusFile, hasFinalCheckpoint } = c as TableColumns;
      const cols = c.core as TableColumns['core'];
      // A record's fields are checked by ListingCache's valid() as the file is read (isTableRecord).
      const sigAt = (j: number): FileSig => {
        const [size, mtimeMs, ino] = [flat[j], flat[j + 1], flat[j + 2]];
        return size === null && mtimeMs === null && ino === null ? null : ({ size, mtimeMs, ino } as StatSig);
      };
      const out = new Map<string, TableRecord>();
      for (let i = 0; i < n; i++) {
        const dir = keys[i];
        const step = failedStep[i];
        if (typeof dir !== 'string' || (step !== null && step !== false && typeof step !== 'number'))
          continue;
        const at = i * files * 3;
        const sigs: FileSig[] = [];
        for (let k = 0; k < nKeys; k++) sigs.push(sigAt(at + k * 3));
        const record = {} as Record<string, unknown>;
        for (const f of TABLE_FIELDS) record[f] = cols[f][i];
        out.set(dir, {
          version,
          dir,
          sigs,
          metricsSig: sigAt(at + nKeys * 3),
          systemSig: sigAt(at + nKeys * 3 + 3),
          core: record as unknown as TableCore,
          failedStep: step === false ? undefined : step,
          statusFile: statusFile[i] as TableRecord['statusFile'],
          hasFinalCheckpoint: hasFinalCheckpoint[i] as boolean,
        });
      }
      return out;
    },
  };
}

export class ListingCache {
  private readonly table: SummaryDiskCache<TableRecord>;
  private readonly rest: SummaryDiskCache<RestRecord>;

  constructor(
    dir: string,
    private readonly version: number,
    /** The small files, in the order of every record's `sigs`. */
    private readonly keys: readonly string[],
  ) {
    this.table = new SummaryDiskCache(
      dir,
      version,
      (r) => isTableRecord(r, keys),
      tableCodec(version, keys.length),
    );
    this.rest = new SummaryDiskCache(path.join(dir, 'rest'), version, (r) =>
      Boolean(madeFromSigs(r, keys) && isObject(r.core) && isObject(r.core.metrics)),
    );
  }

  /** Read the file holding `dir`'s record (and the rest's unless only the table is asked), once per process. */
  async load(dir: string, tableOnly: boolean): Promise<void> {
    await Promise.all([this.table.get(dir), tableOnly ? null : this.rest.get(dir)]);
  }

  /** The status's inputs kept for `dir`, whatever their signatures (whether a status may be inferred). */
  async statusInputs(dir: string): Promise<StatusInputs | null> {
    return this.peekStatusInputs(dir) ?? statusInputsOf(await this.table.get(dir));
  }

  /** statusInputs() without a promise, once the file is read (else undefined). */
  peekStatusInputs(dir: string): StatusInputs | null | undefined {
    const r = this.table.peek(dir);
    return r === undefined ? undefined : statusInputsOf(r);
  }

  /**
   * The parts kept for `dir` if they were made from files with these
   * signatures; null when anything differs or is missing. `tableOnly`: only
   * the text table's fields and the status are sure to be there (metrics,
   * model, git, params… are left empty, FAILED.txt's traceback out).
   */
  async get(dir: string, now: Sigs, tableOnly: boolean): Promise<SummaryParts | null> {
    const known = this.peek(dir, now, tableOnly);
    if (known !== undefined) return known;
    await this.load(dir, tableOnly);
    return this.peek(dir, now, tableOnly) ?? null;
  }

  /** get() without a promise, once the files are read (else undefined). */
  peek(dir: string, now: Sigs, tableOnly: boolean): SummaryParts | null | undefined {
    const n = this.keys.length;
    const t = this.table.peek(dir);
    if (!t || !sameSigs(now, t, n)) return t && null;
    const r = tableOnly ? null : this.rest.peek(dir);
    if (r === undefined) return undefined;
    if (!tableOnly && (!r || !sameSigs(now, r, n))) return null;
    return {
      core: r ? { ...t.core, ...r.core } : tableCoreOf(t.core),
      failed: failedOf(t, r),
      statusFile: t.statusFile,
      hasFinalCheckpoint: t.hasFinalCheckpoint,
      startedAt: r ? r.startedAt : null,
    };
  }

  /**
   * Keep the parts made from files with these signatures; they reach the
   * disk at the next write(). `tableOnly` (a text listing): only the table's
   * record, so that a first listing writes less; the first full listing
   * after it writes the rest (its record is missing: a full read, once).
   */
  put(dir: string, made: Sigs, parts: SummaryParts, tableOnly = false): void {
    const { version } = this;
    const at = {
      version,
      dir,
      sigs: made.sigs.slice(0, this.keys.length),
      metricsSig: made.metricsSig,
      systemSig: made.systemSig,
    };
    const { name, algorithm, total_steps, final_loss, final_loss_nonfinite, final_eval, problems, ...rest } =
      parts.core;
    this.table.put({
      ...at,
      core: { name, algorithm, total_steps, final_loss, final_loss_nonfinite, final_eval, problems },
      failedStep: parts.failed ? parts.failed.step : undefined,
      statusFile: parts.statusFile,
      hasFinalCheckpoint: parts.hasFinalCheckpoint,
    });
    if (tableOnly) return;
    this.rest.put({
      ...at,
      core: rest,
      traceback: parts.failed?.traceback ?? null,
      startedAt: parts.startedAt,
    });
  }

  hasPending(): boolean {
    return this.table.hasPending() || this.rest.hasPending();
  }

  /** Write what was kept since the last write (temporary file + rename each). */
  async write(): Promise<void> {
    await Promise.all([this.table.write(), this.rest.write()]);
  }
}

/**
 * A text listing's core: the table's fields, and empty ones where the rest is not read, field by field
 * (one object of one shape; object spread of records read from JSON was most
 * of a warm listing's lookups).
 */
function tableCoreOf(t: TableCore): SummaryParts['core'] {
  return {
    name: t.name,
    algorithm: t.algorithm,
    total_steps: t.total_steps,
    final_loss: t.final_loss,
    final_loss_nonfinite: t.final_loss_nonfinite,
    final_eval: t.final_eval,
    problems: t.problems,
    model: null,
    gitHash: null,
    gitDirty: null,
    metrics: {},
    records: 0,
    malformedLines: 0,
    diverged: null,
    gpu: null,
  };
}

/** What a status is decided from, of the files (the clock and the logs' mtimes aside). */
export type StatusInputs = Pick<SummaryParts, 'failed' | 'statusFile' | 'hasFinalCheckpoint'>;

function statusInputsOf(r: TableRecord | null): StatusInputs | null {
  return (
    r && { failed: failedOf(r, null), statusFile: r.statusFile, hasFinalCheckpoint: r.hasFinalCheckpoint }
  );
}

/** FAILED.txt's info: absent (`failedStep` undefined), or its step and (when read) traceback. */
function failedOf(t: TableRecord, r: RestRecord | null): SummaryParts['failed'] {
  return t.failedStep === undefined ? null : { step: t.failedStep, traceback: r?.traceback ?? '' };
}
