/**
 * The experiment model shared by host, UI, CLI and tests. Pure TypeScript: no
 * node:*, no electron, no DOM. Every shape that crosses the contract is a zod
 * schema so it can be validated where it arrives; types are inferred from the
 * schemas rather than kept by hand beside them.
 */
import { z } from 'zod';

/** A metric value as it travels in JSON: NaN and ±Infinity become null. */
export const MetricValue = z.number().nullable();

/** Which non-finite value a null MetricValue stood for (JSON has no NaN or ±Infinity). */
export const NonFinite = z.enum(['NaN', 'Infinity', '-Infinity']);
export type NonFinite = z.infer<typeof NonFinite>;

/** `queued`: submitted to a batch scheduler (SLURM), not started yet. */
export const ExperimentState = z.enum(['running', 'completed', 'failed', 'stopped', 'unknown', 'queued']);
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
  /** The last value's kind when it was not finite (`last` is then null). */
  lastNonFinite: NonFinite.nullable().optional(),
});
export type MetricStats = z.infer<typeof MetricStats>;

/** A problem found in an experiment's files; never fatal to listing. */
export const Problem = z.object({
  file: z.string(),
  line: z.number().optional(),
  column: z.number().optional(),
  message: z.string(),
  /** How many times this problem occurs (absent: once); `line` is the first. */
  count: z.number().optional(),
});
export type Problem = z.infer<typeof Problem>;

/** What `expdesk show --json` reports as `slurm`, and the interface shows. */
export const SlurmJob = z.object({
  jobId: z.string(),
  /** The scheduler's state (PENDING, RUNNING, TIMEOUT…), or null when it no longer knows the job. */
  state: z.string().nullable(),
  /** For a pending job the scheduler's reason (Priority, Resources, BeginTime…). */
  reason: z.string().nullable(),
  nodes: z.string().nullable(),
  /** "code:signal" as the scheduler prints it. */
  exitCode: z.string().nullable(),
  elapsed: z.string().nullable(),
  /** Which command answered: squeue, sacct, scontrol; "folder" when the scheduler forgot the job. */
  source: z.enum(['squeue', 'sacct', 'scontrol', 'folder']),
});
export type SlurmJob = z.infer<typeof SlurmJob>;
/** A sweep member's tag (core/runs/sweep.ts), recorded in its expdesk_status.json. */
export const SweepTag = z.object({
  id: z.string(),
  /** 0-based position in the sweep's product. */
  index: z.number().int().min(0),
  count: z.number().int().min(1),
  /** The member's swept values, by dotted key. */
  params: z.record(
    z.string(),
    z.lazy(() => JsonValue),
  ),
});
export type SweepTag = z.infer<typeof SweepTag>;

/** The seed's tools/analyze_experiment.py summary, plus last/best of every metric. */
export const ExperimentSummary = z.object({
  path: z.string(),
  folder: z.string(),
  name: z.string(),
  algorithm: z.string().nullable(),
  model: z.string().nullable(),
  total_steps: z.number().nullable(),
  final_loss: MetricValue,
  /** Which non-finite value final_loss (null) was; null/absent when it was finite or missing. */
  final_loss_nonfinite: NonFinite.nullable().optional(),
  /** A series turned NaN or ±Infinity (the run diverged): where first. */
  diverged: z
    .object({
      metric: z.string(),
      step: z.number().nullable(),
      value: NonFinite,
      line: z.number().optional(),
    })
    .nullable()
    .optional(),
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
  /** A SLURM job's scheduler record (src/shared/slurm.ts), for experiments submitted to SLURM. */
  slurm: SlurmJob.optional(),
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
  /** The sweep the experiment is a member of (from its status file), if any. */
  sweep: SweepTag.optional(),
  /**
   * From the run wrapper's logs/system.jsonl (shared/system-metrics.ts): peak
   * GPU memory used (MiB) and mean GPU utilisation (%); null/absent without
   * GPU samples (and for SSH workspaces' listings, which do not read them).
   */
  gpu: z
    .object({ peakMemoryMiB: z.number().nullable(), meanUtilization: z.number().nullable() })
    .nullable()
    .optional(),
  /** The timestamps of the first and last metrics records (for a duration where no status file gives one). */
  recordTimes: z.object({ first: z.string().nullable(), last: z.string().nullable() }).optional(),
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
  /** train_rankN.log and slurm-<job>-N.out give N (shared/rank-logs.ts); train.log gives null. */
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
  /**
   * A multi-node SLURM job's other nodes, sorted: each has logs/system-<node>.jsonl
   * (shared/system-metrics.ts systemFileNode); logs/system.jsonl is the run wrapper's node.
   */
  systemNodes: z.array(z.string()).optional(),
});
export type ExperimentDetail = z.infer<typeof ExperimentDetail>;

export const WorkspaceListing = z.object({
  /** The folder the user opened. */
  root: z.string(),
  /** The folder that actually holds the experiments (root, root/experiments, …). */
  experimentsDir: z.string(),
  kind: z.enum(['experiments-folder', 'project-root', 'single-experiment']),
  experiments: z.array(ExperimentSummary),
  /** Experiments found, when `experiments` holds only the first of them (workspace.list's `limit`). */
  total: z.number().int().nonnegative().optional(),
});
export type WorkspaceListing = z.infer<typeof WorkspaceListing>;
