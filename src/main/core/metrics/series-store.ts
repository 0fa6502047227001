/**
 * Metric series of experiments for the charts: the columns
 * (./series-columns.ts) of each experiment's MetricsFeed (./metrics-feed.ts),
 * brought up to date by offset — the same feed, and so the same single parse
 * of each line, as the summary's — plus one downsampling pass
 * (src/shared/downsample.ts) over the visible range per request, with the
 * axes, smoothing and marks of ./series-query.ts. A few
 * experiments' columns are kept, least recently used first out, within a
 * budget of points (see MetricsFeeds).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { MetricsSeriesResult } from '../../../shared/contract';
import { isExperimentDir, WorkspaceError } from '../workspace/discover';
import { LAYOUT } from '../workspace/layout';
import { MetricsFeeds, processMetricsFeeds } from './metrics-feed';
import type { ExperimentSeries } from './series-columns';
import { querySeries, type SeriesQuery } from './series-query';
import { metricsFileOf } from './metrics-source';
import { tfeventsKey } from './tfevents-tail';
import { mlflowKey } from './mlflow-tail';

export {
  DEFAULT_EXPERIMENT_POINTS,
  ExperimentSeries,
  MAX_METRIC_KEYS,
  MetricColumn,
  type XAxis,
} from './series-columns';
export type { SeriesAxis, SeriesQuery } from './series-query';

export interface SeriesStoreOptions {
  /** The feeds to read through; by default the process's (shared with the summary store). */
  feeds?: MetricsFeeds;
  /** Experiments kept in memory. */
  maxExperiments?: number;
  /** Points (across kept experiments) above which older experiments are dropped; the newest always stays. */
  maxPoints?: number;
  /** Points kept for one experiment before its long columns are decimated. */
  maxExperimentPoints?: number;
}

export class SeriesStore {
  /** The feeds read through (the summary store's too, unless either was given its own). */
  readonly feeds: MetricsFeeds;

  constructor(options: SeriesStoreOptions = {}) {
    const budgets = options.maxExperiments ?? options.maxPoints ?? options.maxExperimentPoints;
    // Budgets of its own need feeds of its own (tests, benchmarks).
    this.feeds =
      options.feeds ??
      (budgets === undefined
        ? processMetricsFeeds
        : new MetricsFeeds({
            maxExperiments: options.maxExperiments,
            maxPoints: options.maxPoints,
            maxExperimentPoints: options.maxExperimentPoints,
          }));
  }

  /** The experiment's series, brought up to date with what was appended. */
  async load(expDir: string): Promise<ExperimentSeries> {
    const dir = path.resolve(expDir);
    const jsonl = path.join(dir, LAYOUT.metrics);
    // metrics.jsonl, or a TensorBoard run's event files (one readdir, only until the feed exists).
    const file = this.feeds.get(jsonl) !== undefined ? jsonl : await metricsFileOf(dir);
    if (this.feeds.get(file) === undefined) {
      const exists = await stat(file).then(
        (s) => s.isFile(),
        () => false,
      );
      if (!exists && !(await isExperimentDir(dir))) {
        throw new WorkspaceError('not-found', `${dir} is not an experiment (no ${LAYOUT.metrics})`);
      }
    }
    return this.feeds.open(file).readSeries();
  }

  async query(expDir: string, q: SeriesQuery): Promise<MetricsSeriesResult> {
    return this.queryLoaded(await this.load(expDir), q);
  }

  /**
   * Series of another file of the metrics' record form (logs/system.jsonl),
   * through its own feed in the same feeds; a missing file has no series.
   */
  async queryFile(file: string, q: SeriesQuery, reset = false): Promise<MetricsSeriesResult> {
    if (reset) this.feeds.forgetSeries(file);
    return this.queryLoaded(await this.feeds.open(file).readSeries(), q);
  }

  private queryLoaded(entry: ExperimentSeries, q: SeriesQuery): MetricsSeriesResult {
    return querySeries(entry, q);
  }

  /** Drop an experiment's columns (a folder deleted, or memory wanted back); its summary's fold stays. */
  forget(expDir: string): void {
    this.feeds.forgetSeries(path.join(path.resolve(expDir), LAYOUT.metrics));
    this.feeds.forgetSeries(tfeventsKey(path.resolve(expDir)));
    this.feeds.forgetSeries(mlflowKey(path.resolve(expDir)));
  }

  /** Drop every experiment's columns. */
  clear(): void {
    this.feeds.clearSeries();
  }
}
