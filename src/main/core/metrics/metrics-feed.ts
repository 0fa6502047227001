/**
 * One metrics feed per experiment: the single reader of its
 * logs/metrics.jsonl. Each appended byte is read once and each line parsed
 * once (MetricsTail, by byte offset), and every record goes to both sinks:
 * the summary's fold (src/shared/metrics-summary.ts, always) and the chart's
 * columns (./series-columns.ts, while the feed holds them). The summary store
 * (core/summary) and the series store (./series-store.ts) share the feeds of
 * one MetricsFeeds; remote experiments are fed from their local mirror
 * (core/remote/remote-metrics.ts), so the same holds over SSH.
 *
 * Columns cost memory (~24 bytes a point, up to 2M points an experiment), so
 * the feeds hold them for a few experiments only, least recently used out
 * first. A feed that reads its file from the first byte builds columns while
 * the budget has room (a listing fills free room, it never evicts a chart's
 * columns); a chart request always gets them. A feed without columns — evicted,
 * or resumed at an offset from the summary's disk cache after a restart —
 * reads its file once more from the first byte when a chart asks for it
 * (the columns are not cached on disk: they are larger than the file's
 * summary by orders of magnitude, and rebuilding them costs one read).
 */
import { MetricsFold, type MetricsFoldState } from '../../../shared/metrics-summary';
import { emptyTailState, MetricsTail, type MetricsTailState, type ReadResult } from './metrics-tail';
import { LAYOUT } from '../workspace/layout';
import { DEFAULT_EXPERIMENT_POINTS, ExperimentSeries, MAX_METRIC_KEYS } from './series-columns';
import { EventsTail, isTfeventsKey } from './tfevents-tail';
import { isMlflowKey, MlflowTail } from './mlflow-tail';

/** What a feed reads through: metrics.jsonl's tail, or a TensorBoard run's event files (same shape). */
type SourceTail = Pick<MetricsTail, 'state' | 'ino' | 'readAppended'>;

/** A metrics.jsonl that could not be read, in words (a refusal already names the file). */
export function metricsReadProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return `cannot read ${LAYOUT.metrics}: permission denied`;
  if (code === 'ENOTREG' || code === 'ELOOP') return (err as Error).message;
  return `cannot read: ${(err as Error).message}`;
}

/** Where a feed resumes: a reader state and fold from the summary cache, for the file of that inode. */
export interface FeedResume {
  tail: MetricsTailState;
  fold: MetricsFoldState;
  ino: number | null;
}

export interface MetricsFeedsOptions {
  /**
   * Experiments whose columns are kept in memory (default 128: a compare of
   * 100 runs zooms without reading 96 files again; the points budget bounds
   * the memory).
   */
  maxExperiments?: number;
  /** Of those, how many a listing's read may fill (default min(4, maxExperiments)). */
  maxListedExperiments?: number;
  /** Points (across kept columns) above which older experiments' columns are dropped; the newest always stays. */
  maxPoints?: number;
  /** Points kept for one experiment before its long columns are decimated. */
  maxExperimentPoints?: number;
  /** Distinct metric keys kept for one experiment. */
  maxKeys?: number;
}

/** What the feeds read, in all (tests and figures: each byte read and each line parsed once). */
export interface FeedCounters {
  bytes: number;
  lines: number;
}

