/**
 * The one API contract between the host (Electron main or `expdesk serve`)
 * and its clients (renderer, tests). Nothing declares a channel anywhere
 * else: the IPC bridge, the WebSocket server and both clients are derived
 * from these maps. Every request is validated against `params` where it
 * arrives; results are typed by `result`.
 */
import { z } from 'zod';
import { ExperimentDetail, ExperimentSummary, JsonValue, WorkspaceListing } from './model';
import { MAX_NOTE_CHARS, tagProblem } from './annotations';
import { BundleExportParams, BundleExportResult, BundleProgressEvent, VerifyParams } from './bundle';
import { VerifyResult } from './verify';
import { RemoteStatusSchema } from './remote-status';
import { ExpdeskError } from './errors';
import { GroupSeriesParams, GroupSeriesResult } from './group-series';
import { RunDiff, RunDiffParams } from './run-diff';
import { MetricsSeriesParams, MetricsSeriesResult } from './series-contract';

export const AppInfo = z.object({
  version: z.string(),
  mode: z.enum(['electron', 'browser']),
  /** The workspace open at start (the demo workspace when none was given). */
  workspace: z.string().nullable(),
  demoWorkspace: z.string().nullable(),
  /** Where a bundle goes when the export form names no file: the host's ~/Downloads if it exists, else home. */
  bundleDir: z.string().optional(),
});
export type AppInfo = z.infer<typeof AppInfo>;

const AbsPath = z.string().min(1).max(4096);

/** The most config text one request may carry (config.compose's draft, config.write), in UTF-16 units. */
export const MAX_CONFIG_TEXT = 4 * 1024 * 1024;
/** experiments.watch's most paths (AbsPath: 4096 characters at most). */
const MAX_WATCHED_PATHS = 10_000;
/**
 * The largest frame a request this contract allows can take on the wire, the
 * larger of: config.compose (a path, 500 overrides of 4096 and
 * MAX_CONFIG_TEXT of draft) with every character at its worst in JSON
 * (6 bytes, as in "\u0001"), and experiments.watch (its paths as plain
 * text, 3 bytes of JSON each around them); plus the envelope. The WebSocket
 * server takes frames up to this size and answers anything larger with an error.
 */
export const MAX_REQUEST_BYTES =
  Math.max(6 * (4096 + 500 * 4096 + MAX_CONFIG_TEXT), MAX_WATCHED_PATHS * (4096 + 3)) + 64 * 1024;

export const ConfigProblem = z.object({
  file: z.string().nullable(),
  line: z.number().nullable(),
  column: z.number().nullable(),
  message: z.string(),
});
export type ConfigProblem = z.infer<typeof ConfigProblem>;

export const ComposeResult = z.union([
  z.object({
    ok: z.literal(true),
    config: z.record(z.string(), JsonValue),
    /** The defaults' composition; null for a config with no `defaults:` (Launch then shows no "changes from base"). */
    base: z.record(z.string(), JsonValue).nullable(),
    /** The config before the overrides, for "changes made by overrides"; null or absent without overrides. */
    beforeOverrides: z.record(z.string(), JsonValue).nullable().optional(),
    files: z.array(z.string()),
    /** The frozen config.yaml a launch would write (name and output_dir as placeholders). */
    frozen: z.string(),
    /** The experiment name a launch now would get (without its expNNN_ prefix). */
    namePreview: z.string(),
  }),
  z.object({ ok: z.literal(false), error: ConfigProblem }),
]);
export type ComposeResult = z.infer<typeof ComposeResult>;

// metrics.series (a module of its own: the charts' view made it long).
export { MetricSeries, MetricsSeriesParams, MetricsSeriesResult } from './series-contract';

export const CompareResult = z.object({
  experiments: z.array(ExperimentSummary),
  /** Config keys (dotted) whose values differ; values per experiment, null where absent (see `present`). */
  configDiff: z.array(
    z.object({ key: z.string(), values: z.array(JsonValue), present: z.array(z.boolean()) }),
  ),
  /** Config keys equal everywhere (shown on demand). */
  configSame: z.array(z.object({ key: z.string(), value: JsonValue })),
  /**
   * Metadata fields (dotted, like configs) that differ; git_hash, git_branch, git_dirty,
   * python_version, torch_version, cuda_version, hostname, seed, command first, then by name.
   * name and started_at are left out (they always differ and the summaries carry them);
   * seed comes from the config (seed, training.seed, experiment.seed) when metadata.json has none.
   */
  metadataDiff: z.array(
    z.object({ key: z.string(), values: z.array(JsonValue), present: z.array(z.boolean()) }),
  ),
  /** Metadata fields equal everywhere, in the same order ("same code, same environment"). */
  metadataSame: z.array(z.object({ key: z.string(), value: JsonValue })),
});
export type CompareResult = z.infer<typeof CompareResult>;

