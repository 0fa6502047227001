/**
 * One `metrics.series` answer from an experiment's columns: per metric key,
 * the visible range downsampled by min/max (src/shared/downsample.ts) on the
 * chosen x axis, plus what the chart needs to tell the truth (issue 12):
 *
 * - x axes: step, wall time (ms), relative time (seconds since the run's
 *   first record) and another metric's value at the same step — the last
 *   value of that metric at or before the point's step (an as-of join: eval
 *   metrics and train metrics are logged at different steps);
 * - smoothing (EMA or a window mean, src/shared/smoothing.ts) computed on the
 *   full column before downsampling, then downsampled like the raw line, so a
 *   spike's smoothed height does not depend on the zoom; kept per column
 *   until the column changes;
 * - marks of non-finite points by kind, and on request the 1st–99th
 *   percentile of the finite values (src/shared/series-marks.ts).
 */
import type { MetricsSeriesResult } from '../../../shared/contract';
import { downsampleMinMax, type DownsampledSeries, type XRange } from '../../../shared/downsample';
import { MinMaxPyramid } from '../../../shared/minmax-pyramid';
import { nonFiniteMarks, quantileRange } from '../../../shared/series-marks';
import { smoothingKey, smooths, smoothSeries, type Smoothing } from '../../../shared/smoothing';
import type { ExperimentSeries, MetricColumn } from './series-columns';

export type SeriesAxis = 'step' | 'time' | 'relative' | 'metric';

export interface SeriesQuery {
  keys?: string[];
  x: SeriesAxis;
  /** x = 'metric': the metric giving x. */
  xKey?: string;
  range?: XRange | null;
  buckets: number;
  smoothing?: Smoothing | null;
  /** Give each series its 1st–99th percentile range. */
  robust?: boolean;
}

/** A column seen on the query's x axis: its x values and how query units map to them. */
interface AxisView {
  x: ArrayLike<number>;
  sorted: boolean;
  extent: XRange | null;
  /** Query units (a relative time in s) → the column's (ms since the epoch). */
  toColumn(v: number): number;
  toQuery(v: number): number;
}

const same = (v: number): number => v;

/** The column's own value, or one derived from it and cached until `version` changes. */
function derived(col: MetricColumn, key: string, version: string, make: () => Float64Array): Float64Array {
  const hit = col.derived.get(key);
  if (hit && hit.version === version) return hit.value;
  const value = make();
  col.derived.set(key, { version, value });
  return value;
}

/** Pyramids of derived arrays (a smoothing): each array is made once for a column version and never changed. */
const derivedPyramids = new WeakMap<Float64Array, MinMaxPyramid>();

function pyramidOf(y: Float64Array, length: number): MinMaxPyramid {
  let p = derivedPyramids.get(y);
  if (!p) {
    p = new MinMaxPyramid().extend(y, length);
    derivedPyramids.set(y, p);
  }
  return p;
}

/** For each point of `col`, the value of `by` at the last of its points with step ≤ the point's step. */
function joinByStep(col: MetricColumn, by: MetricColumn): Float64Array {
  const out = new Float64Array(col.length);
  if (by.stepSorted) {
    for (let i = 0; i < col.length; i++) {
      const s = col.step[i]!;
      // Last j with by.step[j] ≤ s (binary search: steps of `col` may go back).
      let lo = 0;
      let hi = by.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (by.step[mid]! <= s) lo = mid + 1;
        else hi = mid;
      }
      out[i] = lo > 0 ? by.y[lo - 1]! : NaN;
    }
    return out;
  }
  // Steps out of order (a resumed run): the value logged last at exactly that step.
  const at = new Map<number, number>();
  for (let j = 0; j < by.length; j++) at.set(by.step[j]!, by.y[j]!);
  for (let i = 0; i < col.length; i++) out[i] = at.get(col.step[i]!) ?? NaN;
  return out;
}

