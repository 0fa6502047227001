/**
 * One experiment backend per kind of place experiments live in: this folder's
 * local disk (./local-backend.ts) or a machine reached over SSH
 * (./ssh-backend.ts). The host and the CLI never ask whether a location is
 * remote: they resolve it to its backend once (./resolve.ts) and call the
 * same operations on either. A third place (a cluster's shared file system,
 * an object store) is a third implementation of this interface plus one line
 * in resolve.ts.
 *
 * Locations are the strings users type and the contract carries: a local
 * path, or ssh://[user@]host[:port]/path and host:/path. Every answer names
 * experiments by location in the same form, so local and remote results mix
 * freely (compare, verify).
 */
import type { WorkingTree } from '../capture/git';
import type { ExperimentDetail, WorkspaceListing } from '../../../shared/model';
import type { AnnotationChange, Annotations } from '../../../shared/annotations';
import type { CommitRange, GitSide } from '../../../shared/run-diff';
import type { KeptListing, ListOptions } from '../workspace/summarizer';

/** Where experiment events go (the host forwards them as metrics.changed / experiment.updated). */
export interface BackendSink {
  metricsChanged(subscription: string, expDir: string, records: number): void;
  updated(summary: WorkspaceListing['experiments'][number]): void;
}

/** A text file of an experiment, the start up to a byte limit. */
export interface BackendFileText {
  text: string;
  size: number;
  truncated: boolean;
}

/** A local folder holding an experiment's metrics.jsonl (the folder itself, or a mirror of a remote one). */
export interface LocalMetrics {
  dir: string;
  /** The mirror was replaced (the remote file was rewritten): cached series of `dir` are stale. */
  reset: boolean;
}

/** A local file holding an experiment's logs/system.jsonl (the file itself, or a mirror of a remote one). */
export interface LocalStream {
  /** The local file; it may not exist (a run that records no system metrics). */
  file: string;
  /** The mirror was replaced: cached series of `file` are stale. */
  reset: boolean;
}

/** The workspace open in the interface (or given to a command), with the backend it belongs to. */
export interface OpenWorkspace {
  location: string;
  backend: ExperimentBackend;
}

/**
 * A project's configs where the core's composer can read them: the project
 * itself for a local one, a private copy of a remote one's configs/.
 */
export interface ComposeSource {
  /** The project folder composing is confined to. */
  root: string;
  /** The config file to compose, as a path under `root`. */
  file: string;
  /** A composed path (under `root`) as the location the user knows. */
  locate(localPath: string): string;
  /** A message with local copy paths replaced by the user's locations. */
  text(message: string): string;
  cleanup(): void;
}

/** What export needs: a local copy of the experiment folder (a local one is used where it is). */
export interface ExportSource {
  /** The local folder to export from. */
  expDir: string;
  /** A repository holding the recorded commit (the remote's, fetched), or null: export searches as usual. */
  repository: string | null;
  /** Entries a remote fetch left out (links leading out, FIFOs …), with why; empty for a local folder. */
  leftOut: Array<{ path: string; reason: string }>;
  /** A message with the local copy's path replaced by the location the user gave. */
  text(message: string): string;
  cleanup(): void;
}

export interface ExperimentBackend {
  /** 'local' or 'ssh': for diagnostics and messages only, never to branch on. */
  readonly kind: string;

  /** The location as it is kept (a local path made absolute; a remote one as written). */
  normalize(location: string): string;

  /**
   * The experiments of a workspace (workspace.list, `expdesk list`);
   * `opts.tableOnly` lets a backend leave out what the text table does not show, where that is cheaper;
   * `opts.limit`, list only the first experiments (where that is cheaper).
   */
  list(root: string, opts?: ListOptions): Promise<WorkspaceListing>;

  /**
   * Optional, where the files are far (SSH): list(), unless the text table
   * kept from an earlier listing still holds — `kept` is its fingerprint
   * (null: none). The side that reads the files digests what the listing is
   * made from; `unchanged` costs one round trip and no transfer. (A local
   * folder's check runs in the CLI's entry, before the backend loads:
   * cli/list-snapshot.ts.)
   */
  listUnlessKept?(root: string, kept: string | null): Promise<KeptListing>;

  /** Details of experiments, in order (experiment.get, compare, `expdesk show`); a missing one fails, naming it. */
  details(locations: string[]): Promise<ExperimentDetail[]>;

  /**
   * Local folders holding these experiments' metrics.jsonl, in order, brought
   * up to date (metrics.series, verify). `allowFile`: a location may name a
   * metrics.jsonl file rather than a folder (verify takes either).
   */
  localMetrics(locations: string[], opts?: { allowFile?: boolean }): Promise<LocalMetrics[]>;

  /**
   * Local files holding these experiments' logs/system.jsonl (the run
   * wrapper's samples of the machine), in order, brought up to date: read
   * through the same metrics feeds as metrics.jsonl. A missing file is an
   * empty stream, not an error. `node`: a multi-node job's other node's file,
   * logs/system-<node>.jsonl (ExperimentDetail.systemNodes), instead.
   */
  localSystemMetrics(locations: string[], node?: string): Promise<LocalStream[]>;

  /** Follow experiments under a subscription id; an id with no locations still hears of new ones in the workspace. */
  watch(subscription: string, locations: string[]): Promise<void>;
  /** End a subscription; unknown ids are ignored. */
  unwatch(subscription: string): void;

  /** A text file inside an experiment folder (file.read). */
  readFile(location: string, maxBytes?: number): Promise<BackendFileText>;

  /** The project of a workspace and its config files (config.list). */
  listConfigs(root: string): Promise<{ root: string; files: Array<{ path: string; rel: string }> }>;
  /** A config file of the open project (config.read); a file outside it is refused. */
  readConfig(file: string, workspace: OpenWorkspace | null): Promise<string>;
  /** Save a config file of the open project (config.write), atomically. */
  writeConfig(file: string, text: string, workspace: OpenWorkspace | null): Promise<void>;
  /** Where the composer reads a config of the open project from (config.compose). */
  composeSource(file: string, workspace: OpenWorkspace | null): Promise<ComposeSource>;

  /** The project's git working tree (the interface's dirty-tree warning), or null where it cannot be read. */
  projectGit(root: string): Promise<WorkingTree | null>;
  /** Whether the working tree is only checked when a run is launched (projectGit reads nothing ahead). */
  readonly treeCheckedAtLaunch: boolean;

  /** A local copy of the experiment for a bundle (bundle.export, `expdesk export`). */
  exportSource(
    location: string,
    opts: { withLogs?: boolean; withCheckpoint?: boolean },
  ): Promise<ExportSource>;

  /**
   * Notes, tags, star, archive: apply `change` to each experiment's notes file
   * (expdesk_notes.json), atomically; the one write into an experiment folder,
   * made only on the user's request. Returns what each now holds, in order.
   */
  annotate(locations: string[], change: AnnotationChange): Promise<Annotations[]>;

  /**
   * The commits between the git hashes two runs of this backend recorded
   * (`git log a..b` and `b..a`, through safeGit), read where their project
   * repository is; or, in words, why they cannot be (run-diff.ts).
   */
  commitsBetween(a: GitSide, b: GitSide): Promise<CommitRange>;

  /** Subscriptions and poll timers held now (diagnostics, tests). */
  readonly activity: { watches: number; timers: number };

  /** End watches and timers (and, for SSH, nothing else: the connection pool belongs to its owner). */
  dispose(): void;
}