export class MetricsFeed {
  private tail: SourceTail;
  private fold: MetricsFold;
  /** The chart's columns, while this feed holds them. */
  series: ExperimentSeries | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly owner: MetricsFeeds,
    resume?: FeedResume,
  ) {
    this.tail = isTfeventsKey(file)
      ? new EventsTail(file, resume?.tail)
      : isMlflowKey(file)
        ? new MlflowTail(file, resume?.tail)
        : new MetricsTail(file, resume?.tail);
    this.tail.ino = resume ? resume.ino : null;
    this.fold = new MetricsFold(resume?.fold);
  }

  /** The reader's state: offset, line count, malformed lines, fingerprint. */
  get tailState(): MetricsTailState {
    return this.tail.state;
  }

  get foldState(): MetricsFoldState {
    return this.fold.state;
  }

  get ino(): number | null {
    return this.tail.ino;
  }

  /**
   * Read what was appended since the last read into the fold (and the
   * columns, when held). Reads of one feed run one after another, never at
   * once. A missing file is an empty feed, not an error; a shrunk or replaced
   * one starts over from its first byte.
   */
  read(): Promise<ReadResult> {
    return this.enqueue(() => this.readNow(false));
  }

  /** read(), with columns: a feed without them reads its file from the first byte. */
  async readSeries(): Promise<ExperimentSeries> {
    // Another chart's read may take this feed's columns back in between: then read again.
    for (let attempt = 0; attempt < 8; attempt++) {
      let series: ExperimentSeries | null = null;
      await this.enqueue(async () => {
        const r = await this.readNow(true);
        series = this.series;
        return r;
      });
      if (series !== null) return series;
    }
    throw new Error(
      `${this.file}: the chart's columns were dropped by other charts' reads; too many at once`,
    );
  }

  /**
   * Records from bytes just appended to this feed's file at `at`, still in
   * memory (a remote mirror's answer): what read() would fold, without reading
   * back what was just written. Null, with nothing done, when the reader is
   * not at `at` (or the feed reads another format): read() then.
   */
  take(data: Buffer, at: number): Promise<ReadResult | null> {
    return this.enqueue(async () => {
      const tail = this.tail;
      if (!(tail instanceof MetricsTail) || tail.state.offset !== at) return null;
      if (this.series === null && at === 0) this.owner.keepSeries(this, false);
      const r = tail.feed(data, (rec, line) => {
        this.fold.add(rec, line);
        this.series?.add(rec);
      });
      return this.settled(r);
    });
  }

  private settled(r: ReadResult): ReadResult {
    if (this.series) this.series.malformedLines = this.tail.state.malformedCount;
    this.owner.counted(r);
    if (this.series) this.owner.settle(this);
    return r;
  }

  private enqueue<T extends ReadResult | null>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async readNow(wantSeries: boolean): Promise<ReadResult> {
    // Reading from the first byte anyway, a listing builds columns too when there is free room.
    const created =
      wantSeries || (this.series === null && this.tail.state.offset === 0)
        ? this.owner.keepSeries(this, wantSeries)
        : false;
    // Columns asked for after records were folded without them: one more read, for every record.
    if (created && this.tail.state.offset > 0) this.restart();
    let r: ReadResult;
    try {
      r = await this.tail.readAppended(
        (rec, line) => {
          this.fold.add(rec, line);
          this.series?.add(rec);
        },
        () => this.restart(false),
      );
    } catch (err) {
      // A run that has not written its first metric yet has no file: no metrics, not an error.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const had = this.tail.state.offset > 0 || this.tail.ino !== null;
      this.restart();
      this.tail.ino = null;
      r = { reset: had, bytes: 0, lines: 0 };
    }
    return this.settled(r);
  }

  /**
   * Forget every record: new states (earlier snapshots handed out stay as
   * they were). Within a read, the reader has reset its own state already.
   */
  private restart(readerToo = true): void {
    if (readerToo) this.tail.state = emptyTailState();
    this.fold = new MetricsFold();
    if (this.series) this.series = this.owner.newSeries();
  }

  /** Drop the columns (memory wanted back); the fold stays. */
  dropSeries(): void {
    this.series = null;
  }
}

/**
 * The feeds of a process (or of a test), by metrics file path, and the
 * budget of the columns they hold.
 */
