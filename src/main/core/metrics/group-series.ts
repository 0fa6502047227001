/**
 * `metrics.groupSeries` on loaded columns: each group's members aligned by
 * step at full resolution (src/shared/group-series.ts: mean, sample std,
 * min/max, linear interpolation onto the union of steps), then the mean and
 * the band's edges downsampled for the chart like any series (min/max per
 * bucket, src/shared/downsample.ts), so a spike in one member still shows.
 */
import type { z } from 'zod';
import { downsampleMinMax, type XRange } from '../../../shared/downsample';
import {
  aggregateSeries,
  bandEdges,
  type BandKind,
  type GroupKeySeries,
  type GroupSeriesResult,
} from '../../../shared/group-series';
import type { ExperimentSeries } from './series-columns';

export interface GroupQuery {
  keys: string[];
  band: BandKind;
  range: XRange | null;
  buckets: number;
}

/** One group's curves: `members` are its experiments' loaded columns. */
export function groupCurves(
  members: readonly ExperimentSeries[],
  q: GroupQuery,
): z.infer<typeof GroupSeriesResult>['groups'][number] {
  const series: Record<string, GroupKeySeries> = {};
  for (const key of q.keys) {
    const cols = members.flatMap((m) => m.columns.get(key) ?? []);
    if (cols.length === 0) continue;
    const a = aggregateSeries(cols.map((c) => ({ x: c.step, y: c.y, length: c.length })));
    if (a.x.length === 0) continue;
    const { lower, upper } = bandEdges(a, q.band);
    const down = (y: number[]): ReturnType<typeof downsampleMinMax> =>
      downsampleMinMax({ x: a.x, y, sorted: true }, { buckets: q.buckets, range: q.range });
    const mean = down(a.mean);
    const lo = down(lower);
    const hi = down(upper);
    series[key] = {
      mean: { x: mean.x, y: mean.y },
      lower: { x: lo.x, y: lo.y },
      upper: { x: hi.x, y: hi.y },
      members: cols.length,
      interpolated: a.interpolated,
      points: mean.points,
      downsampled: mean.downsampled || cols.some((c) => c.decimations > 0),
    };
  }
  return { series };
}
