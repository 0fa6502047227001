/**
 * A group's metric curve: its members' series aligned by step, with the
 * mean and a band (± sample std, or min–max) at every step. Pure: the host
 * (`metrics.groupSeries`, core/metrics/group-series.ts) computes it on the
 * full-resolution columns before downsampling, and tests check its numbers.
 *
 * Alignment: the x values are the union of the members' steps. A member
 * contributes at a step inside its own range (first to last step); where it
 * has no point at that step its value is interpolated linearly between its
 * neighbours (and `interpolated` says so, for the chart's note). Outside its
 * range it contributes nothing (no extrapolation), so `n` can vary by step.
 * A non-finite value (NaN, ±Inf) is no value: it is left out, never
 * interpolated through. The statistics are groups.ts's `groupStat` (mean,
 * sample std n − 1, min, max), one implementation for the table and charts.
 */
import { z } from 'zod';
import { groupStat } from './groups';
import { SmoothingParam } from './series-contract';

export interface MemberColumns {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Points in use (typed arrays carry spare capacity); default min(x.length, y.length). */
  length?: number;
}

export interface AggregatedSeries {
  /** The union of the members' finite steps, ascending. */
  x: number[];
  /** NaN where no member has a finite value at that step. */
  mean: number[];
  /** Sample standard deviation (n − 1); NaN below two values. */
  std: number[];
  min: number[];
  max: number[];
  /** Members with a value at each step. */
  n: number[];
  /** Some member's value at some step was interpolated (members' steps differ). */
  interpolated: boolean;
}

export type BandKind = 'std' | 'minmax';

/** One member's points as (step, value), ascending by step, a repeated step keeping its last value. */
function memberPoints(m: MemberColumns): { xs: number[]; ys: number[] } {
  const n = Math.min(m.length ?? Math.min(m.x.length, m.y.length), m.x.length, m.y.length);
  const idx: number[] = [];
  for (let i = 0; i < n; i++) if (Number.isFinite(m.x[i]!)) idx.push(i);
  // Stable: equal steps stay in file order, so the later one wins below.
  idx.sort((a, b) => m.x[a]! - m.x[b]!);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const i of idx) {
    const xv = m.x[i]!;
    const yv = m.y[i]!;
    if (xs.length > 0 && xs[xs.length - 1] === xv) ys[ys.length - 1] = yv;
    else {
      xs.push(xv);
      ys.push(yv);
    }
  }
  return { xs, ys };
}

export function aggregateSeries(members: readonly MemberColumns[]): AggregatedSeries {
  const points = members.map(memberPoints);
  const union = [...new Set(points.flatMap((p) => p.xs))].sort((a, b) => a - b);
  const values: number[][] = union.map(() => []);
  let interpolated = false;
  for (const { xs, ys } of points) {
    if (xs.length === 0) continue;
    let j = 0;
    const last = xs[xs.length - 1]!;
    for (let u = 0; u < union.length; u++) {
      const x = union[u]!;
      if (x < xs[0]! || x > last) continue;
      while (xs[j + 1] !== undefined && xs[j + 1]! <= x) j++;
      let v: number;
      if (xs[j] === x) v = ys[j]!;
      else {
        interpolated = true;
        const x0 = xs[j]!;
        const x1 = xs[j + 1]!;
        v = ys[j]! + ((ys[j + 1]! - ys[j]!) * (x - x0)) / (x1 - x0);
      }
      if (Number.isFinite(v)) values[u]!.push(v);
    }
  }
  const out: AggregatedSeries = { x: union, mean: [], std: [], min: [], max: [], n: [], interpolated };
  for (const vs of values) {
    const s = groupStat(vs);
    out.mean.push(s.mean ?? NaN);
    out.std.push(s.std ?? NaN);
    out.min.push(s.min ?? NaN);
    out.max.push(s.max ?? NaN);
    out.n.push(s.n);
  }
  return out;
}

/**
 * The band's lower and upper edges: mean ∓ std (one value: no spread, the
 * edges meet at the mean), or the members' min and max. NaN where no member
 * has a value.
 */
export function bandEdges(a: AggregatedSeries, kind: BandKind): { lower: number[]; upper: number[] } {
  if (kind === 'minmax') return { lower: a.min, upper: a.max };
  const spread = a.std.map((s, i) => (a.n[i] === 1 ? 0 : s));
  return {
    lower: a.mean.map((m, i) => m - spread[i]!),
    upper: a.mean.map((m, i) => m + spread[i]!),
  };
}

// --- The request (`metrics.groupSeries` in contract.ts) ---

export const GroupSeriesParams = z
  .object({
    /** Each group's experiment locations (local paths or ssh:// locations). */
    groups: z
      .array(z.array(z.string().min(1).max(4096)).min(1).max(200))
      .min(1)
      .max(50),
    keys: z.array(z.string().max(512)).min(1).max(200),
    band: z.enum(['std', 'minmax']).default('std'),
    /** Visible step range (zoom); default everything. */
    range: z.object({ min: z.number(), max: z.number() }).nullable().optional(),
    buckets: z.number().int().min(10).max(20_000).default(1000),
    /** Smoothing of each group's mean, on its full-resolution aligned steps before downsampling. */
    smoothing: SmoothingParam.optional(),
  })
  .strict();

const Line = z.object({ x: z.array(z.number()), y: z.array(z.number().nullable()) });

/** One group's curve of one metric: mean and band edges, each downsampled (min/max per bucket). */
export const GroupKeySeries = z.object({
  mean: Line,
  /** With `smoothing`: the mean smoothed at full resolution, then downsampled like it. */
  smoothed: Line.optional(),
  lower: Line,
  upper: Line,
  /** Members with this metric. */
  members: z.number(),
  /** Members' steps differ: some values were interpolated. */
  interpolated: z.boolean(),
  /** Aligned steps in the range before downsampling. */
  points: z.number(),
  downsampled: z.boolean(),
});
export type GroupKeySeries = z.infer<typeof GroupKeySeries>;

export const GroupSeriesResult = z.object({
  /** In the order of `groups`: metric key → its curve (keys no member has are left out). */
  groups: z.array(z.object({ series: z.record(z.string(), GroupKeySeries) })),
});
