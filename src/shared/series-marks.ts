/**
 * What a chart needs beside the downsampled line to tell the truth about a
 * series (issue 12): where its non-finite values are, which kind each is
 * (NaN, +Inf, −Inf: a line has only gaps for them), and the range of its
 * finite values without the outliers (the axis' "ignore outliers"). Both are
 * computed on the full-resolution column over the visible x range.
 *
 * Pure, one pass each.
 */
import type { XRange } from './downsample';

export type NonFiniteKind = 'nan' | '+inf' | '-inf';

export interface NonFiniteMarks {
  /** Marked points in x order: per bucket, the first of each kind. */
  x: number[];
  kind: NonFiniteKind[];
  /** Every non-finite point in range, by kind. */
  nan: number;
  posInf: number;
  negInf: number;
}

/** Columns of one series: x and y, the first `length` points used. */
export interface MarkColumns {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  length: number;
}

function kindOf(v: number): NonFiniteKind {
  return v === Infinity ? '+inf' : v === -Infinity ? '-inf' : 'nan';
}

const KINDS: readonly NonFiniteKind[] = ['nan', '+inf', '-inf'];

/**
 * The non-finite points of the series with x in `range` (all, when null),
 * at most one mark per kind per bucket of `buckets` equal x widths; null when
 * there are none. Points with a non-finite x are not drawn and not counted.
 */
export function nonFiniteMarks(s: MarkColumns, range: XRange | null, buckets: number): NonFiniteMarks | null {
  const { x, y, length } = s;
  const lo = range ? Math.min(range.min, range.max) : -Infinity;
  const hi = range ? Math.max(range.min, range.max) : Infinity;
  const hits: number[] = [];
  let xMin = Infinity;
  let xMax = -Infinity;
  for (let i = 0; i < length; i++) {
    const yv = y[i]!;
    if (yv - yv === 0) continue;
    const xv = x[i]!;
    if (!(xv >= lo && xv <= hi) || xv - xv !== 0) continue;
    hits.push(i);
    if (xv < xMin) xMin = xv;
    if (xv > xMax) xMax = xv;
  }
  if (hits.length === 0) return null;
  const n = Math.max(1, Math.floor(buckets));
  const scale = xMax > xMin ? n / (xMax - xMin) : 0;
  const seen = new Uint8Array(n * 3);
  const picked: number[] = [];
  const out: NonFiniteMarks = { x: [], kind: [], nan: 0, posInf: 0, negInf: 0 };
  for (const i of hits) {
    const kind = kindOf(y[i]!);
    if (kind === 'nan') out.nan++;
    else if (kind === '+inf') out.posInf++;
    else out.negInf++;
    const b = Math.min(n - 1, ((x[i]! - xMin) * scale) | 0) * 3 + KINDS.indexOf(kind);
    if (seen[b]) continue;
    seen[b] = 1;
    picked.push(i);
  }
  picked.sort((a, b) => x[a]! - x[b]! || a - b);
  for (const i of picked) {
    out.x.push(x[i]!);
    out.kind.push(kindOf(y[i]!));
  }
  return out;
}

let scratch = new Float64Array(1024);

/**
 * The `lower` and `upper` quantiles (nearest rank) of the finite y values
 * with x in `range`: the axis range that ignores outliers. Null when there is
 * no finite value. Quickselect, O(n): no selection library is a dependency,
 * and sorting 100 runs × 100,000 points per zoom would take a second.
 */
export function quantileRange(
  s: MarkColumns,
  range: XRange | null,
  lower = 0.01,
  upper = 0.99,
): { lo: number; hi: number } | null {
  const { x, y, length } = s;
  const lo = range ? Math.min(range.min, range.max) : -Infinity;
  const hi = range ? Math.max(range.min, range.max) : Infinity;
  if (scratch.length < length) scratch = new Float64Array(Math.max(length, scratch.length * 2));
  const a = scratch;
  let n = 0;
  for (let i = 0; i < length; i++) {
    const yv = y[i]!;
    if (yv - yv !== 0) continue;
    const xv = x[i]!;
    if (range && !(xv >= lo && xv <= hi)) continue;
    a[n++] = yv;
  }
  if (n === 0) return null;
  const kLo = Math.floor(lower * (n - 1));
  const kHi = Math.ceil(upper * (n - 1));
  select(a, 0, n - 1, kLo);
  const qLo = a[kLo]!;
  // After selecting kLo, everything right of it is ≥ it: select kHi there only.
  select(a, kLo, n - 1, kHi);
  return { lo: qLo, hi: a[kHi]! };
}

/** Hoare's quickselect with a median-of-three pivot: a[k] becomes the k-th smallest of a[left..right]. */
function select(a: Float64Array, left: number, right: number, k: number): void {
  let l = left;
  let r = right;
  while (r > l) {
    const m = (l + r) >>> 1;
    const p = median3(a[l]!, a[m]!, a[r]!);
    let i = l;
    let j = r;
    while (i <= j) {
      while (a[i]! < p) i++;
      while (a[j]! > p) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) r = j;
    else if (k >= i) l = i;
    else return;
  }
}

function median3(a: number, b: number, c: number): number {
  return a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
}