export const RunStartParams = z
  .object({
    configFile: z.string().min(1).max(4096),
    command: z.array(z.string().max(4096)).min(1).max(1000),
    overrides: z.array(z.string().max(4096)).max(500).optional(),
    workspace: z.string().min(1).max(4096).optional(),
    cwd: z.string().min(1).max(4096).optional(),
    name: z.string().min(1).max(200).optional(),
    seed: z.number().int().nonnegative().optional(),
    python: z.string().min(1).max(4096).optional(),
    refuseDirty: z.boolean().optional(),
    /** Seconds between system samples (logs/system.jsonl); 0: none; default 10. */
    systemInterval: z.number().min(0).max(86_400).optional(),
    /** Submit to SLURM (sbatch where the workspace is) with these sbatch options, one an entry. */
    slurm: z
      .object({ sbatch: z.array(z.string().min(1).max(1000)).max(100) })
      .strict()
      .optional(),
  })
  .strict();

export const RunStarted = z.object({
  expDir: z.string(),
  name: z.string(),
  warnings: z.array(z.string()),
  tmuxSession: z.string().nullable(),
  /** True where tmux is missing: quitting Expdesk stops this run. */
  diesWithExpdesk: z.boolean(),
});

/** A tag: one word (see tagProblem in shared/annotations.ts). */
const Tag = z.string().refine((t) => tagProblem(t) === null, { message: 'not a tag' });
const AnnotationsSchema = z.object({
  tags: z.array(z.string()),
  note: z.string(),
  starred: z.boolean(),
  archived: z.boolean(),
});

