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
 * of points: a million-record run is ~100 MB of columns.
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
const INITIAL_CAPACITY = 256;

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
  points = 0;
  private tail: MetricsTail;
  private pending: Promise<void> | null = null;

  constructor(readonly file: string) {
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
        col = new MetricColumn();
        this.columns.set(key, col);
      }
      col.push(step, time, v);
      this.points++;
    }
  }

  private clearColumns(): void {
    this.columns.clear();
    this.records = 0;
    this.points = 0;
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
}

export class SeriesStore {
  private readonly entries = new Map<string, ExperimentSeries>();
  private readonly maxExperiments: number;
  private readonly maxPoints: number;

  constructor(options: SeriesStoreOptions = {}) {
    this.maxExperiments = options.maxExperiments ?? 4;
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
      entry = new ExperimentSeries(file);
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
      series[key] = downsampleMinMax(
        { x: col.x(q.x), y: col.y, length: col.length, sorted: col.sorted(q.x) },
        { buckets: q.buckets, range: q.range ?? null },
      );
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
