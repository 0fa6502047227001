/**
 * The typed protocol between Expdesk and its remote helper
 * (resources/remote/expdesk_remote.py). Every operation the helper
 * implements is declared here once: the request Expdesk sends (a TypeScript
 * type, so a call site cannot send a field the helper does not read) and the
 * answer it gets back (a zod schema, checked on arrival, so a malformed answer
 * is an error naming the operation and the field, never a crash further on or
 * a silently wrong value). The streamed operations (`follow`, `pack`) declare
 * their frames and their request the same way.
 *
 * Every request carries `v: PROTOCOL_VERSION` and every answer (and the first
 * frame of a stream) carries the helper's; a helper of another version is
 * refused with a sentence saying so. The parity tests
 * (tests/integration/remote-parity.test.ts) assert that the helper's
 * dispatch table holds exactly the operations declared in HELPER_OPS.
 */
import { z } from 'zod';
import type { GitInfo, PatchResult } from '../capture/git';
import type { PythonInfo } from '../capture/python';
import type { SystemInfo } from '../capture/system';
import type { StatusFile } from '../workspace/status';

/** Bump whenever a request or an answer changes shape; the helper has the same number. */
export const PROTOCOL_VERSION = 5;

/** Bulk bytes, raw after their frame's JSON (`{"$b": [offset, length]}`, remote-python.ts); 3: was base64. */
const Bytes = z.instanceof(Buffer);

/** The error codes the helper answers with (the core's codes, plus internal). */
export const ErrorCode = z.enum(['not-found', 'bad-request', 'forbidden', 'internal']);
export type ErrorCode = z.infer<typeof ErrorCode>;

const plainObject = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A status file as the helper read it: any JSON object (a damaged one is judged by the reader). */
export type RemoteRunStatus = StatusFile & { child_pid?: number | null };
const RunStatus = z.custom<RemoteRunStatus>(plainObject, { message: 'expected a JSON object' });

const count = z.number().int().nonnegative();
/** An inode number: 64 bits on some file systems (NFS, FUSE), beyond JSON's exact integers; compared, never counted. */
const inode = z.number().nonnegative();
/** [size, mtimeMs, ino] of a file, or null when it is missing. */
const Sig = z.tuple([count, z.number(), inode]).nullable();
const ErrorPair = z.tuple([ErrorCode, z.string()]);

// --- gather -------------------------------------------------------------------

export interface GatherHint {
  sigs: Record<string, z.infer<typeof Sig>>;
  offset: number;
  fingerprint: string;
  more?: boolean;
  /** The client's copy of logs/system.jsonl (the run wrapper's samples): its length and last bytes. */
  system_offset?: number;
  system_fingerprint?: string;
  system_more?: boolean;
  /** A TensorBoard or MLflow run's mirrored files: name → [offset, inode, fingerprint] (remote-run-files.ts). */
  files?: RunFilesKnown;
}

export interface GatherRequest {
  op: 'gather';
  /** A workspace to discover and gather, or null to gather `experiments`. */
  root?: string | null;
  experiments?: string[];
  hints?: Record<string, GatherHint>;
  detail?: boolean;
  /** Also discover this workspace (a watch's look for new folders), without gathering it. */
  discover?: string;
  max_bytes_per_experiment?: number;
  max_total_bytes?: number;
  /** With `root`: the kept table's fingerprint (null: none); answered by `fingerprint`, `unchanged`. */
  kept?: string | null;
}

/** A failed read on the remote: its text, and the errno's name and failing call to word it as Node does. */
const WireOsError = z.strictObject({
  error: z.string(),
  errno: z.string().nullable().optional(),
  syscall: z.string().optional(),
});
export type WireOsError = z.infer<typeof WireOsError>;

const WireText = z.union([
  z.null(),
  z.strictObject({ data: z.string() }),
  z.strictObject({ too_large: count }),
  WireOsError,
]);

const WireMetrics = z.union([
  z.object({
    start: count,
    reset: z.boolean(),
    size: count,
    more: z.boolean(),
    data: Bytes,
    skip_to: count.optional(),
  }),
  WireOsError,
]);

const WireDetail = z.object({
  checkpoints: z.array(z.string()),
  logs: z.array(z.object({ name: z.string(), size: count })),
  outputs: z.array(z.object({ kind: z.enum(['eval', 'samples', 'other']), rel: z.string(), size: count })),
  has_requirements: z.boolean(),
  has_reproduce: z.boolean(),
  /** A multi-node job's other nodes (logs/system-<node>.jsonl), sorted. */
  system_nodes: z.array(z.string()).optional(),
});

