/**
 * The `metrics.series` request's schemas (src/shared/contract.ts declares
 * the request; the charts' view — axes, smoothing, marks, robust range —
 * made them long enough for a module of their own).
 */
import { z } from 'zod';

/** EMA or a trailing window mean (src/shared/smoothing.ts), computed by the host before downsampling. */
export const SmoothingParam = z.union([
  z.object({ kind: z.literal('ema'), weight: z.number().min(0).max(0.999) }).strict(),
  z.object({ kind: z.literal('mean'), window: z.number().int().min(1).max(1_000_000) }).strict(),
]);

export const MetricsSeriesParams = z
  .object({
    expDir: z.string().min(1).max(4096),
    /** Metric keys; default all. */
    keys: z.array(z.string().max(512)).max(1000).optional(),
    /** step; wall time (ms); relative time (s since the run's first record); or another metric's value (`xKey`). */
    x: z.enum(['step', 'time', 'relative', 'metric']).default('step'),
    /** x = 'metric': the metric whose value at the same step (the last one at or before it) is x. */
    xKey: z.string().max(512).optional(),
    /** Visible x range (zoom); default everything. */
    range: z.object({ min: z.number(), max: z.number() }).nullable().optional(),
    buckets: z.number().int().min(10).max(20_000).default(1000),
    /** Which file: logs/metrics.jsonl (default) or the run wrapper's logs/system.jsonl. */
    stream: z.enum(['metrics', 'system']).optional(),
    /** Smoothing computed on the full series before downsampling; each series then also carries `smoothed`. */
    smoothing: SmoothingParam.optional(),
    /** Also give each series the 1st–99th percentile of its finite values in range (`robust`). */
    robust: z.boolean().optional(),
    /** With stream 'system': a multi-node job's other node (ExperimentDetail.systemNodes), its logs/system-<node>.jsonl. */
    node: z.string().min(1).max(255).optional(),
  })
  .strict();

export const MetricSeries = z.object({
  /** x values (step, or ms since epoch for time), in order. */
  x: z.array(z.number()),
  /** y values; null where the file had NaN/Infinity. */
  y: z.array(z.number().nullable()),
  /** Raw points in the range before downsampling. */
  points: z.number(),
  downsampled: z.boolean(),
  /** With `smoothing`: the smoothed full series, downsampled like the raw one. */
  smoothed: z.object({ x: z.array(z.number()), y: z.array(z.number().nullable()) }).optional(),
  /** Non-finite points in range (absent when none): marks (per bucket the first of each kind) and counts. */
  nonFinite: z
    .object({
      x: z.array(z.number()),
      kind: z.array(z.enum(['nan', '+inf', '-inf'])),
      nan: z.number(),
      posInf: z.number(),
      negInf: z.number(),
    })
    .optional(),
  /** With `robust`: the 1st and 99th percentile of the finite values in range (null: none). */
  robust: z.object({ lo: z.number(), hi: z.number() }).nullable().optional(),
});

export const MetricsSeriesResult = z.object({
  /** Every metric key of the experiment, sorted (series holds only the requested ones that exist). */
  keys: z.array(z.string()),
  series: z.record(z.string(), MetricSeries),
  /** Full x extent of the data (for "reset zoom"). */
  extent: z.object({ min: z.number(), max: z.number() }).nullable(),
  /** Records read so far (grows while a run writes). */
  records: z.number(),
});
export type MetricsSeriesResult = z.infer<typeof MetricsSeriesResult>;
