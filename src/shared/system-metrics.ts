/**
 * The run wrapper's system metrics (logs/system.jsonl, written by
 * resources/runner/expdesk_system.py): `system/…` keys in the metrics' record
 * form, per GPU `system/gpu<N>/…`. Pure: what `expdesk show` and the table
 * make of a stream's summary.
 */
import { getOwn, setOwn } from './own-keys';
import { ExpdeskError } from './errors';
import { MetricsFold, type MetricsFoldState } from './metrics-summary';

/** One system key summarised: last, min, max and mean of its finite values. */
export interface SystemStat {
  last: number | null;
  min: number | null;
  max: number | null;
  mean: number | null;
  count: number;
}

export const SYSTEM_PREFIX = 'system/';

/**
 * A multi-node SLURM job's other nodes each have a file of their own beside
 * logs/system.jsonl (the wrapper's node): logs/system-<node>.jsonl, in the
 * same record form. The node of such a file name, or null for any other name.
 */
export function systemFileNode(name: string): string | null {
  return /^system-([A-Za-z0-9._-]+)\.jsonl$/.exec(name)?.[1] ?? null;
}

/** The file name under logs/ of a node's samples (none: the run wrapper's node); a bad node name is refused. */
export function systemFileName(node?: string): string {
  if (node === undefined) return 'system.jsonl';
  const name = `system-${node}.jsonl`;
  if (systemFileNode(name) !== node)
    throw new ExpdeskError('bad-request', `${JSON.stringify(node)} is not a node name`);
  return name;
}

const GPU_MEMORY = /^system\/gpu(\d+)\/mem_used_mb$/;
const GPU_UTIL = /^system\/gpu(\d+)\/util_percent$/;

/** The table's two columns: the highest GPU memory used on any GPU, and GPU utilisation averaged over GPUs. */
export interface GpuHeadline {
  peakGpuMemoryMb: number | null;
  meanGpuUtilPercent: number | null;
}

export function gpuHeadline(stats: Record<string, SystemStat>): GpuHeadline {
  let peak: number | null = null;
  const utils: number[] = [];
  for (const [key, s] of Object.entries(stats)) {
    if (GPU_MEMORY.test(key) && s.max !== null) peak = peak === null ? s.max : Math.max(peak, s.max);
    if (GPU_UTIL.test(key) && s.mean !== null) utils.push(s.mean);
  }
  return {
    peakGpuMemoryMb: peak,
    meanGpuUtilPercent: utils.length ? utils.reduce((a, b) => a + b, 0) / utils.length : null,
  };
}

/** last / min / max / mean of every `system/…` key of a system.jsonl's fold, sorted by key. */
export function systemStats(state: MetricsFoldState): Record<string, SystemStat> {
  const fold = new MetricsFold(state);
  const means = fold.means();
  const out: Record<string, SystemStat> = {};
  for (const [key, s] of Object.entries(fold.metricStats()).sort(([a], [b]) => a.localeCompare(b))) {
    if (!key.startsWith(SYSTEM_PREFIX)) continue;
    setOwn(out, key, {
      last: s.last,
      min: s.min,
      max: s.max,
      mean: getOwn(means, key) ?? null,
      count: s.count,
    });
  }
  return out;
}

/** The listing's GPU fields (ExperimentSummary.gpu): null when the samples hold no GPU values. */
export interface GpuSummary {
  /** The highest memory.used of any GPU, MiB (nvidia-smi's unit). */
  peakMemoryMiB: number | null;
  /** utilization.gpu averaged over the samples, then over the GPUs, percent. */
  meanUtilization: number | null;
}

export function gpuSummary(state: MetricsFoldState): GpuSummary | null {
  const h = gpuHeadline(systemStats(state));
  if (h.peakGpuMemoryMb === null && h.meanGpuUtilPercent === null) return null;
  return { peakMemoryMiB: h.peakGpuMemoryMb, meanUtilization: h.meanGpuUtilPercent };
}
