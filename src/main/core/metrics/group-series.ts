/**
 * `metrics.groupSeries` on loaded columns: each group's members aligned by
 * step at full resolution (src/shared/group-series.ts: mean, sample std,
 * min/max, linear interpolation onto the union of steps), then the mean and
 * the band's edges downsampled for the chart like any series (min/max per
 * bucket, src/shared/downsample.ts), so a spike in one member still shows.
 *
 * The aligned curve is kept (GroupCurveCache) while every member's
 * metrics.jsonl keeps its size and mtime, so a zoom only downsamples again:
 * aligning costs seconds for 6 runs × 100k points (`npm run bench group-series`).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { downsampleMinMax, type XRange } from '../../../shared/downsample';
import {
  aggregateSeries,
  bandEdges,
  type BandKind,
  type GroupKeySeries,
  type GroupSeriesResult,
} from '../../../shared/group-series';
import { smoothingKey, smooths, smoothSeries, type Smoothing } from '../../../shared/smoothing';
import { LAYOUT } from '../workspace/layout';
import type { ExperimentSeries } from './series-columns';

export interface GroupQuery {
  keys: string[];
  band: BandKind;
  range: XRange | null;
  buckets: number;
  smoothing?: Smoothing | null;
}

type GroupCurvesResult = z.infer<typeof GroupSeriesResult>['groups'][number];

/** A group's aligned curve of one metric, before downsampling. */
interface Aligned {
  x: number[];
  mean: number[];
  lower: number[];
  upper: number[];
  members: number;
  interpolated: boolean;
  decimated: boolean;
  /** The mean smoothed at full resolution, per smoothing (smoothingKey); kept with the curve. */
  smoothed: Map<string, Float64Array>;
}

function align(members: readonly ExperimentSeries[], key: string, band: BandKind): Aligned | null {
  const cols = members.flatMap((m) => m.columns.get(key) ?? []);
  if (cols.length === 0) return null;
  const a = aggregateSeries(cols.map((c) => ({ x: c.step, y: c.y, length: c.length })));
  if (a.x.length === 0) return null;
  return {
    x: a.x,
    mean: a.mean,
    ...bandEdges(a, band),
    members: cols.length,
    interpolated: a.interpolated,
    decimated: cols.some((c) => c.decimations > 0),
    smoothed: new Map(),
  };
}

function downsampled(c: Aligned, q: GroupQuery): GroupKeySeries {
  const down = (y: ArrayLike<number>): ReturnType<typeof downsampleMinMax> =>
    downsampleMinMax({ x: c.x, y, sorted: true }, { buckets: q.buckets, range: q.range });
  const mean = down(c.mean);
  const lo = down(c.lower);
  const hi = down(c.upper);
  let smoothed: GroupKeySeries['smoothed'];
  if (smooths(q.smoothing)) {
    // Smoothed over every aligned step, then downsampled: the zoom does not change a spike's smoothed height.
    const id = smoothingKey(q.smoothing);
    let y = c.smoothed.get(id);
    if (!y) c.smoothed.set(id, (y = smoothSeries(c.mean, c.mean.length, q.smoothing)));
    const sm = down(y);
    smoothed = { x: sm.x, y: sm.y };
  }
  return {
    mean: { x: mean.x, y: mean.y },
    ...(smoothed ? { smoothed } : {}),
    lower: { x: lo.x, y: lo.y },
    upper: { x: hi.x, y: hi.y },
    members: c.members,
    interpolated: c.interpolated,
    points: mean.points,
    downsampled: mean.downsampled || c.decimated,
  };
}

/** metrics.jsonl's size and mtime of every member; null where one has none (another tracker's run). */
async function stampOf(dirs: readonly string[]): Promise<string | null> {
  const parts: string[] = [];
  for (const dir of dirs) {
    const s = await stat(path.join(dir, LAYOUT.metrics)).catch(() => null);
    if (!s?.isFile()) return null;
    parts.push(`${s.size}:${s.mtimeMs}:${s.ino}`);
  }
  return parts.join(',');
}

/** Aligned group curves kept between requests, least recently used out. */
export class GroupCurveCache {
  private readonly entries = new Map<string, { stamp: string; curve: Aligned | null }>();

  constructor(private readonly maxEntries = 64) {}

  /** `dirs`: the group's local folders (a remote run's mirror); `load` reads one's columns. */
  async curves(
    dirs: readonly string[],
    load: (dir: string) => Promise<ExperimentSeries>,
    q: GroupQuery,
  ): Promise<GroupCurvesResult> {
    const stamp = await stampOf(dirs);
    let members: ExperimentSeries[] | null = null;
    const series: Record<string, GroupKeySeries> = {};
    for (const key of q.keys) {
      const id = JSON.stringify([dirs, key, q.band]);
      const hit = stamp === null ? undefined : this.entries.get(id);
      let curve: Aligned | null;
      if (hit && hit.stamp === stamp) {
        curve = hit.curve;
        this.entries.delete(id); // re-inserted below: most recently used last
      } else {
        members ??= await Promise.all(dirs.map(load));
        curve = align(members, key, q.band);
      }
      if (stamp !== null) this.entries.set(id, { stamp, curve });
      if (curve) series[key] = downsampled(curve, q);
    }
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return { series };
  }

  clear(): void {
    this.entries.clear();
  }
}
