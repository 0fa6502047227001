/**
 * What listing, detail and comparison need of the summary layer: one
 * summary per experiment folder. Declared here, below summary/, so the
 * workspace layer never imports the layer above it; SummaryStore
 * (summary/summary-store.ts) is the implementation.
 */
import type { ExperimentSummary } from '../../../shared/model';

export interface Summarizer {
  summarize(dir: string): Promise<ExperimentSummary>;
  /**
   * Optional: get ready to summarize many folders at once (one batch of
   * stats); call the returned function when done.
   */
  prepare?(dirs: string[]): Promise<() => void>;
}
