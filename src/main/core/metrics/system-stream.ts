/**
 * An experiment's logs/system.jsonl (the run wrapper's samples of the
 * machine) read through the same MetricsFeeds as its metrics.jsonl: one
 * reader by byte offset, one fold, the same columns for the charts — the
 * file is only another feed, keyed by its own path. The file is local, or
 * the mirror of a remote one (ExperimentBackend.localSystemMetrics).
 */
import { systemStats, type SystemStat } from '../../../shared/system-metrics';
import { MetricsFeeds, processMetricsFeeds } from './metrics-feed';

/** last / min / max / mean of every `system/…` key of a system.jsonl, brought up to date. */
export async function summarizeSystem(
  file: string,
  feeds: MetricsFeeds = processMetricsFeeds,
): Promise<Record<string, SystemStat>> {
  const feed = feeds.open(file);
  await feed.read();
  return systemStats(feed.foldState);
}
