/**
 * Downsampling a metric series for a chart: min and max per bucket over the
 * visible x range. Each bucket keeps its lowest and its highest point, so a
 * single spike among a million points stays visible at any zoom — random or
 * reservoir sampling (what peers do) drops it with probability ≈ 1 - k/n.
 * Buckets are equal widths of x (a chart's pixel columns), not equal counts,
 * so dense and sparse stretches of a run are drawn at the same resolution.
 *
 * Non-finite y (NaN, ±Infinity: a diverged loss) is never a bucket's min or
 * max, but a bucket that holds one also emits its first such point, as null,
 * so the chart shows a gap exactly where the run produced NaN.
 *
 * Pure, no allocation per point, one pass over the visible range — or, given
 * the series' min/max pyramid (./minmax-pyramid.ts), a few block summaries per
 * bucket instead of every point, with the same answer.
 */
import { MinMaxPyramid } from './minmax-pyramid';

export interface SeriesColumns {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Points in use (typed arrays grown by doubling have spare capacity); default min(x.length, y.length). */
  length?: number;
  /** x is non-decreasing and finite: the visible range is found by binary search instead of a scan. */
  sorted?: boolean;
  /** With `sorted`: y's min/max pyramid, extended to `length`; buckets are reduced from its blocks. */
  pyramid?: MinMaxPyramid | null;
}

export interface XRange {
  min: number;
  max: number;
}

export interface DownsampleOptions {
  buckets: number;
  /** Visible x range, inclusive; null or absent means everything. */
  range?: XRange | null;
}

export interface DownsampledSeries {
  /** In x order (ties in input order). */
  x: number[];
  /** null where y was NaN or ±Infinity (JSON has no NaN). */
  y: (number | null)[];
  /** Points with x inside the range, before downsampling. */
  points: number;
  downsampled: boolean;
}

/** A pyramid of no levels: its range() scans every point (a series given without its pyramid). */
const SCAN = new MinMaxPyramid();

