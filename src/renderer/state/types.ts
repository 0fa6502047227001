/**
 * The store's state, slice by slice: the types only, so that the slices
 * (state/*.ts), their shared context and the store all import this file and
 * never each other in a circle. Each slice's actions are implemented beside
 * it in state/<slice>.ts.
 */
import type { SlurmFields } from '../../shared/slurm-fields';
import type { AnnotationChange } from '../../shared/annotations';
import type { AppInfo, CompareResult, ComposeResult, RequestResult } from '../../shared/contract';
import type { ExperimentDetail, ExperimentSummary, WorkspaceListing } from '../../shared/model';
import type { RemoteStatusPayload } from '../../shared/remote-location';
import type { ApiClient, ConnectionState } from '../api/client';
import type { SortState } from '../lib/columns';
import type { FlatConfig } from '../lib/query';
import type { Brush } from '../lib/parcoords';

export type View = 'experiments' | 'compare' | 'launch' | 'diff';

export interface Toast {
  id: number;
  kind: 'info' | 'success' | 'warning' | 'error';
  text: string;
}

export interface AppSlice {
  /** The transport; constant for the store's life (components subscribe to high-rate events on it directly). */
  client: ApiClient;
  info: AppInfo | null;
  connection: ConnectionState;
  view: View;
  shortcutsOpen: boolean;
  toasts: Toast[];
  /** Connection state of each remote (SSH) host in use, by host. */
  remoteHosts: Record<string, RemoteStatusPayload>;
  /** An encrypted SSH key waiting for its passphrase. */
  passphraseRequest: { request: string; keyFile: string; attempt: number } | null;
  /** Load app info and the open workspace, and follow host events. Call once. */
  init(): Promise<void>;
  /** Stop following events (tests, hot reload). */
  dispose(): void;
  setView(view: View): void;
  setShortcutsOpen(open: boolean): void;
  toast(kind: Toast['kind'], text: string): void;
  /**
   * One toast per event, whichever source tells it first (a request's answer, a status event, an
   * alert): `event` names it (runEventKey); returns false, showing nothing, when it was told already.
   */
  toastOnce(event: string, kind: Toast['kind'], text: string): boolean;
  dismissToast(id: number): void;
  /** Accept a host key seen for the first time, with the fingerprint the user was shown. */
  trustHostKey(host: string, fingerprint: string): Promise<void>;
  answerPassphrase(passphrase: string | null): Promise<void>;
}

export interface CompareSlice {
  comparePaths: string[];
  compare: CompareResult | null;
  compareLoading: boolean;
  compareError: string | null;
  /** Config keys equal everywhere are hidden unless asked for. */
  hideEqual: boolean;
  /** Compare these (default: the checked rows) and show the Compare view. */
  openCompare(paths?: string[]): Promise<void>;
  setHideEqual(hide: boolean): void;
  /** The two runs of the Diff view (what changed between them), in order. */
  diffPaths: string[];
  /** Show the Diff view of two runs (default: the two checked rows). */
  openDiff(paths?: string[]): void;
}

export const DETAIL_TABS = ['overview', 'config', 'log', 'metrics', 'outputs'] as const;
export type DetailTab = (typeof DETAIL_TABS)[number];

export interface DetailSlice {
  /** The experiment shown in the detail view. */
  detailPath: string | null;
  detail: ExperimentDetail | null;
  detailLoading: boolean;
  detailError: string | null;
  tab: DetailTab;
  /** Warnings of the run launched last, shown on its monitor (dirty tree, dies with Expdesk). */
  launchNotes: { expDir: string; warnings: string[] } | null;
  stopping: string | null;
  /** Show an experiment (default: the highlighted one), optionally on a tab. */
  openDetail(path?: string, tab?: DetailTab): Promise<void>;
  closeDetail(): void;
  setTab(tab: DetailTab): void;
  /** Re-read the open experiment soon (its files changed); coalesces bursts of updates. */
  refreshDetailSoon(): void;
  stopRun(path: string): Promise<void>;
  /** Stop every member of a sweep (queued ones never start). */
  stopSweep(sweepId: string): Promise<void>;
  showInFolder(path: string): Promise<void>;
  copyPath(path: string): Promise<void>;
  /** Notes, tags, star, archive of runs (written into their expdesk_notes.json); the rows follow. */
  annotate(paths: string[], change: AnnotationChange): Promise<void>;
}

export interface OverrideRow {
  key: string;
  value: string;
}

export interface LaunchForm {
  command: string;
  python: string;
  seed: string;
  runName: string;
  refuseDirty: boolean;
  /** Sweep axes, one `KEY=v1,v2,…` a line; empty: one run. Remembered per workspace and config, like the overrides. */
  sweep: string;
  /** With a sweep: how many run at once ('' = one per GPU, else 1). */
  maxParallel: string;
  /** Where the run goes: this machine, or SLURM (sbatch where the workspace is). Remembered per workspace. */
  where: 'local' | 'slurm';
  slurm: SlurmFields;
}

