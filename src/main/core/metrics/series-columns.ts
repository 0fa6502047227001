/**
 * Metric series of one experiment, columnar, for the charts. Each metric key
 * (`train/loss`, `eval/loss` …: a prefix is just part of the key) holds three
 * typed arrays — step, wall time (ms) and value — filled record by record by
 * the experiment's MetricsFeed (./metrics-feed.ts), which parses each line
 * once for these columns and the summary's fold alike. NaN and ±Infinity are
 * stored as they are; they travel as null in a line plus a mark of their kind.
 *
 * Within one experiment, points are kept within a budget (a 2 GB
 * metrics.jsonl held ~1 GB resident): past it, every long column is halved by
 * min/max decimation — each block of four consecutive points keeps its lowest
 * and highest — so a spike survives any number of halvings, and the chart's
 * own min/max downsampling sees the same extremes. Metric keys are capped too
 * (a file with a million distinct keys would be a million columns).
 */
import type { XRange } from '../../../shared/downsample';
import { MinMaxPyramid } from '../../../shared/minmax-pyramid';
import { timestampMs } from '../../../shared/timestamp';

/** Keys of a record that are not metrics (as in src/shared/metrics-summary.ts). */
const RESERVED = new Set(['step', 'prefix', 'timestamp']);
const INITIAL_CAPACITY = 16;
/** Points kept for one experiment before long columns are decimated: ≤ 24 bytes each, ~2x capacity. */
export const DEFAULT_EXPERIMENT_POINTS = 2_000_000;
/** Distinct metric keys kept for one experiment; points of further keys are counted, not stored. */
export const MAX_METRIC_KEYS = 10_000;
/** Columns shorter than this are never decimated (eval metrics, a short run). */
const MIN_DECIMATED_LENGTH = 64;

export type XAxis = 'step' | 'time';

/** One metric key's points, in file order. */
export class MetricColumn {
  step: Float64Array = new Float64Array(INITIAL_CAPACITY);
  time: Float64Array = new Float64Array(INITIAL_CAPACITY);
  y: Float64Array = new Float64Array(INITIAL_CAPACITY);
  length = 0;
  /** Non-decreasing and finite so far: ranges are found by binary search. */
  stepSorted = true;
  timeSorted = true;
  stepMin = Infinity;
  stepMax = -Infinity;
  timeMin = Infinity;
  timeMax = -Infinity;
  /** Halved by min/max decimation this many times (0: every point of the file is here). */
  decimations = 0;
  /** Points whose value is NaN or ±Infinity: without any, a chart's request skips looking for them. */
  nonFinite = 0;
  /**
   * Arrays derived from this column (a smoothing, x joined from another
   * metric), reused while `version` (and the other column's, if any) is the same.
   */
  readonly derived = new Map<string, { version: string; value: Float64Array }>();
  /** y's block min/max (a chart's buckets read it instead of every point); extended as points come. */
  private pyramid: MinMaxPyramid | null = null;

  /** Changes whenever the points change (appended or decimated). */
  get version(): string {
    return `${this.length}:${this.decimations}`;
  }

  push(step: number, time: number, y: number): void {
    const n = this.length;
    if (n === this.y.length) this.grow(n * 2);
    if (n > 0) {
      if (!(step >= this.step[n - 1]!)) this.stepSorted = false;
      if (!(time >= this.time[n - 1]!)) this.timeSorted = false;
    } else {
      if (!Number.isFinite(step)) this.stepSorted = false;
      if (!Number.isFinite(time)) this.timeSorted = false;
    }
    this.step[n] = step;
    this.time[n] = time;
    // NaN, +Infinity and -Infinity are kept as they are: the chart marks each as what it is.
    this.y[n] = y;
    if (y - y !== 0) this.nonFinite++;
    this.length = n + 1;
    if (step < this.stepMin) this.stepMin = step;
    if (step > this.stepMax) this.stepMax = step;
    if (time < this.timeMin) this.timeMin = time;
    if (time > this.timeMax) this.timeMax = time;
  }

  /** y's min/max pyramid, up to date with every point (made again after a decimation). */
  minMax(): MinMaxPyramid {
    this.pyramid ??= new MinMaxPyramid();
    return this.pyramid.extend(this.y, this.length);
  }