export class MetricsFeeds {
  private readonly feeds = new Map<string, MetricsFeed>();
  /** Feeds holding columns, least recently used first. */
  private readonly charted = new Map<string, MetricsFeed>();
  readonly counters: FeedCounters = { bytes: 0, lines: 0 };
  private readonly maxExperiments: number;
  private readonly maxListedExperiments: number;
  private readonly maxPoints: number;
  private readonly maxExperimentPoints: number;
  private readonly maxKeys: number;

  constructor(options: MetricsFeedsOptions = {}) {
    this.maxExperiments = options.maxExperiments ?? 128;
    this.maxListedExperiments = options.maxListedExperiments ?? Math.min(4, this.maxExperiments);
    // 24 bytes a point: 12M points ≈ 290 MB at worst, three runs of a million records.
    this.maxPoints = options.maxPoints ?? 12_000_000;
    this.maxExperimentPoints = options.maxExperimentPoints ?? DEFAULT_EXPERIMENT_POINTS;
    this.maxKeys = options.maxKeys ?? MAX_METRIC_KEYS;
  }

  /** The feed of a metrics file; a new one resumes where `resume` (the summary cache) says, if given. */
  open(file: string, resume?: () => FeedResume | undefined): MetricsFeed {
    let feed = this.feeds.get(file);
    if (feed === undefined) {
      feed = new MetricsFeed(file, this, resume?.());
      this.feeds.set(file, feed);
    }
    return feed;
  }

  get(file: string): MetricsFeed | undefined {
    return this.feeds.get(file);
  }

  /** Forget a file's feed (gone, or its folder deleted). */
  forget(file: string): void {
    this.feeds.get(file)?.dropSeries();
    this.feeds.delete(file);
    this.charted.delete(file);
  }

  /** Drop a file's columns only. */
  forgetSeries(file: string): void {
    this.feeds.get(file)?.dropSeries();
    this.charted.delete(file);
  }

  /** Drop every feed's columns (memory wanted back); folds stay. */
  clearSeries(): void {
    for (const f of this.charted.values()) f.dropSeries();
    this.charted.clear();
  }

  /** Experiments holding columns now (tests, diagnostics). */
  get seriesHeld(): number {
    return this.charted.size;
  }

  /** @internal A fresh column set within this registry's budgets. */
  newSeries(): ExperimentSeries {
    return new ExperimentSeries(this.maxExperimentPoints, this.maxKeys);
  }

  /**
   * @internal Give `feed` columns (if it has none) and make it the most
   * recent. `evict` false: only when there is free room (a listing's read).
   * Returns whether new (empty) columns were made.
   */
  keepSeries(feed: MetricsFeed, evict: boolean): boolean {
    let created = false;
    if (feed.series === null) {
      if (!evict && (this.charted.size >= this.maxListedExperiments || this.heldPoints() >= this.maxPoints))
        return false;
      feed.series = this.newSeries();
      created = true;
    }
    this.charted.delete(feed.file);
    this.charted.set(feed.file, feed);
    if (evict) this.settle(feed);
    return created;
  }

  /** @internal Drop the least recently used columns past the budget; `keep` stays. */
  settle(keep: MetricsFeed): void {
    if (keep.series && !this.charted.has(keep.file)) this.charted.set(keep.file, keep);
    let total = this.heldPoints();
    for (const [file, f] of this.charted) {
      if (this.charted.size <= 1) break;
      if (this.charted.size <= this.maxExperiments && total <= this.maxPoints) break;
      if (f === keep) continue;
      total -= f.series?.points ?? 0;
      f.dropSeries();
      this.charted.delete(file);
    }
  }

  /** @internal */
  counted(r: ReadResult): void {
    this.counters.bytes += r.bytes;
    this.counters.lines += r.lines;
  }

  private heldPoints(): number {
    let total = 0;
    for (const f of this.charted.values()) total += f.series?.points ?? 0;
    return total;
  }
}

/**
 * The process's feeds: the summary store and the series store use these
 * unless given their own, so a listing and a chart of one experiment share
 * its feed without the host wiring them together.
 */
export const processMetricsFeeds = new MetricsFeeds();
