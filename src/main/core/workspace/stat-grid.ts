/**
 * Stats as fs-batch.ts's workers answer them: a grid of (size, mtime, inode)
 * triples in one Float64Array, read as numbers, with an object made only for
 * a stat asked for.
 */

/** What a listing needs of a file's stat. */
export interface StatSig {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** A failed stat as it crosses from a worker: its code and message. */
export interface WireError {
  code: string;
  message: string;
}

export function toError(e: WireError): NodeJS.ErrnoException {
  return Object.assign(new Error(e.message), { code: e.code });
}

/** One stat's answer: a missing file is null, a failed stat its error. */
export type StatOutcome = StatSig | null | NodeJS.ErrnoException;

/**
 * Stats of many files in a grid: `rows` (folders) by columns (names in
 * them), or one column of files. The signatures stay numbers in one array:
 * a listing's 45,000 stats make no object each unless asked for.
 */
export class StatGrid {
  constructor(
    readonly rows: number,
    readonly cols: number,
    /** size, mtimeMs, ino per stat; size -1 when missing, -2 when the stat failed. */
    private readonly values: Float64Array,
    private readonly errors: ReadonlyMap<number, WireError>,
  ) {}

  /** Whether the file at (row, col) exists: false when missing, null when its stat failed. */
  exists(row: number, col: number): boolean | null {
    const size = this.values[3 * (row * this.cols + col)]!;
    return size === -1 ? false : size === -2 ? null : true;
  }

  /**
   * Whether the stat at (row, col) is the triple at v[at] in the grid's form
   * (size, mtimeMs, ino; size -1 and zeros when missing, -2 and zeros when
   * the stat failed): a listing checks its cache without an object a file.
   */
  same(row: number, col: number, v: ArrayLike<number>, at: number): boolean {
    const k = 3 * (row * this.cols + col);
    const a = this.values;
    return a[k] === v[at] && a[k + 1] === v[at + 1] && a[k + 2] === v[at + 2];
  }

  /** The file's mtime, null when it is missing or its stat failed. */
  mtimeMs(row: number, col: number): number | null {
    const k = 3 * (row * this.cols + col);
    return this.values[k]! < 0 ? null : this.values[k + 1]!;
  }

  /** Whether any stat of the grid failed (other than a missing file). */
  anyFailed(): boolean {
    return this.errors.size > 0;
  }

  /** The latest mtime of the files found, or -Infinity when none was. */
  latestMtimeMs(): number {
    let latest = -Infinity;
    const a = this.values;
    for (let k = 0; k < a.length; k += 3) if (a[k]! >= 0 && a[k + 1]! > latest) latest = a[k + 1]!;
    return latest;
  }

  /** Every signature of the grid, as bytes (size, mtimeMs, ino per stat), for a digest of them. */
  bytes(): Uint8Array {
    return new Uint8Array(this.values.buffer, this.values.byteOffset, this.values.byteLength);
  }

  /** The file's signature, null when missing, the error when its stat failed. */
  outcome(row: number, col: number): StatOutcome {
    const k = row * this.cols + col;
    const size = this.values[3 * k]!;
    if (size === -1) return null;
    if (size === -2) return toError(this.errors.get(k)!);
    return { size, mtimeMs: this.values[3 * k + 1]!, ino: this.values[3 * k + 2]! };
  }
}

/** One folder's row of a grid, and where each of the names asked for is in it. */
export interface StatRow {
  grid: StatGrid;
  row: number;
  /** The grid's column of each name asked for, in that order. */
  cols: readonly number[];
}
