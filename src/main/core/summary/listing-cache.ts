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
import type { StatGrid, StatSig } from '../workspace/fs-batch';
import type { SummaryParts } from './summary-build';
import { SummaryDiskCache, type EntryCodec } from './summary-disk-cache';

/** Bump when a record's shape changes (the summary's semantics bump CACHE_VERSION, which this follows). */
export const LISTED_FORMAT = 3;

/** A file's signature (size, mtime, inode), null when it is missing. */
export type FileSig = StatSig | null;

/** What a file that exists but cannot be statted (EACCES, …) is recorded as: read, and its problem reported. */
export const UNSTATTABLE_SIG: NonNullable<FileSig> = Object.freeze({ size: -1, mtimeMs: -1, ino: -1 });

/** A grid's signature: null for a missing file, UNSTATTABLE_SIG for a failed stat. */
export function sigAt(grid: StatGrid, row: number, col: number): FileSig {
  const o = grid.outcome(row, col);
  return o instanceof Error ? UNSTATTABLE_SIG : o;
}

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

interface TableRecord {
  version: number;
  dir: string;
  /**
   * The signatures it was made from (the small files', metrics', system's),
   * three numbers each in StatGrid's form (encodeSig): compared with a
   * listing's stats as numbers, no object a file.
   */
  sigv: Float64Array;
  core: TableCore;
  /** FAILED.txt's step (its traceback is in the rest), the status file, the final checkpoint. */
  failedStep: number | null | undefined;
  statusFile: SummaryParts['statusFile'];
  hasFinalCheckpoint: boolean;
}

/** A signature in StatGrid's form at out[at]: size, mtimeMs, ino; size -1 when missing, -2 when unstattable. */
function encodeSig(s: FileSig, out: Float64Array, at: number): void {
  if (s === null) out.set([-1, 0, 0], at);
  else if (s.size < 0) out.set([-2, 0, 0], at);
  else out.set([s.size, s.mtimeMs, s.ino], at);
}

/** The signatures in StatGrid's form, the small files' then metrics' then system's. */
function encodeSigs(made: Sigs, nKeys: number): Float64Array {
  const out = new Float64Array((nKeys + 2) * 3);
  for (let k = 0; k < nKeys; k++) encodeSig(made.sigs[k]!, out, 3 * k);
  encodeSig(made.metricsSig, out, 3 * nKeys);
  encodeSig(made.systemSig, out, 3 * nKeys + 3);
  return out;
}

function sameEncoded(s: FileSig, v: Float64Array, at: number): boolean {
  if (s === null) return v[at] === -1;
  if (s.size < 0) return v[at] === -2;
  return v[at] === s.size && v[at + 1] === s.mtimeMs && v[at + 2] === s.ino;
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
    v.sigv instanceof Float64Array &&
    v.sigv.length === (keys.length + 2) * 3 &&
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

/** Whether a table record was made from files with these signatures. */
function madeFrom(t: TableRecord, now: Sigs, n: number): boolean {
  const v = t.sigv;
  if (!sameEncoded(now.metricsSig, v, 3 * n) || !sameEncoded(now.systemSig, v, 3 * n + 3)) return false;
  for (let i = 0; i < n; i++) if (!sameEncoded(now.sigs[i]!, v, 3 * i)) return false;
  return true;
}

/** A folder's stats as discovery took them: its row of the grid, and the grid's column of each file. */
export interface GridSigs {
  grid: StatGrid;
  row: number;
  /** The grid's column of the small files', metrics' and system's stats, in the records' order. */
  cols: readonly number[];
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
  /**
   * Every record's signatures (the small files', metrics', system's), three
   * numbers each in StatGrid's form, as little-endian float64s in base64: a
   * warm listing's parse takes one string, not 150,000 numbers, and its
   * check compares numbers in place.
   */
  sigs: string;
  core: Record<(typeof TABLE_FIELDS)[number], unknown[]>;
  /** FAILED.txt's step; false when there is none (undefined has no JSON form). */
  failedStep: (number | null | false)[];
  statusFile: unknown[];
  hasFinalCheckpoint: unknown[];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function floatsToBase64(values: Float64Array): string {
  const bytes = Buffer.alloc(values.length * 8);
  if (LITTLE_ENDIAN) bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  else values.forEach((x, i) => bytes.writeDoubleLE(x, i * 8));
  return bytes.toString('base64');
}

/** The floats back, or null when the text is not `count` of them. */
function base64ToFloats(text: unknown, count: number): Float64Array | null {
  if (typeof text !== 'string') return null;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== count * 8) return null;
  const out = new Float64Array(count);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes);
  else for (let i = 0; i < count; i++) out[i] = bytes.readDoubleLE(i * 8);
  return out;
}

