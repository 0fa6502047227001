/**
 * The y axis range a chart sets itself, where plotly's autorange would not
 * tell the truth (issue 12):
 *
 * - a constant series: plotly pads a flat line by ±1 (a learning rate of
 *   0.005 sat on a −1…1 axis and read as 0), so it is drawn at its value
 *   with a margin of a tenth of it;
 * - "ignore outliers": the 1st–99th percentile of every series' finite values
 *   (the host computes them on the full series), padded by 5 %; points
 *   outside are still drawn, clipped at the plot's edge.
 *
 * Otherwise null: plotly's autorange. On a log axis the range is in log10
 * units, as plotly wants it, and only positive values count.
 */

export interface RangeInput {
  y: readonly (number | null)[];
  /** The series' robust range from the host, when asked for. */
  robust?: { lo: number; hi: number } | null;
}

export interface RangeOptions {
  log: boolean;
  ignoreOutliers: boolean;
}

const PAD = 0.05;

function extentOf(series: readonly RangeInput[], log: boolean): { lo: number; hi: number } | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series)
    for (const v of s.y) {
      if (v === null || !Number.isFinite(v) || (log && v <= 0)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  return lo <= hi ? { lo, hi } : null;
}

/** A flat line at v: v ± a tenth of it (± 1 at 0); on a log axis half a decade either side. */
function aroundValue(v: number, log: boolean): [number, number] {
  if (log) return [Math.log10(v) - 0.5, Math.log10(v) + 0.5];
  const pad = v === 0 ? 1 : Math.abs(v) * 0.1;
  return [v - pad, v + pad];
}

function padded(lo: number, hi: number, log: boolean): [number, number] {
  if (log) {
    const [a, b] = [Math.log10(lo), Math.log10(hi)];
    return [a - (b - a) * PAD, b + (b - a) * PAD];
  }
  return [lo - (hi - lo) * PAD, hi + (hi - lo) * PAD];
}

export function yAxisRange(series: readonly RangeInput[], options: RangeOptions): [number, number] | null {
  const all = extentOf(series, options.log);
  if (!all) return null;
  if (options.ignoreOutliers) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of series) {
      if (!s.robust) continue;
      lo = Math.min(lo, s.robust.lo);
      hi = Math.max(hi, s.robust.hi);
    }
    // On a log axis a robust low end at or below zero cannot be drawn: the lowest positive value stands in.
    if (options.log && lo <= 0) lo = all.lo;
    if (lo < hi) return padded(lo, hi, options.log);
    if (lo === hi) return aroundValue(lo, options.log);
  }
  return all.lo === all.hi ? aroundValue(all.lo, options.log) : null;
}