  x(axis: XAxis): Float64Array {
    return axis === 'step' ? this.step : this.time;
  }

  sorted(axis: XAxis): boolean {
    return axis === 'step' ? this.stepSorted : this.timeSorted;
  }

  extent(axis: XAxis): XRange | null {
    const min = axis === 'step' ? this.stepMin : this.timeMin;
    const max = axis === 'step' ? this.stepMax : this.timeMax;
    return Number.isFinite(min) && Number.isFinite(max) ? { min, max } : null;
  }

  /**
   * Keep, of each block of four consecutive points, the lowest and the
   * highest (in file order; one point when they coincide); a block of only
   * non-finite values keeps its first, so a diverged run still ends in a gap
   * (and its mark).
   * Returns the points dropped. Order, and so sortedness, is kept.
   */
  decimate(): number {
    const n = this.length;
    const { step, time, y } = this;
    let out = 0;
    let nonFinite = 0;
    for (let b = 0; b < n; b += 4) {
      const end = Math.min(b + 4, n);
      let lo = -1;
      let hi = -1;
      for (let i = b; i < end; i++) {
        const v = y[i]!;
        if (v - v !== 0) continue; // NaN or ±Infinity: never a block's lowest or highest
        if (lo < 0 || v < y[lo]!) lo = i;
        if (hi < 0 || v > y[hi]!) hi = i;
      }
      const keep = lo < 0 ? [b] : lo === hi ? [lo] : lo < hi ? [lo, hi] : [hi, lo];
      for (const i of keep) {
        step[out] = step[i]!;
        time[out] = time[i]!;
        y[out] = y[i]!;
        if (y[out]! - y[out]! !== 0) nonFinite++;
        out++;
      }
    }
    this.length = out;
    this.nonFinite = nonFinite;
    this.decimations++;
    this.pyramid = null; // its blocks summarised the points before

    return n - out;
  }

  private grow(capacity: number): void {
    const copy = (a: Float64Array): Float64Array => {
      const b = new Float64Array(capacity);
      b.set(a.subarray(0, this.length));
      return b;
    };
    this.step = copy(this.step);
    this.time = copy(this.time);
    this.y = copy(this.y);
  }
}

/** The columns of one experiment's metrics.jsonl: a sink of its MetricsFeed. */
export class ExperimentSeries {
  readonly columns = new Map<string, MetricColumn>();
  records = 0;
  /** Points held now (after decimation). */
  points = 0;
  /** Points of keys beyond MAX_METRIC_KEYS, read but not kept. */
  droppedKeyPoints = 0;

  constructor(
    /** Points held before long columns are decimated (halved); tests set small budgets. */
    readonly maxPoints = DEFAULT_EXPERIMENT_POINTS,
    readonly maxKeys = MAX_METRIC_KEYS,
  ) {}

  /** Malformed lines of the file so far (the feed's count: the columns only see good records). */
  malformedLines = 0;

  add(record: Record<string, unknown>): void {
    const ordinal = this.records++;
    const rawStep = record.step;
    // Without a step (not the seed's format, but seen), the record's position stands in;
    // `"step": null` (a system sample before the first training step) is drawn at step 0.
    const step = typeof rawStep === 'number' ? rawStep : rawStep === null ? 0 : ordinal;
    const time = timestampMs(record.timestamp);
    for (const key in record) {
      if (RESERVED.has(key)) continue;
      const v = record[key];
      if (typeof v !== 'number') continue;
      let col = this.columns.get(key);
      if (col === undefined) {
        if (this.columns.size >= this.maxKeys) {
          this.droppedKeyPoints++;
          continue;
        }
        col = new MetricColumn();
        this.columns.set(key, col);
      }
      col.push(step, time, v);
      this.points++;
    }
    if (this.points > this.maxPoints) this.shrink();
  }

  /** Halve the long columns until the points fit the budget (amortized O(1) a point). */
  private shrink(): void {
    do {
      let dropped = 0;
      for (const col of this.columns.values()) {
        if (col.length >= MIN_DECIMATED_LENGTH) dropped += col.decimate();
      }
      this.points -= dropped;
      if (dropped === 0) break; // only short columns left: the key cap bounds them
    } while (this.points > this.maxPoints);
  }
}