export const requests = {
  'app.info': { params: z.object({}).strict(), result: AppInfo },
  /** List the experiments under a folder (default: the open workspace). Read-only. */
  'workspace.list': {
    params: z
      .object({
        root: AbsPath.optional(),
        /**
         * The table's fields only (name, status, steps, losses, problems), quicker on a large
         * workspace; the rest (params, git, metrics' statistics, traceback) keep their empty
         * defaults. The app asks for this first and for the whole listing right after.
         */
        tableOnly: z.boolean().optional(),
        /** Only the first experiments, in the listing's order: the app's first screenful. */
        limit: z.number().int().positive().max(100_000).optional(),
      })
      .strict(),
    result: WorkspaceListing,
  },
  /** Make a folder the open workspace and list it. Read-only. */
  'workspace.open': { params: z.object({ root: AbsPath }).strict(), result: WorkspaceListing },
  /** Everything about one experiment folder. Read-only. */
  'experiment.get': { params: z.object({ path: AbsPath }).strict(), result: ExperimentDetail },
  /**
   * Compose a config (defaults, overrides, interpolation) without launching:
   * the editor's live errors and resolved preview. A config error is a result
   * (with file, line and column), not a failure.
   */
  'config.compose': {
    params: z
      .object({
        file: AbsPath,
        overrides: z.array(z.string().max(4096)).max(500).optional(),
        /** The editor's unsaved text of `file`, composed in its place (live errors while typing). */
        text: z.string().max(MAX_CONFIG_TEXT).optional(),
      })
      .strict(),
    result: ComposeResult,
  },
  /** Launch a run: compose and freeze the config, capture, start the command. */
  'run.start': { params: RunStartParams, result: RunStarted },
  /** Stop a run: SIGINT, then SIGTERM, then SIGKILL to its process group. Resolves once it ended. */
  'run.stop': {
    params: z.object({ expDir: AbsPath }).strict(),
    result: z.object({ state: z.string(), exitCode: z.number().nullable(), signal: z.string().nullable() }),
  },
  /**
   * Follow a log by byte offset: `log.data` events carry each appended chunk
   * with its offset, so a client that reconnects resumes with `fromOffset`
   * and gets every byte once. `fromOffset: -N` starts N bytes before the end.
   */
  'log.subscribe': {
    params: z
      .object({
        expDir: AbsPath,
        file: z
          .string()
          .regex(/^[\w.-]+\.(?:log|out)$/) // *.log, and SLURM's per-task slurm-<job>-<task>.out
          .optional(),
        fromOffset: z.number().int().optional(),
      })
      .strict(),
    result: z.object({ subscription: z.string(), file: z.string(), offset: z.number(), size: z.number() }),
  },
  'log.unsubscribe': { params: z.object({ subscription: z.string() }).strict(), result: z.object({}) },

  // --- The interface's data (issue 4) ---
  /**
   * Metric series of one experiment, downsampled per visible range with
   * min/max per bucket (src/shared/downsample.ts) so a single spike among a
   * million points stays visible. `range` limits x (zoom); `buckets` is the
   * chart's pixel width or so.
   */
  'metrics.series': { params: MetricsSeriesParams, result: MetricsSeriesResult },
  /**
   * Watch experiments: `metrics.changed` and `experiment.updated` events follow (new points
   * within a second for running ones). Experiment folders that appear in the open workspace
   * after this resolves are announced with `experiment.updated` and followed as well.
   */
  'experiments.watch': {
    params: z.object({ paths: z.array(AbsPath).max(MAX_WATCHED_PATHS) }).strict(),
    result: z.object({ subscription: z.string() }),
  },
  'experiments.unwatch': { params: z.object({ subscription: z.string() }).strict(), result: z.object({}) },
  /** Final and best metrics, config keys that differ and metadata that differs, across experiments. */
  'experiments.compare': {
    params: z.object({ paths: z.array(AbsPath).min(1).max(200) }).strict(),
    result: CompareResult,
  },
  /** A text file of an experiment (outputs/, logs/, FAILED.txt …), as text, size-capped. */
  'file.read': {
    params: z
      .object({
        path: AbsPath,
        maxBytes: z
          .number()
          .int()
          .positive()
          .max(16 * 1024 * 1024)
          .optional(),
      })
      .strict(),
    result: z.object({ text: z.string(), size: z.number(), truncated: z.boolean() }),
  },
  /** The config files (*.yaml) of the open project (its configs/ folder). */
  'config.list': {
    params: z.object({ root: AbsPath.optional() }).strict(),
    result: z.object({
      root: z.string().nullable(),
      files: z.array(z.object({ path: z.string(), rel: z.string() })),
    }),
  },
  'config.read': { params: z.object({ file: AbsPath }).strict(), result: z.object({ text: z.string() }) },
  /** Save an edited config, atomically (temp + rename). Only YAML files under the open project. */
  'config.write': {
    params: z.object({ file: AbsPath, text: z.string().max(MAX_CONFIG_TEXT) }).strict(),
    result: z.object({}),
  },
  /**
   * The project's git working tree as a launch now would record it (the
   * launch form's dirty-tree warning): null outside git, or for a remote
   * project (checked on the remote at launch).
   */
  'project.git': {
    params: z.object({ root: AbsPath.optional() }).strict(),
    result: z.object({
      git: z
        .object({
          root: z.string(),
          hash: z.string(),
          branch: z.string(),
          /** At most 200 `git status --porcelain` lines; `changed` counts them all. */
          changes: z.array(z.string()),
          changed: z.number(),
        })
        .nullable(),
      /** The tree is not read ahead but captured when a run is launched (a remote project). */
      checkedAtLaunch: z.boolean(),
    }),
  },
  /** Reveal a folder in the OS file manager (Electron only; browser mode answers bad-request). */
  'app.showInFolder': { params: z.object({ path: AbsPath }).strict(), result: z.object({}) },

  // --- Reproduction bundles and verification (issue 5): src/shared/bundle.ts, src/shared/verify.ts ---
  /** Write a bundle that reproduces the experiment elsewhere; `bundle.progress` events follow until it resolves. */
  'bundle.export': { params: BundleExportParams, result: BundleExportResult },
  /** Compare two runs' metrics step by step: identical, within tolerance, or diverged (first step and metric). */
  'experiments.verify': { params: VerifyParams, result: VerifyResult },

  // --- Remote workspaces over SSH (issue 6): ssh://[user@]host[:port]/path or host:/path
  // go wherever a folder does (workspace.*, experiment.get, run.*, log.subscribe). ---
  /** The last known connection state of every remote host in use. */
  'remote.status': {
    params: z.object({}).strict(),
    result: z.object({ hosts: z.array(RemoteStatusSchema) }),
  },
  /**
   * Trust a host seen for the first time: record its key in known_hosts, but
   * only if it still has the fingerprint the user was shown (from a
   * `remote.status` event's hostKey). A changed key is never accepted here.
   */
  'remote.trustHostKey': {
    params: z
      .object({ location: z.string().min(1).max(4096), fingerprint: z.string().min(1).max(200) })
      .strict(),
    result: z.object({}),
  },
  /** Answer a `remote.passphrase` question; null skips the key. */
  'remote.answerPassphrase': {
    params: z.object({ request: z.string().max(100), passphrase: z.string().max(4096).nullable() }).strict(),
    result: z.object({}),
  },
  /**
   * Notes, tags, star, archive (issue 12): apply a change to each experiment's
   * expdesk_notes.json — written only on this request, atomically.
   */
  'experiments.annotate': {
    params: z
      .object({
        paths: z.array(AbsPath).min(1).max(10_000),
        change: z
          .object({
            addTags: z.array(Tag).max(100).optional(),
            removeTags: z.array(Tag).max(100).optional(),
            note: z.string().max(MAX_NOTE_CHARS).optional(),
            starred: z.boolean().optional(),
            archived: z.boolean().optional(),
          })
          .strict(),
      })
      .strict(),
    result: z.object({ annotations: z.array(AnnotationsSchema) }),
  },

  // --- Alerts (issue 13) ---
  /** The webhook alerts of a workspace are posted to (Slack-compatible), or null. */
  'alerts.webhook': {
    params: z.object({ workspace: z.string().min(1).max(4096) }).strict(),
    result: z.object({ url: z.string().nullable() }),
  },
  /** Set (or, with null, clear) a workspace's webhook; a URL that is not http(s) is refused. */
  'alerts.setWebhook': {
    params: z
      .object({ workspace: z.string().min(1).max(4096), url: z.string().max(2048).nullable() })
      .strict(),
    result: z.object({ url: z.string().nullable() }),
  },

  // --- Sweeps (issue 11) ---
  /**
   * Run the cartesian product of `sweep` (each `KEY=v1,v2,…`) on this
   * machine: one experiment per member, all made now (queued), `maxParallel`
   * running at once (default one per visible GPU, else 1), started by a queue
   * that outlives the host (core/runs/sweep-queue.ts).
   */
  'run.sweep': {
    params: RunStartParams.extend({
      sweep: z.array(z.string().min(1).max(4096)).min(1).max(20),
      maxParallel: z.number().int().min(1).max(1024).optional(),
    }).strict(),
    result: z.object({
      sweepId: z.string(),
      maxParallel: z.number(),
      members: z.array(z.object({ expDir: z.string(), name: z.string() })),
      warnings: z.array(z.string()),
    }),
  },
  /** Stop a sweep started on this machine: queued members never start, running ones are stopped. */
  'sweep.stop': {
    params: z.object({ sweepId: z.string().max(100) }).strict(),
    result: z.object({ members: z.array(z.object({ expDir: z.string(), state: z.string() })) }),
  },
  /** Groups (issue 12): each group's mean and ±std or min–max band per metric, aligned by step. */
  'metrics.groupSeries': { params: GroupSeriesParams, result: GroupSeriesResult },
  /** What changed between two runs (issue 12): config keys, commits and patches, packages and versions. */
  'experiments.diff': { params: RunDiffParams, result: RunDiff },
} as const;

