/**
 * Min/max of any index range of a series without reading every point: a
 * pyramid of block summaries (the series' own min/max tree). Level 1 holds,
 * per block of FANOUT points, the index of its first lowest finite value, of
 * its first highest and of its first non-finite one (-1: none); level 2 the
 * same per FANOUT level-1 blocks, and so on. A range is answered from its
 * ragged ends point by point and from the largest whole blocks in between —
 * at most 2·FANOUT steps a level instead of one a point — with exactly the
 * answer of a plain scan (first occurrence on ties, left to right).
 *
 * Why: a chart of 100 runs × 100,000 points downsamples 10M points on every
 * full-range draw; the min/max scan was ~70% of the host's time (issue 12's
 * chart-overlay bench). The pyramid costs ~0.75 bytes a point and one pass to
 * build; a series that only grows (a run still logging) is extended by its new
 * whole blocks, never rebuilt. No library offers this over typed arrays with
 * NaN-aware first-occurrence semantics, hence hand-written.
 */

/** Points (or lower-level blocks) per block: 2^SHIFT. */
const SHIFT = 4;
const FANOUT = 1 << SHIFT;
/** Levels at most: 16^8 blocks cover 2^32 points, more than a column (or an Int32 index) holds. */
const MAX_LEVELS = 8;

/** One level's blocks: indices into the series of each block's min, max and first non-finite point. */
interface Level {
  min: Int32Array;
  max: Int32Array;
  bad: Int32Array;
  /** Whole blocks summarised so far. */
  count: number;
}

function grown(a: Int32Array, capacity: number): Int32Array {
  if (a.length >= capacity) return a;
  const b = new Int32Array(Math.max(capacity, a.length * 2));
  b.set(a);
  return b;
}

export class MinMaxPyramid {
  private readonly levels: Level[] = [];
  /** range()'s ragged right ends (from, to), one pair a level, folded on the way down. */
  private readonly right = new Int32Array(2 * MAX_LEVELS);
  /** Points of the series seen so far (extend()). */
  private length = 0;

  /** Result of the last range(): index of the first lowest finite value, or -1. */
  minAt = -1;
  /** Result of the last range(): index of the first highest finite value, or -1. */
  maxAt = -1;
  /** Result of the last range(): index of the first non-finite value, or -1. */
  badAt = -1;

  /**
   * Summarise the whole blocks of `y[0..length)` not summarised yet. The
   * points already seen must not have changed (a series that is rewritten —
   * decimated — needs a new pyramid).
   */
  extend(y: ArrayLike<number>, length: number): this {
    if (length <= this.length) return this;
    this.length = length;
    let below = length; // units of the level below (points for level 1)
    for (let l = 0; ; l++) {
      const want = below >>> SHIFT;
      if (want === 0) break;
      let level = this.levels[l];
      if (!level) {
        level = { min: new Int32Array(0), max: new Int32Array(0), bad: new Int32Array(0), count: 0 };
        this.levels.push(level);
      }
      if (want > level.count) {
        level.min = grown(level.min, want);
        level.max = grown(level.max, want);
        level.bad = grown(level.bad, want);
        for (let b = level.count; b < want; b++) {
          this.minAt = -1;
          this.maxAt = -1;
          this.badAt = -1;
          this.fold(y, l, b << SHIFT, (b + 1) << SHIFT);
          level.min[b] = this.minAt;
          level.max[b] = this.maxAt;
          level.bad[b] = this.badAt;
        }
        level.count = want;
      }
      below = want;
    }
    return this;
  }

  /**
   * Min, max and first non-finite point of `y[from..to)` (to ≤ the length
   * extended to), left in minAt, maxAt and badAt: the same indices a scan of
   * every point in order finds.
   */
  range(y: ArrayLike<number>, from: number, to: number): this {
    this.minAt = -1;
    this.maxAt = -1;
    this.badAt = -1;
    // Up the levels: fold each level's ragged left end at once (left to right), keep its
    // ragged right end for the way down, and fold the whole blocks at the top.
    const right = this.right;
    let depth = 0;
    let l = 0;
    let lo = from;
    let hi = to;
    for (;;) {
      const above = this.levels[l];
      const a = (lo + FANOUT - 1) >>> SHIFT;
      const b = above === undefined ? 0 : Math.min(hi >>> SHIFT, above.count);
      if (b <= a) break;
      this.fold(y, l, lo, a << SHIFT);
      right[depth++] = b << SHIFT;
      right[depth++] = hi;
      lo = a;
      hi = b;
      l++;
    }
    this.fold(y, l, lo, hi);
    while (depth > 0) {
      const end = right[--depth]!;
      this.fold(y, --l, right[--depth]!, end);
    }
    return this;
  }

  /** Fold units [from, to) of level `l` (0: points, else blocks of levels[l - 1]) into the result so far. */
  private fold(y: ArrayLike<number>, l: number, from: number, to: number): void {
    let minI = this.minAt;
    let maxI = this.maxAt;
    let badI = this.badAt;
    let minV = minI < 0 ? Infinity : y[minI]!;
    let maxV = maxI < 0 ? -Infinity : y[maxI]!;
    if (l === 0) {
      for (let i = from; i < to; i++) {
        const v = y[i]!;
        if (v - v !== 0) {
          if (badI < 0) badI = i;
          continue;
        }
        if (v < minV) {
          minV = v;
          minI = i;
        }
        if (v > maxV) {
          maxV = v;
          maxI = i;
        }
      }
    } else {
      const level = this.levels[l - 1]!;
      for (let k = from; k < to; k++) {
        const bad = level.bad[k]!;
        if (badI < 0 && bad >= 0) badI = bad;
        const lo = level.min[k]!;
        if (lo < 0) continue; // a block of only non-finite values
        const lv = y[lo]!;
        if (lv < minV) {
          minV = lv;
          minI = lo;
        }
        const hi = level.max[k]!;
        const hv = y[hi]!;
        if (hv > maxV) {
          maxV = hv;
          maxI = hi;
        }
      }
    }
    this.minAt = minI;
    this.maxAt = maxI;
    this.badAt = badI;
  }
}