/** First index i in [from, to) with x[i] >= v (x non-decreasing). */
function lowerBound(x: ArrayLike<number>, v: number, from: number, to: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i in [from, to) with x[i] > v (x non-decreasing). */
function upperBound(x: ArrayLike<number>, v: number, from: number, to: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `v - v` is 0 for every finite number and NaN for NaN and ±Infinity: one subtraction, no call. */
function finite(v: number): boolean {
  return v - v === 0;
}

export function downsampleMinMax(series: SeriesColumns, options: DownsampleOptions): DownsampledSeries {
  const { x, y } = series;
  const n = Math.min(series.length ?? Math.min(x.length, y.length), x.length, y.length);
  const buckets = Math.max(1, Math.floor(options.buckets));
  let lo = options.range?.min ?? -Infinity;
  let hi = options.range?.max ?? Infinity;
  if (lo > hi) [lo, hi] = [hi, lo];

  // The index window to scan and the count and extent of the points in range.
  let from = 0;
  let to = n;
  let count = 0;
  let xMin = Infinity;
  let xMax = -Infinity;
  const sorted = series.sorted === true;
  if (sorted) {
    from = lo === -Infinity ? 0 : lowerBound(x, lo, 0, n);
    to = hi === Infinity ? n : upperBound(x, hi, from, n);
    count = to - from;
    if (count > 0) {
      xMin = x[from]!;
      xMax = x[to - 1]!;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const xv = x[i]!;
      if (!(xv >= lo && xv <= hi) || !finite(xv)) continue;
      count++;
      if (xv < xMin) xMin = xv;
      if (xv > xMax) xMax = xv;
    }
  }

  if (count <= 2 * buckets) return raw(x, y, from, to, lo, hi, count, sorted);

  // All x equal: one bucket holds everything.
  const width = xMax - xMin;
  return sorted
    ? bucketsOfSorted(x, y, from, to, xMin, width, buckets, count, series.pyramid ?? null)
    : bucketsOfUnsorted(x, y, n, lo, hi, xMin, width > 0 ? buckets / width : 0, buckets, count);
}

/**
 * Emit a bucket's picks (indices, -1 for none) in x order, ties in input
 * order — for a sorted series (`byX` false) that is index order. Three
 * compare-and-swaps order them without allocating; none (-1) sorts first
 * and is skipped.
 */
function emit(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  a: number,
  b: number,
  c: number,
  outX: number[],
  outY: (number | null)[],
  byX: boolean,
): void {
  if (b === a) b = -1;
  let t: number;
  if (after(x, a, b, byX)) {
    t = a;
    a = b;
    b = t;
  }
  if (after(x, b, c, byX)) {
    t = b;
    b = c;
    c = t;
  }
  if (after(x, a, b, byX)) {
    t = a;
    a = b;
    b = t;
  }
  if (a >= 0) emitPoint(x, y, a, outX, outY);
  if (b >= 0) emitPoint(x, y, b, outX, outY);
  if (c >= 0) emitPoint(x, y, c, outX, outY);
}

/** Whether pick i goes after pick j: by x then index (or by index alone), none (-1) first. */
function after(x: ArrayLike<number>, i: number, j: number, byX: boolean): boolean {
  if (i < 0) return false;
  if (j < 0) return true;
  if (!byX) return i > j;
  const xi = x[i]!;
  const xj = x[j]!;
  return xi > xj || (xi === xj && i > j);
}

function emitPoint(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  i: number,
  outX: number[],
  outY: (number | null)[],
): void {
  outX.push(x[i]!);
  const yv = y[i]!;
  outY.push(finite(yv) ? yv : null);
}

/**
 * Sorted x: a bucket's points are contiguous, so each bucket's end is found
 * by binary search and the inner loop only compares y values held in locals —
 * no bucket arithmetic or indirect loads per point. With a pyramid, a
 * bucket's min and max come from its block summaries.
 */
function bucketsOfSorted(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  from: number,
  to: number,
  xMin: number,
  width: number,
  buckets: number,
  count: number,
  pyramid: MinMaxPyramid | null,
): DownsampledSeries {
  const outX: number[] = [];
  const outY: (number | null)[] = [];
  let start = from;
  for (let b = 0; b < buckets && start < to; b++) {
    // Bucket b is [xMin + b·w/B, xMin + (b+1)·w/B); the last one also holds xMax.
    const end =
      b === buckets - 1 || width === 0 ? to : lowerBound(x, xMin + ((b + 1) * width) / buckets, start, to);
    if (end === start) continue;
    const r = (pyramid ?? SCAN).range(y, start, end);
    emit(x, y, r.minAt, r.maxAt, r.badAt, outX, outY, false);
    start = end;
  }
  return { x: outX, y: outY, points: count, downsampled: true };
}

/** Any x order: per-bucket indices of min, max and first non-finite y, then one ordered emit. */
function bucketsOfUnsorted(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  n: number,
  lo: number,
  hi: number,
  xMin: number,
  scale: number,
  buckets: number,
  count: number,
): DownsampledSeries {
  const minAt = new Int32Array(buckets).fill(-1);
  const maxAt = new Int32Array(buckets).fill(-1);
  const nanAt = new Int32Array(buckets).fill(-1);
  const last = buckets - 1;
  for (let i = 0; i < n; i++) {
    const xv = x[i]!;
    if (!(xv >= lo && xv <= hi) || !finite(xv)) continue;
    let b = ((xv - xMin) * scale) | 0;
    if (b > last) b = last;
    const yv = y[i]!;
    if (!finite(yv)) {
      if (nanAt[b]! < 0) nanAt[b] = i;
      continue;
    }
    const mi = minAt[b]!;
    if (mi < 0) {
      minAt[b] = i;
      maxAt[b] = i;
      continue;
    }
    if (yv < y[mi]!) minAt[b] = i;
    else if (yv > y[maxAt[b]!]!) maxAt[b] = i;
  }
  const outX: number[] = [];
  const outY: (number | null)[] = [];
  for (let b = 0; b < buckets; b++) emit(x, y, minAt[b]!, maxAt[b]!, nanAt[b]!, outX, outY, true);
  return { x: outX, y: outY, points: count, downsampled: true };
}

/** The points in range as they are (few enough to draw), in x order. */
function raw(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  from: number,
  to: number,
  lo: number,
  hi: number,
  count: number,
  sorted: boolean,
): DownsampledSeries {
  const idx: number[] = [];
  for (let i = from; i < to; i++) {
    const xv = x[i]!;
    if (sorted || (xv >= lo && xv <= hi && finite(xv))) idx.push(i);
  }
  // Steps can go back (a resumed run logs its steps again): draw in x order, ties in file order.
  if (!sorted) idx.sort((i, j) => x[i]! - x[j]! || i - j);
  const outX = new Array<number>(idx.length);
  const outY = new Array<number | null>(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    outX[k] = x[i]!;
    const yv = y[i]!;
    outY[k] = finite(yv) ? yv : null;
  }
  return { x: outX, y: outY, points: count, downsampled: false };
}