/** An alert of a run (core/alerts): the run's location and name, the cause and one line of text. */
export const AlertEvent = z.object({
  location: z.string(),
  name: z.string(),
  cause: z.enum(['failed', 'nonfinite', 'stalled', 'completed']),
  text: z.string(),
});

export const events = {
  /** The open workspace changed (another window or the CLI opened one). */
  'workspace.changed': z.object({ root: z.string() }),
  /** Bytes appended to a followed log; `data` is base64 (logs are bytes, not always UTF-8). */
  'log.data': z.object({ subscription: z.string(), offset: z.number(), data: z.string() }),
  /** New metric records were appended to a watched experiment; `records` is the total read so far. */
  'metrics.changed': z.object({ subscription: z.string(), expDir: z.string(), records: z.number() }),
  /** A watched experiment's summary changed, or a new experiment appeared in the open workspace. */
  'experiment.updated': z.object({ summary: ExperimentSummary }),
  /** A run changed state (started, ended, stopped), as its status file says. */
  'run.status': z.object({ expDir: z.string(), state: z.string() }),
  /** An export in progress (phase, and bytes done of total for source and pack). */
  'bundle.progress': BundleProgressEvent,
  /** A remote host's connection state changed (connecting, connected, reconnecting with backoff, failed). */
  'remote.status': RemoteStatusSchema,
  /** An encrypted SSH key needs its passphrase: answer with `remote.answerPassphrase`. */
  'remote.passphrase': z.object({ request: z.string(), keyFile: z.string(), attempt: z.number() }),
  /** A run failed, turned NaN/±Inf, stalled or completed (once per run and cause, across restarts). */
  'alert.fired': AlertEvent,
  /** The desktop notification of an alert was clicked (Electron's, shown by the main process): open the run. */
  'alert.open': z.object({ location: z.string() }),
  /** Posting an alert to the workspace's webhook failed (it is retried with backoff, then given up). */
  'alert.webhook': z.object({ message: z.string() }),
} as const;

