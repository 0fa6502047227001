/**
 * The experiment model shared by host, UI, CLI and tests. Pure TypeScript: no
 * node:*, no electron, no DOM. Every shape that crosses the contract is a zod
 * schema so it can be validated where it arrives; types are inferred from the
 * schemas rather than kept by hand beside them.
 */
import { z } from 'zod';

/** A metric value as it travels in JSON: NaN and ±Infinity become null. */
export const MetricValue = z.number().nullable();

export const ExperimentState = z.enum(['running', 'completed', 'failed', 'stopped', 'unknown']);
export type ExperimentState = z.infer<typeof ExperimentState>;

/** Where a status came from, so the UI can label inferences as such. */
export const StatusSource = z.enum(['status-file', 'failed-file', 'inferred']);
export type StatusSource = z.infer<typeof StatusSource>;

export const ExperimentStatus = z.object({
  state: ExperimentState,
  source: StatusSource,
  /** Human sentence explaining how the state was derived. */
  reason: z.string(),
  /** From FAILED.txt: "Failed at step N". */
  failedAtStep: z.number().nullable().optional(),
  /** From FAILED.txt: everything after the first line. */
  traceback: z.string().nullable().optional(),
  startedAt: z.string().nullable().optional(),
  endedAt: z.string().nullable().optional(),
  exitCode: z.number().nullable().optional(),
  signal: z.string().nullable().optional(),
});
export type ExperimentStatus = z.infer<typeof ExperimentStatus>;

export const MetricStats = z.object({
  last: MetricValue,
  lastStep: z.number().nullable(),
  min: MetricValue,
  max: MetricValue,
  /** min or max depending on the metric's direction; null when unknown. */
  best: MetricValue,
  bestStep: z.number().nullable(),
  direction: z.enum(['min', 'max', 'unknown']),
  count: z.number(),
  /** Records where the value was NaN or ±Infinity. */
  nonFinite: z.number(),
});
export type MetricStats = z.infer<typeof MetricStats>;

/** A problem found in an experiment's files; never fatal to listing. */
export const Problem = z.object({
  file: z.string(),
  line: z.number().optional(),
  column: z.number().optional(),
  message: z.string(),
});
export type Problem = z.infer<typeof Problem>;

/** The seed's tools/analyze_experiment.py summary, plus last/best of every metric. */
export const ExperimentSummary = z.object({
  path: z.string(),
  folder: z.string(),
  name: z.string(),
  algorithm: z.string().nullable(),
  model: z.string().nullable(),
  total_steps: z.number().nullable(),
  final_loss: MetricValue,
  final_eval: z.record(z.string(), MetricValue).nullable(),
  status: ExperimentStatus,
  startedAt: z.string().nullable(),
  gitHash: z.string().nullable(),
  gitDirty: z.boolean().nullable(),
  metrics: z.record(z.string(), MetricStats),
  records: z.number(),
  malformedLines: z.number(),
  problems: z.array(Problem),
  /**
   * The config's values for LISTED_CONFIG_KEYS (shared/listed-config.ts), keys
   * it lacks left out; undefined when unknown (a summary from an older version).
   */
  params: z
    .record(
      z.string(),
      z.lazy(() => JsonValue),
    )
    .optional(),
  /** A TensorBoard run's hparams (plugin "hparams"): its config when it has no config.yaml. */
  hparams: z
    .record(
      z.string(),
      z.lazy(() => JsonValue),
    )
    .optional(),
  /** Notes, tags, star, archive (expdesk_notes.json in the folder), when it has them. */
  annotations: z
    .object({ tags: z.array(z.string()), note: z.string(), starred: z.boolean(), archived: z.boolean() })
    .optional(),
});
export type ExperimentSummary = z.infer<typeof ExperimentSummary>;

export const Checkpoint = z.object({
  name: z.string(),
  /** step_N gives N; final gives null. */
  step: z.number().nullable(),
  final: z.boolean(),
  path: z.string(),
});
export type Checkpoint = z.infer<typeof Checkpoint>;

export const LogFile = z.object({
  name: z.string(),
  path: z.string(),
  size: z.number(),
  /** train_rankN.log gives N; train.log gives null. */
  rank: z.number().nullable(),
});
export type LogFile = z.infer<typeof LogFile>;

export const OutputFile = z.object({
  kind: z.enum(['eval', 'samples', 'other']),
  name: z.string(),
  path: z.string(),
  size: z.number(),
});
export type OutputFile = z.infer<typeof OutputFile>;

/** JSON-like values as parsed from YAML / JSON files. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export const JsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(JsonValue),
    z.record(z.string(), JsonValue),
  ]),
);

export const ExperimentDetail = z.object({
  summary: ExperimentSummary,
  config: z.record(z.string(), JsonValue).nullable(),
  metadata: z.record(z.string(), JsonValue).nullable(),
  checkpoints: z.array(Checkpoint),
  logs: z.array(LogFile),
  outputs: z.array(OutputFile),
  hasRequirements: z.boolean(),
  hasReproduceScript: z.boolean(),
});
export type ExperimentDetail = z.infer<typeof ExperimentDetail>;

export const WorkspaceListing = z.object({
  /** The folder the user opened. */
  root: z.string(),
  /** The folder that actually holds the experiments (root, root/experiments, …). */
  experimentsDir: z.string(),
  kind: z.enum(['experiments-folder', 'project-root', 'single-experiment']),
  experiments: z.array(ExperimentSummary),
});
export type WorkspaceListing = z.infer<typeof WorkspaceListing>;
