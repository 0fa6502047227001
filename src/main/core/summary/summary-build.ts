/**
 * A summary from a cache entry, in two steps: `summaryParts` (everything that
 * depends only on the folder's files: what a listing record keeps,
 * listing-cache.ts) and `finishSummary` (the status, which also depends on
 * the clock, the logs' mtimes and whether a recorded process still lives).
 * Every summary — fresh, from the full cache entry or from the listing
 * record, local or remote — goes through both, so they judge a folder alike
 * (issue 16: one judgement per folder).
 */
import { MetricsFold } from '../../../shared/metrics-summary';
import type { ExperimentSummary } from '../../../shared/model';
import { foldProblems } from '../../../shared/problems';
import { gpuSummary } from '../../../shared/system-metrics';
import { divergedProblem } from '../metrics/line-faults';
import {
  isEventsState,
  readerHparams,
  readerProblems,
  sourceLabel,
  withHparams,
} from '../metrics/metrics-source';
import type { MetricsTailState } from '../metrics/metrics-tail';
import type { MetricsFoldState } from '../../../shared/metrics-summary';
import type { Problem } from '../../../shared/model';
import { deriveStatus } from '../workspace/status';
import type { Derived } from './derive';

/** What buildSummary reads of a cache entry (summary-store.ts's CacheEntry has more). */
export interface SummarySource {
  derived: Derived;
  tail: MetricsTailState;
  fold: MetricsFoldState;
  metricsProblem?: Problem | null;
  system?: { fold: MetricsFoldState } | null;
}

/** A summary without its place and status: what the files alone decide. */
export interface SummaryParts {
  core: Omit<ExperimentSummary, 'path' | 'folder' | 'status' | 'startedAt'>;
  /** The status's inputs from the files (deriveStatus adds the clock and the logs' mtimes). */
  failed: Derived['failed'];
  statusFile: Derived['statusFile'];
  hasFinalCheckpoint: boolean;
  startedAt: string | null;
}

/** Where a summary's folder is, when it was last written, and (remote) whether its process is gone. */
export interface SummaryPlace {
  path: string;
  folder: string;
  lastWriteMs: number | null;
  now?: number;
  processGone?: boolean;
}

export function summaryParts(entry: SummarySource): SummaryParts {
  const { derived: d, tail } = entry;
  const fold = new MetricsFold(entry.fold);
  const malformed = readerProblems(tail);
  const f = fold.state;
  const diverged = f.firstNonFinite ?? null;
  if (diverged) malformed.push(divergedProblem(diverged, fold, sourceLabel(tail)));
  return {
    core: {
      name: d.name,
      algorithm: d.algorithm,
      model: d.model,
      // A TensorBoard run has no train records: its last step counts.
      total_steps: f.lastTrainStep ?? (isEventsState(tail) ? f.lastStep : null),
      final_loss: f.lastTrainLoss,
      final_loss_nonfinite: f.lastTrainLossNonFinite ?? null,
      diverged,
      final_eval: f.lastEval,
      gitHash: d.gitHash,
      gitDirty: d.gitDirty,
      metrics: fold.metricStats(),
      records: f.records,
      malformedLines: tail.malformedCount,
      problems: foldProblems([
        ...d.problems,
        ...(entry.metricsProblem ? [entry.metricsProblem] : []),
        ...malformed,
      ]),
      ...withHparams(d.params, readerHparams(tail)),
      ...(d.annotations ? { annotations: d.annotations } : {}),
      ...(d.statusFile?.sweep ? { sweep: d.statusFile.sweep } : {}),
      gpu: entry.system ? gpuSummary(entry.system.fold) : null,
      recordTimes: { first: f.firstTimestamp ?? null, last: f.lastTimestamp },
    },
    failed: d.failed,
    statusFile: d.statusFile,
    hasFinalCheckpoint: d.hasFinalCheckpoint,
    startedAt: d.startedAt,
  };
}

/** Whether the status comes from the logs' recent writes (only then do their mtimes matter). */
export function statusInferred(
  p: Pick<SummaryParts, 'failed' | 'statusFile' | 'hasFinalCheckpoint'>,
): boolean {
  return !p.failed && !p.statusFile && !p.hasFinalCheckpoint;
}

export function finishSummary(p: SummaryParts, where: SummaryPlace): ExperimentSummary {
  const status = deriveStatus({
    failed: p.failed,
    statusFile: p.statusFile,
    hasFinalCheckpoint: p.hasFinalCheckpoint,
    lastWriteMs: where.lastWriteMs,
    now: where.now,
    processGone: where.processGone,
  });
  return {
    path: where.path,
    folder: where.folder,
    ...p.core,
    status,
    startedAt: p.startedAt ?? status.startedAt ?? null,
  };
}

/** A summary from a cache entry (pure: the caller says where the folder is and when it was last written). */
export function buildSummary(entry: SummarySource, where: SummaryPlace): ExperimentSummary {
  return finishSummary(summaryParts(entry), where);
}