export type RequestName = keyof typeof requests;
export type EventName = keyof typeof events;
export type RequestParams<N extends RequestName> = z.input<(typeof requests)[N]['params']>;
export type RequestResult<N extends RequestName> = z.infer<(typeof requests)[N]['result']>;
export type EventPayload<N extends EventName> = z.infer<(typeof events)[N]>;

export const requestNames = Object.keys(requests) as RequestName[];

/**
 * Requests that open a subscription (their result carries `subscription`) and
 * the request that ends it: a transport ends a closed client's subscriptions.
 */
export const unsubscribeRequests = {
  'log.subscribe': 'log.unsubscribe',
  'experiments.watch': 'experiments.unwatch',
} as const satisfies Partial<Record<RequestName, RequestName>>;

export function isRequestName(name: unknown): name is RequestName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(requests, name);
}

export const ApiErrorCode = z.enum(['bad-request', 'not-found', 'forbidden', 'internal']);
export type ApiErrorCode = z.infer<typeof ApiErrorCode>;

/** The error every transport answers with; never an exception that kills the host. */
export class ApiError extends ExpdeskError {
  constructor(
    override readonly code: ApiErrorCode,
    message: string,
  ) {
    super(code, message);
    this.name = 'ApiError';
  }
  toJSON(): { code: ApiErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Validate a request's params as they arrive from an untrusted transport. */
export function parseParams<N extends RequestName>(
  name: N,
  params: unknown,
): z.infer<(typeof requests)[N]['params']> {
  const parsed = requests[name].params.safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new ApiError('bad-request', `invalid params for ${name}${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data as z.infer<(typeof requests)[N]['params']>;
}

/** The interface both the host implements and every client exposes. */
export type ExpdeskApi = {
  [N in RequestName]: (params: RequestParams<N>) => Promise<RequestResult<N>>;
};

/** The client side additionally receives events. */
export interface ExpdeskClient {
  invoke<N extends RequestName>(name: N, params: RequestParams<N>): Promise<RequestResult<N>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}

/** Wire format of the WebSocket transport (the IPC transport uses Electron's own framing). */
export const WireRequest = z.object({
  id: z.number().int(),
  method: z.string(),
  params: z.unknown(),
});
export type WireMessage =
  | { id: number; result: unknown }
  | { id: number; error: { code: ApiErrorCode; message: string } }
  | { event: EventName; payload: unknown };

/** The IPC channel names: the preload and the Electron shell import these, nothing else. */
export const IPC_INVOKE_CHANNEL = 'expdesk:invoke';
export const IPC_EVENT_CHANNEL = 'expdesk:event';

/** Where the host's events go: any event with its payload (the host's emit, a window's or socket's listener). */
export type EventSink = <E extends EventName>(event: E, payload: EventPayload<E>) => void;