const TextKey = z.enum(['config', 'metadata', 'failed', 'status', 'annotations']);

const WireExperiment = z.object({
  path: z.string(),
  rel: z.array(z.string()).optional(),
  error: ErrorPair.optional(),
  unreadable: z.string().optional(),
  sigs: z
    .object({
      config: Sig,
      metadata: Sig,
      failed: Sig,
      status: Sig,
      final: Sig,
      metrics: Sig,
      /** expdesk_notes.json (helpers before notes did not send it). */
      annotations: Sig.optional(),
      /** logs/system.jsonl, the run wrapper's samples of the machine. */
      system: Sig.optional(),
    })
    .optional(),
  texts: z.partialRecord(TextKey, WireText).optional(),
  last_write_ms: z.number().nullable().optional(),
  pid_alive: z.boolean().nullable().optional(),
  metrics: WireMetrics.optional(),
  /** logs/system.jsonl's bytes after the hint's system_offset, in the form of `metrics`. */
  system: WireMetrics.optional(),
  detail: WireDetail.optional(),
  /** A TensorBoard or MLflow run without logs/metrics.jsonl: its metric files come as `run_files`. */
  other_metrics: z.enum(['tfevents', 'mlflow']).optional(),
  run_files: z.lazy(() => WireRunFiles).optional(),
});

/** A gather's envelope: its experiments come ahead of it, one item each (ITEMS). */
const GatherEnvelope = z.object({
  hostname: z.string(),
  root: z.string().optional(),
  experimentsDir: z.string().optional(),
  kind: z.enum(['experiments-folder', 'project-root', 'single-experiment']).optional(),
  now_ms: z.number(),
  discovered: z.array(z.string()).optional(),
  discover_error: ErrorPair.optional(),
  /** Asked for by `kept`: what the listing is made from (null: more than its stats); `unchanged`: no experiment sent. */
  fingerprint: z.string().nullable().optional(),
  unchanged: z.literal(true).optional(),
});

export type WireText = z.infer<typeof WireText>;
export type WireDetail = z.infer<typeof WireDetail>;
export type WireMetrics = z.infer<typeof WireMetrics>;
export type WireSig = z.infer<typeof Sig>;
export type WireExperiment = z.infer<typeof WireExperiment>;
export type GatherAnswer = AnswerOf<'gather'>;

// --- read, file, tail -----------------------------------------------------------

export interface ReadRequest {
  op: 'read';
  path: string;
  /** Negative: that many bytes before the end. */
  offset: number;
  max: number;
}
const ReadAnswer = z.object({
  size: count,
  offset: count,
  data: z.string(),
  missing: z.boolean().optional(),
});

export interface FileRequest {
  op: 'file';
  path: string;
  max: number;
}
const FileAnswer = z.object({ size: count, data: z.string() });

export interface TailRequest {
  op: 'tail';
  files: Array<{ path: string; file_ok: boolean; offset: number; fingerprint: string; ino: number | null }>;
  max_bytes_per_file: number;
  max_total_bytes: number;
}
/** A file's bytes after the client's copy: where they start, whether the copy starts over, and whether more follow. */
const FILE_BYTES = {
  size: count,
  ino: inode,
  start: count,
  reset: z.boolean(),
  /** The bytes as latin-1 text. */
  data: z.string(),
  more: z.boolean(),
};
const WireTail = z.union([
  z.strictObject({ path: z.string(), error: ErrorPair }),
  z.strictObject({ path: z.string(), missing: z.literal(true) }),
  z.object({ path: z.string(), ...FILE_BYTES }),
]);
const TailAnswer = z.object({ files: z.array(WireTail) });
export type WireTail = z.infer<typeof WireTail>;

// --- config files ------------------------------------------------------------------

export interface ConfigsRequest {
  op: 'configs';
  root: string;
  /** Every config's text in the answer too. */
  data?: boolean;
}
const ConfigsAnswer = z.object({
  project: z.string(),
  files: z.array(z.object({ path: z.string(), rel: z.string(), data: z.string().optional() })),
});

export interface ConfigReadRequest {
  op: 'config_read';
  root: string;
  file: string;
}
const ConfigReadAnswer = z.object({ data: z.string() });

export interface ConfigWriteRequest {
  op: 'config_write';
  root: string;
  file: string;
  /** base64 */
  data: string;
}
const ConfigWriteAnswer = z.object({ path: z.string() });