export interface LaunchSlice extends LaunchForm {
  setWhere(where: LaunchForm['where']): void;
  setSlurmField(patch: Partial<SlurmFields>): void;
  /** Take the workspace's remembered form: command, interpreter, where and SLURM fields (on opening the launch view). */
  restoreForm(): void;
  /** Another workspace opened: forget this one's configs and take that one's remembered form. */
  leaveWorkspace(): void;
  configRoot: string | null;
  configFiles: { path: string; rel: string }[];
  configFilesError: string | null;
  configFile: string | null;
  /** The file's text as last read or saved. */
  configText: string | null;
  configDirty: boolean;
  configSaving: boolean;
  compose: ComposeResult | null;
  /** The text `compose` was composed from: the editor's draft, or null for the saved file. */
  composedDraft: string | null;
  /** The editor's unsaved text, composed live in place of the saved file; null when clean. */
  configDraft: string | null;
  composing: boolean;
  composeError: string | null;
  /** The open config's overrides: each config file has its own (state/launch-memory.ts). */
  overrides: OverrideRow[];
  /** The project's working tree as a launch now would record it; null until asked, or outside git. */
  gitState: RequestResult<'project.git'>['git'] | null;
  gitStateError: string | null;
  /** The project's tree is captured at launch, not read ahead (a remote project). */
  gitCheckedAtLaunch: boolean;
  launching: boolean;
  launchError: string | null;
  openLaunch(file?: string): Promise<void>;
  loadConfigFiles(): Promise<void>;
  openConfig(file: string): Promise<void>;
  setConfigDirty(dirty: boolean): void;
  /** The editor's text changed: remember the draft and compose it once typing pauses. */
  setConfigDraft(text: string | null): void;
  /** Save the editor's text (config.write), then compose it again. */
  saveConfig(text: string): Promise<boolean>;
  recompose(): Promise<void>;
  /** Ask again whether the project's tree is dirty (on opening the form, after a save, after a launch). */
  loadGitState(): Promise<void>;
  setOverrides(rows: OverrideRow[]): void;
  setLaunchField(patch: Partial<LaunchForm>): void;
  /** Save unsaved edits, start the run, and show its live monitor. */
  launch(editorText: string | null): Promise<void>;
}

export interface RunsSlice {
  /** Last known state per experiment folder, for runs seen running. */
  runStates: Record<string, string>;
  applyRunStatus(expDir: string, state: string): void;
  /** A state transition seen anywhere; announces running → ended once. */
  noteRunState(expDir: string, name: string, previous: string | null, next: string): void;
  /** Ask for notification permission (call from a click: browsers want a user gesture). */
  askNotificationPermission(): void;
}

export interface TableSlice {
  query: string;
  sort: SortState | null;
  /** Visible column ids, in order (persisted). */
  columns: string[];
  /** The highlighted row (keyboard or click). */
  selectedPath: string | null;
  /** Rows checked for Compare, in the order they were checked. */
  checked: string[];
  /** The filter (text, status, config value, tag) of the open workspace; each workspace keeps its own. */
  setQuery(query: string): void;
  /** A workspace's own filter, as last set there ('' for one not filtered yet). */
  queryOf(root: string): string;
  /** A header click: ascending, descending, off. */
  cycleSort(column: string): void;
  setColumns(columns: string[]): void;
  toggleColumn(id: string): void;
  select(path: string | null): void;
  /** Move the highlight by delta visible rows (Up = -1, Down = +1), clamped. */
  moveSelection(delta: number): void;
  toggleChecked(path: string): void;
  setChecked(paths: string[]): void;
  /** Parallel-coordinates brushes by axis key (a config key or a metric): the table shows the runs inside all of them. */
  brush: Record<string, Brush>;
  /** Set (or, with null, clear) one axis' brush. */
  setBrush(key: string, brush: Brush | null): void;
  clearBrush(): void;
  /** The parallel-coordinates panel above the table is open. */
  parcoordsOpen: boolean;
  setParcoordsOpen(open: boolean): void;
}

export interface WorkspaceSlice {
  listing: WorkspaceListing | null;
  listingLoading: boolean;
  listingError: string | null;
  /** Workspaces opened before, most recent first (localStorage). */
  recent: string[];
  /** Flat config (dotted keys) of each experiment, by path, loaded on demand. Configs are frozen: never stale. */
  configIndex: Record<string, FlatConfig>;
  configIndexLoading: boolean;
  configIndexError: string | null;
  /** Config keys whose values differ between experiments (the interesting columns). */
  varyingConfigKeys: string[];
  /** Make a folder the workspace (the browser's equivalent of dropping it). Resolves true on success. */
  openWorkspace(root: string): Promise<boolean>;
  /** List the host's open workspace again, and the open detail with it. */
  refresh(): Promise<void>;
  dismissError(): void;
  /** Show a message in the error banner (e.g. a drop the browser cannot resolve to a path). */
  reportError(message: string): void;
  forgetRecent(root: string): void;
  /** Load config values of listed experiments not loaded yet (for config columns and filters). */
  loadConfigValues(): Promise<void>;
  /**
   * Load config values if the table's columns, sort or filter need more than
   * the key hyperparameters every listing carries (LISTED_CONFIG_KEYS).
   */
  ensureConfigValues(): void;
  /** A watched experiment changed or a new one appeared. */
  applyUpdate(summary: ExperimentSummary): void;
  /** Drop the host's watches (a new listing, a lost connection, dispose). */
  forgetWatches(): void;
}

/** Groups of runs by config keys (issue 12): the table's "Group by" and the charts' band. */
export interface GroupsSlice {
  /** Group-by keys per workspace root (remembered); see selectGroupBy for the open one's. */
  groupByAll: Record<string, string[]>;
  /** Ids of collapsed group header rows (lib/table-groups.ts). */
  collapsedGroups: string[];
  /** What a group's band in the charts spans. */
  groupBand: 'std' | 'minmax';
  /** Group the open workspace's table by these config keys ([]: no groups); remembered per workspace. */
  setGroupBy(keys: string[]): void;
  /** Group by every config key that differs, except seeds (shared/groups.ts allButSeedKeys). */
  groupAllButSeed(): Promise<void>;
  toggleGroupCollapsed(id: string): void;
  setGroupBand(band: 'std' | 'minmax'): void;
}

export type ExpdeskState = AppSlice &
  GroupsSlice &
  WorkspaceSlice &
  TableSlice &
  DetailSlice &
  CompareSlice &
  LaunchSlice &
  RunsSlice & { reset(): void };