function tableCodec(version: number, nKeys: number): EntryCodec<TableRecord> {
  const files = nKeys + 2;
  return {
    encode(entries) {
      const c: Omit<TableColumns, 'sigs'> = {
        keys: [],
        core: Object.fromEntries(TABLE_FIELDS.map((f) => [f, []])) as unknown as TableColumns['core'],
        failedStep: [],
        statusFile: [],
        hasFinalCheckpoint: [],
      };
      const sigs = new Float64Array(entries.size * files * 3);
      let i = 0;
      for (const [key, r] of entries) {
        c.keys.push(key);
        sigs.set(r.sigv, i++ * files * 3);
        for (const f of TABLE_FIELDS) c.core[f].push(r.core[f]);
        c.failedStep.push(r.failedStep === undefined ? false : r.failedStep);
        c.statusFile.push(r.statusFile);
        c.hasFinalCheckpoint.push(r.hasFinalCheckpoint);
      }
      return { ...c, sigs: floatsToBase64(sigs) } satisfies TableColumns;
    },
    decode(v) {
      if (!isObject(v)) return null;
      const c = v as Partial<TableColumns>;
      const n = Array.isArray(c.keys) ? c.keys.length : -1;
      const col = (a: unknown): a is unknown[] => Array.isArray(a) && a.length === n;
      const core = c.core as Record<string, unknown> | undefined;
      const flat = n >= 0 ? base64ToFloats(c.sigs, n * files * 3) : null;
      if (
        !flat ||
        !col(c.failedStep) ||
        !col(c.statusFile) ||
        !col(c.hasFinalCheckpoint) ||
        !isObject(core) ||
        !TABLE_FIELDS.every((f) => col(core[f]))
      )
        return null;
      const { keys, failedStep, statusFile, hasFinalCheckpoint } = c as TableColumns;
      const cols = c.core as TableColumns['core'];
      // A record's fields are checked by ListingCache's valid() as the file is read (isTableRecord).
      const out = new Map<string, TableRecord>();
      for (let i = 0; i < n; i++) {
        const dir = keys[i];
        const step = failedStep[i];
        if (typeof dir !== 'string' || (step !== null && step !== false && typeof step !== 'number'))
          continue;
        // One object shape for all (a literal, not keys added one by one): 5,000 of them a listing.
        const core = {
          name: cols.name[i],
          algorithm: cols.algorithm[i],
          total_steps: cols.total_steps[i],
          final_loss: cols.final_loss[i],
          final_loss_nonfinite: cols.final_loss_nonfinite[i],
          final_eval: cols.final_eval[i],
          problems: cols.problems[i],
        } satisfies Record<(typeof TABLE_FIELDS)[number], unknown>;
        out.set(dir, {
          version,
          dir,
          sigv: flat.subarray(i * files * 3, (i + 1) * files * 3),
          core: core as TableCore,
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
    if (!t || !madeFrom(t, now, n)) return t && null;
    return this.partsOf(dir, t, now, tableOnly);
  }

  /**
   * peek() given the folder's stats as discovery took them (a grid's row),
   * compared as numbers: a warm text listing makes no object per file.
   */
  peekGrid(dir: string, { grid, row, cols }: GridSigs, tableOnly: boolean): SummaryParts | null | undefined {
    const t = this.table.peek(dir);
    if (!t) return t;
    for (let j = 0; j < cols.length; j++) if (!grid.same(row, cols[j]!, t.sigv, 3 * j)) return null;
    if (tableOnly) return this.partsOf(dir, t, null, true);
    const sig = (j: number): FileSig => sigAt(grid, row, cols[j]!);
    const n = this.keys.length;
    const sigs = Array.from({ length: n }, (_, j) => sig(j));
    return this.partsOf(dir, t, { sigs, metricsSig: sig(n), systemSig: sig(n + 1) }, false);
  }

  /** The parts of a table record that matched, with the rest's unless only the table is asked. */
  private partsOf(
    dir: string,
    t: TableRecord,
    now: Sigs | null,
    tableOnly: boolean,
  ): SummaryParts | null | undefined {
    const n = this.keys.length;
    const r = tableOnly ? null : this.rest.peek(dir);
    if (r === undefined) return undefined;
    if (!tableOnly && (!r || !now || !sameSigs(now, r, n))) return null;
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
      version,
      dir,
      sigv: encodeSigs(made, this.keys.length),
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