// --- runs --------------------------------------------------------------------------

export interface PrepareRequest {
  op: 'prepare';
  experiments_dir: string;
  base: string;
  name: string | null;
  cwd: string;
  python: string;
  refuse_dirty: boolean;
  patch_limit: number | null;
  probe: string;
  probe_timeout_ms: number;
  freeze_timeout_ms: number;
}
const GitAnswer: z.ZodType<GitInfo> = z.object({
  git_hash: z.string(),
  git_branch: z.string(),
  git_dirty: z.boolean(),
  git_remote: z.string().nullable(),
  root: z.string().nullable(),
});
const PythonAnswer: z.ZodType<PythonInfo> = z.looseObject({
  python_version: z.string(),
  torch_version: z.string(),
  cuda_version: z.string(),
  python_executable: z.string(),
  conda: z.boolean(),
  error: z.string().optional(),
});
const SystemAnswer: z.ZodType<SystemInfo> = z.object({
  hostname: z.string(),
  os: z.string(),
  cpu: z.object({ model: z.string(), count: count }),
  memory_bytes: count,
  gpus: z.array(z.object({ name: z.string(), memory_total: z.string(), driver_version: z.string() })),
});
const PatchAnswer: z.ZodType<PatchResult> = z.object({
  bytes: count,
  files: count,
  complete: z.boolean(),
  omitted: z.array(z.object({ path: z.string(), bytes: count })),
  error: z.string().optional(),
});
const PrepareAnswer = z.object({
  exp_dir: z.string(),
  name: z.string(),
  cwd: z.string(),
  started_at: z.string(),
  git: GitAnswer,
  py: PythonAnswer,
  freeze: z.object({ text: z.string(), error: z.string().optional() }),
  conda: z.string().nullable(),
  sys: SystemAnswer,
  patch: PatchAnswer.nullable(),
  env: z.record(z.string(), z.string()),
  tmux: z.boolean(),
});
export type PrepareAnswer = z.infer<typeof PrepareAnswer>;

export interface StartRequest {
  op: 'start';
  files: Array<{ path: string; data: string; mode: number }>;
  /** The run wrapper's source, base64. */
  runner: string;
  /** Modules the wrapper imports, written beside it: file name → source, base64 (the system sampler). */
  runner_modules?: Record<string, string>;
  /** The wrapper's --system-interval (seconds; 0: no system samples). */
  system_interval?: number;
  spec: {
    exp_dir: string;
    cwd: string;
    argv: string[];
    env_extra: Record<string, string>;
    stop_timeouts: number[];
  };
  tmux: boolean;
  session: string;
}
const StartAnswer = z.object({
  tmux_session: z.string().nullable(),
  status: RunStatus,
  hostname: z.string(),
});

export interface StopRequest {
  op: 'stop';
  exp_dir: string;
  /** How long to wait for the end after signalling. */
  wait_ms?: number;
  /** Only record the end of a run whose wrapper died (proven by the launch's record); signal nothing else. */
  settle?: boolean;
}
const StopAnswer = z.object({ status: RunStatus.nullable() });

// --- the helper's own description ------------------------------------------------------

export interface OpsRequest {
  op: 'ops';
}
const OpsAnswer = z.object({ ops: z.array(z.string()) });

// --- streamed operations -------------------------------------------------------------------

export interface FollowRequest {
  op: 'follow';
  exp_dir: string;
  file: string | null;
  offset: number;
  poll_ms: number;
  heartbeat_ms: number;
  status_only: boolean;
}

/** The state of a followed run, sent before the bytes it covers. */
const RunState = z.object({
  status: RunStatus.nullable(),
  /** Whether a running status file's process is alive (checked on the remote); null when not applicable. */
  pid_alive: z.boolean().nullable(),
  failed: z.boolean(),
  final: z.boolean(),
  last_write_ms: z.number().nullable(),
  /** The log offset every byte before which was sent ahead of this state. */
  offset: count,
  now_ms: z.number(),
});
export type RemoteRunState = z.infer<typeof RunState>;

/** A JSON header line of the follow stream (a data header is followed by its `n` raw bytes). */
export const FollowFrame = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('hello'),
    v: z.number(),
    file: z.string(),
    offset: count,
    exists: z.boolean(),
    exp_dir: z.string(),
    size: count,
  }),
  z.object({ t: z.literal('data'), o: count, n: count }),
  z.object({ t: z.literal('reset') }),
  RunState.extend({ t: z.literal('state') }),
  z.object({ t: z.literal('error'), code: ErrorCode, message: z.string() }),
]);
export type FollowFrame = z.infer<typeof FollowFrame>;