function extentOf(x: ArrayLike<number>, length: number): XRange | null {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = x[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max && Number.isFinite(min) && Number.isFinite(max) ? { min, max } : null;
}

/** The run's first record time (ms): relative time counts from it. */
function firstTime(entry: ExperimentSeries): number {
  let t0 = Infinity;
  for (const col of entry.columns.values()) if (col.timeMin < t0) t0 = col.timeMin;
  return t0;
}

function axisOf(entry: ExperimentSeries, col: MetricColumn, q: SeriesQuery, t0: number): AxisView | null {
  if (q.x === 'step' || q.x === 'time')
    return { x: col.x(q.x), sorted: col.sorted(q.x), extent: col.extent(q.x), toColumn: same, toQuery: same };
  if (q.x === 'relative') {
    if (!Number.isFinite(t0)) return null;
    const e = col.extent('time');
    return {
      x: col.time,
      sorted: col.timeSorted,
      extent: e && { min: (e.min - t0) / 1000, max: (e.max - t0) / 1000 },
      toColumn: (v) => v * 1000 + t0,
      toQuery: (v) => (v - t0) / 1000,
    };
  }
  const by = q.xKey === undefined ? undefined : entry.columns.get(q.xKey);
  if (!by) return null;
  const x = derived(col, `x:${q.xKey}`, `${col.version}/${by.version}`, () => joinByStep(col, by));
  return { x, sorted: false, extent: extentOf(x, col.length), toColumn: same, toQuery: same };
}

function mapX(s: { x: number[] }, axis: AxisView): void {
  if (axis.toQuery === same) return;
  for (let i = 0; i < s.x.length; i++) s.x[i] = axis.toQuery(s.x[i]!);
}

function seriesOf(col: MetricColumn, axis: AxisView, q: SeriesQuery): MetricsSeriesResult['series'][string] {
  const range = q.range ? { min: axis.toColumn(q.range.min), max: axis.toColumn(q.range.max) } : null;
  const options = { buckets: q.buckets, range };
  const line = (y: ArrayLike<number>, pyramid: () => MinMaxPyramid): DownsampledSeries => {
    // Block summaries serve sorted x only (a bucket is then a run of consecutive points).
    const columns = { x: axis.x, y, length: col.length, sorted: axis.sorted };
    const s = downsampleMinMax(axis.sorted ? { ...columns, pyramid: pyramid() } : columns, options);
    mapX(s, axis);
    return s;
  };
  const s: MetricsSeriesResult['series'][string] = line(col.y, () => col.minMax());
  // A decimated column is already a min/max reduction of the file.
  if (col.decimations > 0) s.downsampled = true;
  if (smooths(q.smoothing)) {
    const smoothing = q.smoothing;
    const y = derived(col, `smooth:${smoothingKey(smoothing)}`, col.version, () =>
      smoothSeries(col.y, col.length, smoothing),
    );
    const sm = line(y, () => pyramidOf(y, col.length));
    s.smoothed = { x: sm.x, y: sm.y };
  }
  const columns = { x: axis.x, y: col.y, length: col.length };
  const marks = col.nonFinite > 0 ? nonFiniteMarks(columns, range, q.buckets) : null;
  if (marks) {
    mapX(marks, axis);
    s.nonFinite = marks;
  }
  if (q.robust) s.robust = quantileRange(columns, range);
  return s;
}

export function querySeries(entry: ExperimentSeries, q: SeriesQuery): MetricsSeriesResult {
  const all = [...entry.columns.keys()].sort();
  const wanted = q.keys ? q.keys.filter((k) => entry.columns.has(k)) : all;
  const series: MetricsSeriesResult['series'] = {};
  const t0 = q.x === 'relative' ? firstTime(entry) : NaN;
  let extent: XRange | null = null;
  for (const key of wanted) {
    const col = entry.columns.get(key)!;
    const axis = axisOf(entry, col, q, t0);
    if (!axis) continue; // no x for it (x metric missing, no timestamps)
    const e = axis.extent;
    if (e) extent = extent ? { min: Math.min(extent.min, e.min), max: Math.max(extent.max, e.max) } : e;
    series[key] = seriesOf(col, axis, q);
  }
  return { keys: all, series, extent, records: entry.records };
}
