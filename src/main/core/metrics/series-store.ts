/**
 * Metric series of experiments, columnar, for the charts. Each metric key
 * (`train/loss`, `eval/loss` …: a prefix is just part of the key) holds three
 * typed arrays — step, wall time (ms) and value — filled from
 * logs/metrics.jsonl by the incremental MetricsTail, so a chart that
 * re-requests while a run writes costs O(appended) to bring up to date plus
 * one downsampling pass (src/shared/downsample.ts) over the visible range.
 * NaN and ±Infinity are stored as NaN and travel as null.
 *
 * A few experiments are kept, least recently used first out, within a budget
 * of points: a million-record run is ~100 MB of columns. Within one
 * experiment, points are kept within a budget too (a 2 GB metrics.jsonl held
 * ~1 GB resident): past it, every long column is halved by min/max
 * decimation — each block of four consecutive points keeps its lowest and
 * highest — so a spike survives any number of halvings, and the chart's own
 * min/max downsampling sees the same extremes. Metric keys are capped too (a
 * file with a million distinct keys would be a million columns).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { MetricsSeriesResult } from '../../../shared/contract';
import { downsampleMinMax, type XRange } from '../../../shared/downsample';
import { timestampMs } from '../../../shared/timestamp';
import { isExperimentDir, WorkspaceError } from '../workspace/discover';
import { LAYOUT } from '../workspace/layout';
import { MetricsTail } from './metrics-tail';

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
    // ±Infinity is as unplottable as NaN; one representation keeps downsampling simple.
    this.y[n] = Number.isFinite(y) ? y : NaN;
    this.length = n + 1;
    if (step < this.stepMin) this.stepMin = step;
    if (step > this.stepMax) this.stepMax = step;
    if (time < this.timeMin) this.timeMin = time;
    if (time > this.timeMax) this.timeMax = time;
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
   * non-finite values keeps its first, so a diverged run still ends in a gap.
   * Returns the points dropped. Order, and so sortedness, is kept.
   */
  decimate(): number {
    const n = this.length;
    const { step, time, y } = this;
    let out = 0;
    for (let b = 0; b < n; b += 4) {
      const end = Math.min(b + 4, n);
      let lo = -1;
      let hi = -1;
      for (let i = b; i < end; i++) {
        const v = y[i]!;
        if (Number.isNaN(v)) continue;
        if (lo < 0 || v < y[lo]!) lo = i;
        if (hi < 0 || v > y[hi]!) hi = i;
      }
      const keep = lo < 0 ? [b] : lo === hi ? [lo] : lo < hi ? [lo, hi] : [hi, lo];
      for (const i of keep) {
        step[out] = step[i]!;
        time[out] = time[i]!;
        y[out] = y[i]!;
        out++;
      }
    }
    this.length = out;
    this.decimations++;
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

/** The columns of one experiment's metrics.jsonl, kept up to date by offset. */
export class ExperimentSeries {
  readonly columns = new Map<string, MetricColumn>();
  records = 0;
  /** Points held now (after decimation). */
  points = 0;
  /** Points of keys beyond MAX_METRIC_KEYS, read but not kept. */
  droppedKeyPoints = 0;
  private tail: MetricsTail;
  private pending: Promise<void> | null = null;

  constructor(
    readonly file: string,
    /** Points held before long columns are decimated (halved); tests set small budgets. */
    readonly maxPoints = DEFAULT_EXPERIMENT_POINTS,
    readonly maxKeys = MAX_METRIC_KEYS,
  ) {
    this.tail = new MetricsTail(file);
  }

  get malformedLines(): number {
    return this.tail.state.malformedCount;
  }

  /** Read what was appended since the last call; concurrent callers share one read. */
  update(): Promise<void> {
    if (!this.pending) {
      this.pending = this.read().finally(() => {
        this.pending = null;
      });
    }
    return this.pending;
  }

  private async read(): Promise<void> {
    try {
      // On a shrunk or replaced file the tail resets itself and re-reads from the start.
      await this.tail.readAppended(
        (rec) => this.add(rec),
        () => this.clearColumns(),
      );
    } catch (err) {
      // A run that has not written its first metric yet has no file: no series, not an error.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.clearColumns();
      this.tail = new MetricsTail(this.file);
    }
  }

  add(record: Record<string, unknown>): void {
    const ordinal = this.records++;
    const rawStep = record.step;
    // Without a step (not the seed's format, but seen), the record's position stands in.
    const step = typeof rawStep === 'number' ? rawStep : ordinal;
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

  private clearColumns(): void {
    this.columns.clear();
    this.records = 0;
    this.points = 0;
    this.droppedKeyPoints = 0;
  }
}

export interface SeriesQuery {
  keys?: string[];
  x: XAxis;
  range?: XRange | null;
  buckets: number;
}

export interface SeriesStoreOptions {
  /** Experiments kept in memory. */
  maxExperiments?: number;
  /** Points (across kept experiments) above which older experiments are dropped; the newest always stays. */
  maxPoints?: number;
  /** Points kept for one experiment before its long columns are decimated. */
  maxExperimentPoints?: number;
}

export class SeriesStore {
  private readonly entries = new Map<string, ExperimentSeries>();
  private readonly maxExperiments: number;
  private readonly maxPoints: number;
  private readonly maxExperimentPoints: number;

  constructor(options: SeriesStoreOptions = {}) {
    this.maxExperiments = options.maxExperiments ?? 4;
    this.maxExperimentPoints = options.maxExperimentPoints ?? DEFAULT_EXPERIMENT_POINTS;
    // 24 bytes a point: 12M points ≈ 290 MB at worst, three runs of a million records.
    this.maxPoints = options.maxPoints ?? 12_000_000;
  }

  /** The experiment's series, brought up to date with what was appended. */
  async load(expDir: string): Promise<ExperimentSeries> {
    const dir = path.resolve(expDir);
    let entry = this.entries.get(dir);
    if (entry === undefined) {
      const file = path.join(dir, LAYOUT.metrics);
      const exists = await stat(file).then(
        (s) => s.isFile(),
        () => false,
      );
      if (!exists && !(await isExperimentDir(dir))) {
        throw new WorkspaceError('not-found', `${dir} is not an experiment (no ${LAYOUT.metrics})`);
      }
      entry = new ExperimentSeries(file, this.maxExperimentPoints);
    }
    // Most recently used last in the Map's order.
    this.entries.delete(dir);
    this.entries.set(dir, entry);
    await entry.update();
    this.evict();
    return entry;
  }

  async query(expDir: string, q: SeriesQuery): Promise<MetricsSeriesResult> {
    const entry = await this.load(expDir);
    const all = [...entry.columns.keys()].sort();
    const wanted = q.keys ? q.keys.filter((k) => entry.columns.has(k)) : all;
    const series: MetricsSeriesResult['series'] = {};
    let extent: XRange | null = null;
    for (const key of wanted) {
      const col = entry.columns.get(key)!;
      const e = col.extent(q.x);
      if (e) extent = extent ? { min: Math.min(extent.min, e.min), max: Math.max(extent.max, e.max) } : e;
      const s = downsampleMinMax(
        { x: col.x(q.x), y: col.y, length: col.length, sorted: col.sorted(q.x) },
        { buckets: q.buckets, range: q.range ?? null },
      );
      // A decimated column is already a min/max reduction of the file.
      series[key] = col.decimations > 0 ? { ...s, downsampled: true } : s;
    }
    return { keys: all, series, extent, records: entry.records };
  }

  /** Drop an experiment's columns (a folder deleted, or memory wanted back). */
  forget(expDir: string): void {
    this.entries.delete(path.resolve(expDir));
  }

  clear(): void {
    this.entries.clear();
  }

  private evict(): void {
    let total = 0;
    for (const e of this.entries.values()) total += e.points;
    for (const [dir, e] of this.entries) {
      if (this.entries.size <= 1) break;
      if (this.entries.size <= this.maxExperiments && total <= this.maxPoints) break;
      this.entries.delete(dir);
      total -= e.points;
    }
  }
}