export interface PackRequest {
  op: 'pack';
  exp_dir: string;
  with_logs: boolean;
  with_checkpoint: boolean;
  git_hash: string | null;
  git_root: string | null;
}

// --- TensorBoard and MLflow runs' files, notes (issue 12) ------------------------------

/** What a client's mirror holds of a run's files: name → [offset, inode, base64 of the bytes before the offset]. */
export type RunFilesKnown = Record<string, [number, number | null, string]>;

/** One run file's bytes after the client's copy (as `tail` answers for metrics.jsonl). */
const WireRunFile = z.object({
  /** Relative to the run's folder, '/'-separated (untrusted: checked before it names a local file). */
  name: z.string(),
  ...FILE_BYTES,
  /** The bytes (binary event records: raw, never text). */
  data: Bytes,
});
const WireRunFiles = z.object({
  kind: z.enum(['tfevents', 'mlflow']).nullable(),
  /** Every current file of the run (a file not named is gone). */
  files: z.array(WireRunFile),
});
export type WireRunFiles = z.infer<typeof WireRunFiles>;

export interface RunFilesRequest {
  op: 'run_files';
  runs: Array<{ path: string; files: RunFilesKnown }>;
  max_bytes_per_run: number;
  max_total_bytes: number;
}
const RunFilesAnswer = z.object({ runs: z.array(WireRunFiles.extend({ path: z.string() })) });

export interface AnnotateRequest {
  op: 'annotate';
  /** Without `data`: read. With it: write it (base64) if the file still holds `expected` (base64; null: no file). */
  items: Array<{ exp_dir: string; data?: string; expected?: string | null }>;
}
const AnnotateAnswer = z.object({
  items: z.array(
    z.union([
      z.strictObject({ exp_dir: z.string(), error: ErrorPair }),
      z.object({
        exp_dir: z.string(),
        current: z.string().nullable(),
        conflict: z.boolean().optional(),
        written: z.boolean().optional(),
      }),
    ]),
  ),
});

// --- the table ------------------------------------------------------------------------------

/** Operations answered with one JSON body (the envelope): their answers' schemas. */
export const ANSWERS = {
  gather: GatherEnvelope,
  read: ReadAnswer,
  file: FileAnswer,
  tail: TailAnswer,
  configs: ConfigsAnswer,
  config_read: ConfigReadAnswer,
  config_write: ConfigWriteAnswer,
  prepare: PrepareAnswer,
  start: StartAnswer,
  stop: StopAnswer,
  ops: OpsAnswer,
  run_files: RunFilesAnswer,
  annotate: AnnotateAnswer,
} as const;

/** Operations answered with a stream (frames or a tar), parsed by their callers. */
export const STREAMED_OPS = ['follow', 'pack'] as const;

export type AnsweredOp = keyof typeof ANSWERS;
export type HelperOp = AnsweredOp | (typeof STREAMED_OPS)[number];

/** Every operation the helper implements. */
export const HELPER_OPS: readonly HelperOp[] = [...(Object.keys(ANSWERS) as AnsweredOp[]), ...STREAMED_OPS];

export type AnsweredRequest =
  | GatherRequest
  | ReadRequest
  | FileRequest
  | TailRequest
  | ConfigsRequest
  | ConfigReadRequest
  | ConfigWriteRequest
  | PrepareRequest
  | StartRequest
  | StopRequest
  | OpsRequest
  | RunFilesRequest
  | AnnotateRequest;
export type StreamedRequest = FollowRequest | PackRequest;
export type HelperRequest = AnsweredRequest | StreamedRequest;

/** Answers whose items come ahead of the envelope (a gather's experiments): the items' field and schema. */
export const ITEMS = {
  gather: { field: 'experiments', schema: WireExperiment },
} as const;

export type ItemOp = keyof typeof ITEMS;
export type ItemOf<Op extends AnsweredOp> = Op extends ItemOp ? z.infer<(typeof ITEMS)[Op]['schema']> : never;

/** An answer as callRemote returns it: the envelope's schema, and its items (if any) as their field. */
export type AnswerOf<Op extends AnsweredOp> = z.infer<(typeof ANSWERS)[Op]> &
  (Op extends ItemOp ? Record<(typeof ITEMS)[Op]['field'], Array<ItemOf<Op>>> : unknown);
