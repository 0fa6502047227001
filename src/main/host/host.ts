/**
 * The one object that implements the API contract on top of core. It knows
 * nothing of the transport: Electron IPC and the WebSocket server both call
 * `dispatch`, which validates params against the contract and turns every
 * failure into an ApiError instead of an exception that kills the host.
 */
import {
  ApiError,
  isRequestName,
  parseParams,
  type EventName,
  type EventPayload,
  type EventSink,
  type ExpdeskApi,
  type RequestName,
  type RequestParams,
  type RequestResult,
} from '../../shared/contract';
import { SummaryStore } from '../core/summary/summary-store';
import type { ExperimentBackend, OpenWorkspace } from '../core/backend/backend';
import { LocalBackend } from '../core/backend/local-backend';
import { SshBackend } from '../core/backend/ssh-backend';
import { byLocation, normalizeLocation, resolveLoadedBackend } from '../core/backend/resolve';
import { RunService, type RunFace } from './runs';
import { RemoteService } from './remote';
import { AlertService } from './alerts';
import { defaultBundleDir } from './bundles';
import { InterfaceDataService } from './interface-data';
import { toApiError } from './errors';
import { openSession, type HostSession } from './session';

export interface HostOptions {
  mode: 'electron' | 'browser';
  version: string;
  /** Workspace open at start; null opens nothing. */
  workspace: string | null;
  demoWorkspace: string | null;
  /** Where summaries are cached; defaults to the user's cache folder. */
  cacheDir?: string;
  /** Reveal a path in the OS file manager (the Electron shell passes shell.showItemInFolder). */
  revealInFolder?: (path: string) => void | Promise<void>;
}

export interface HostActivity {
  /** Log subscriptions (local tails and remote followers). */
  logFollows: number;
  /** experiments.watch subscriptions (as the local backend holds them; every watch is registered there). */
  watches: number;
  /** Watch subscriptions the SSH backend holds (those with a remote experiment, or made while a remote workspace is open). */
  remoteWatches: number;
  /** Runs whose state changes are being announced (run.status). */
  runWatches: number;
  /** Poll timers running. */
  timers: number;
  /** SSH exec channels open. */
  sshChannels: number;
}

export class ExpdeskHost implements ExpdeskApi {
  private workspace: string | null;
  private readonly listeners = new Set<EventSink>();
  readonly summaries: SummaryStore;
  private readonly runs: RunService;
  private readonly data: InterfaceDataService;
  private readonly remote: RemoteService;
  private readonly alerts: AlertService;
  /** Where experiments are read: each location goes to one of these (core/backend/resolve.ts). */
  private readonly backends: { local: ExperimentBackend; ssh: ExperimentBackend };

  constructor(private readonly options: HostOptions) {
    // A remote workspace (ssh://…, host:/path) is kept as written; a local one is made absolute.
    this.workspace = options.workspace ? normalizeLocation(options.workspace) : null;
    this.summaries = new SummaryStore({ cacheDir: options.cacheDir });
    this.remote = new RemoteService(
      (event, payload) => this.emit(event, payload),
      this.summaries,
      {},
      { cacheDir: options.cacheDir },
    );
    this.alerts = new AlertService(
      (event, payload) => this.emit(event, payload),
      () => this.workspace,
    );
    const sink = {
      metricsChanged: (subscription: string, expDir: string, records: number) =>
        this.emit('metrics.changed', { subscription, expDir, records }),
      updated: (summary: EventPayload<'experiment.updated'>['summary']) => {
        this.emit('experiment.updated', { summary });
        this.alerts.updated(summary);
      },
    };
    const workspace = (): OpenWorkspace | null => this.openWorkspace();
    const ssh = new SshBackend({
      pool: this.remote.pool,
      summaries: this.summaries,
      mirror: this.remote.mirror,
      workspace,
      sink,
    });
    this.backends = { local: new LocalBackend({ summaries: this.summaries, workspace, sink }), ssh };
    this.runs = new RunService(
      (event, payload) => this.emit(event, payload),
      () => this.workspace,
    );
    this.data = new InterfaceDataService({
      backends: { local: this.backends.local, ssh: () => this.backends.ssh },
      workspace,
      revealInFolder: options.revealInFolder,
    });
  }

  /** The open workspace with the backend it belongs to. */
  private openWorkspace(): OpenWorkspace | null {
    const location = this.workspace;
    return location ? { location, backend: resolveLoadedBackend(location, this.backends) } : null;
  }

  async 'config.compose'(params: RequestParams<'config.compose'>): Promise<RequestResult<'config.compose'>> {
    return this.data.compose(params);
  }

  async 'run.start'(params: RequestParams<'run.start'>): Promise<RequestResult<'run.start'>> {
    const workspace = params.workspace ?? this.workspace ?? undefined;
    return this.runsAt(workspace).start({ ...params, workspace });
  }

  async 'run.sweep'(params: RequestParams<'run.sweep'>): Promise<RequestResult<'run.sweep'>> {
    const workspace = params.workspace ?? this.workspace ?? undefined;
    return this.runsAt(workspace).sweep({ ...params, workspace });
  }

  async 'sweep.stop'(params: RequestParams<'sweep.stop'>): Promise<RequestResult<'sweep.stop'>> {
    // A whole sweep is stopped here for sweeps started from this machine (their queue or job array is
    // recorded in this machine's state folder); an SSH workspace's SLURM sweep is stopped member by member
    // (run.stop) or with `expdesk stop --sweep`, and this answers that no such sweep was started here.
    return this.runs.stopSweep(params);
  }

  async 'run.stop'(params: RequestParams<'run.stop'>): Promise<RequestResult<'run.stop'>> {
    return this.runsAt(params.expDir).stop(params);
  }

  async 'log.subscribe'(params: RequestParams<'log.subscribe'>): Promise<RequestResult<'log.subscribe'>> {
    return this.runsAt(params.expDir).subscribeLog(params);
  }

  async 'log.unsubscribe'(
    params: RequestParams<'log.unsubscribe'>,
  ): Promise<RequestResult<'log.unsubscribe'>> {
    if (this.remote.unsubscribeLog(params.subscription)) return {};
    return this.runs.unsubscribeLog(params);
  }

  // --- Remote workspaces over SSH (issue 6): see ./remote.ts ---
  async 'remote.status'(): Promise<RequestResult<'remote.status'>> {
    return this.remote.status();
  }

  async 'remote.trustHostKey'(
    params: RequestParams<'remote.trustHostKey'>,
  ): Promise<RequestResult<'remote.trustHostKey'>> {
    return this.remote.trustHostKey(params);
  }

  async 'remote.answerPassphrase'(
    params: RequestParams<'remote.answerPassphrase'>,
  ): Promise<RequestResult<'remote.answerPassphrase'>> {
    return this.remote.answerPassphrase(params);
  }

  // --- The interface's data (issue 4): see ./interface-data.ts ---
  async 'metrics.series'(params: RequestParams<'metrics.series'>): Promise<RequestResult<'metrics.series'>> {
    return this.data.metricsSeries(params);
  }

  async 'metrics.groupSeries'(
    params: RequestParams<'metrics.groupSeries'>,
  ): Promise<RequestResult<'metrics.groupSeries'>> {
    return this.data.groupSeries(params);
  }

  async 'experiments.watch'(
    params: RequestParams<'experiments.watch'>,
  ): Promise<RequestResult<'experiments.watch'>> {
    return this.data.watch(params);
  }

  async 'experiments.unwatch'(
    params: RequestParams<'experiments.unwatch'>,
  ): Promise<RequestResult<'experiments.unwatch'>> {
    return this.data.unwatch(params);
  }

  async 'experiments.compare'(
    params: RequestParams<'experiments.compare'>,
  ): Promise<RequestResult<'experiments.compare'>> {
    return this.data.compare(params);
  }

  async 'experiments.annotate'(
    params: RequestParams<'experiments.annotate'>,
  ): Promise<RequestResult<'experiments.annotate'>> {
    return this.data.annotate(params);
  }

  async 'experiments.diff'(
    params: RequestParams<'experiments.diff'>,
  ): Promise<RequestResult<'experiments.diff'>> {
    return this.data.diff(params);
  }

  async 'file.read'(params: RequestParams<'file.read'>): Promise<RequestResult<'file.read'>> {
    return this.data.readFile(params);
  }

  async 'config.list'(params: RequestParams<'config.list'>): Promise<RequestResult<'config.list'>> {
    return this.data.listConfigs(params);
  }

  async 'config.read'(params: RequestParams<'config.read'>): Promise<RequestResult<'config.read'>> {
    return this.data.readConfig(params);
  }

  async 'config.write'(params: RequestParams<'config.write'>): Promise<RequestResult<'config.write'>> {
    return this.data.writeConfig(params);
  }

  async 'project.git'(params: RequestParams<'project.git'>): Promise<RequestResult<'project.git'>> {
    return this.data.projectGit(params);
  }

  async 'app.showInFolder'(
    params: RequestParams<'app.showInFolder'>,
  ): Promise<RequestResult<'app.showInFolder'>> {
    return this.data.showInFolder(params);
  }

  // --- Reproduction bundles and verification (issue 5): see ./bundles.ts ---
  async 'bundle.export'(params: RequestParams<'bundle.export'>): Promise<RequestResult<'bundle.export'>> {
    return this.data.exportBundle(params, (payload) => this.emit('bundle.progress', payload));
  }

  async 'experiments.verify'(
    params: RequestParams<'experiments.verify'>,
  ): Promise<RequestResult<'experiments.verify'>> {
    return this.data.verify(params);
  }

  /** A client's session (a WebSocket, a window): what it subscribes to ends with it (./session.ts). */
  openSession(): HostSession {
    return openSession(this);
  }

  /**
   * What is following, watching and polling now, local and remote: after every
   * client has gone (and no run is being announced) all of it is zero.
   */
  activity(): HostActivity {
    const runs = this.runs.activity;
    const local = this.backends.local.activity;
    const ssh = this.backends.ssh.activity;
    const remote = this.remote.activity;
    return {
      logFollows: runs.logFollows + remote.logFollows,
      watches: local.watches,
      remoteWatches: ssh.watches,
      runWatches: runs.runWatches + remote.runWatches,
      timers: (runs.timer ? 1 : 0) + local.timers + ssh.timers + remote.timers,
      sshChannels: remote.sshChannels,
    };
  }

  /** End subscriptions, timers and terminals (runs in tmux go on). */
  dispose(): void {
    this.runs.dispose();
    this.backends.local.dispose();
    this.backends.ssh.dispose();
    this.remote.dispose();
    this.data.dispose();
    this.alerts.dispose();
    this.listeners.clear();
  }

  async 'app.info'(): Promise<RequestResult<'app.info'>> {
    return {
      version: this.options.version,
      mode: this.options.mode,
      workspace: this.workspace,
      demoWorkspace: this.options.demoWorkspace,
      bundleDir: defaultBundleDir(),
    };
  }

  async 'workspace.list'(params: RequestParams<'workspace.list'>): Promise<RequestResult<'workspace.list'>> {
    const root = params.root ?? this.workspace;
    if (!root) throw new ApiError('bad-request', 'no workspace is open: open a folder first');
    return this.list(root, params.tableOnly === true, params.limit);
  }

  async 'workspace.open'(params: RequestParams<'workspace.open'>): Promise<RequestResult<'workspace.open'>> {
    const listing = await this.list(params.root);
    this.workspace = listing.root;
    this.emit('workspace.changed', { root: listing.root });
    return listing;
  }

  async 'experiment.get'(params: RequestParams<'experiment.get'>): Promise<RequestResult<'experiment.get'>> {
    return this.data.detail(params.path);
  }

  /** Entry point for every transport: validates, dispatches, never throws anything but ApiError. */
  async dispatch(name: unknown, params: unknown): Promise<unknown> {
    if (!isRequestName(name)) throw new ApiError('bad-request', `unknown request: ${String(name)}`);
    const parsed = parseParams(name, params);
    try {
      // The map is keyed by the same names as the contract; TypeScript cannot
      // correlate the union of methods with the union of params, hence the cast.
      const method = this[name] as (p: unknown) => Promise<unknown>;
      return await method.call(this, parsed);
    } catch (err) {
      throw toApiError(err);
    }
  }

  onEvent(listener: EventSink): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async 'alerts.webhook'(params: RequestParams<'alerts.webhook'>): Promise<RequestResult<'alerts.webhook'>> {
    return { url: this.alerts.webhook(params.workspace) };
  }

  async 'alerts.setWebhook'(
    params: RequestParams<'alerts.setWebhook'>,
  ): Promise<RequestResult<'alerts.setWebhook'>> {
    return { url: this.alerts.setWebhook(params.workspace, params.url) };
  }

  /** Electron's notification of an alert was clicked: every window hears to open the run. */
  alertClicked(location: string): void {
    this.emit('alert.open', { location });
  }

  private emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    for (const l of this.listeners) l(event, payload);
  }

  private async list(
    root: string,
    tableOnly = false,
    limit?: number,
  ): Promise<RequestResult<'workspace.list'>> {
    const listing = await resolveLoadedBackend(root, this.backends).list(root, { tableOnly, limit });
    // The alert detector learns the runs once the reply is on its way: its marker file per
    // running run must not hold up the first rows of a large workspace. A table-only
    // listing lacks what it reads (metrics' statistics): the whole listing follows it.
    if (!tableOnly)
      setImmediate(() => {
        for (const e of listing.experiments) this.alerts.updated(e);
      });
    // Re-attach to runs still alive (launched before this process started, or
    // before a restart): their state changes are announced like our own runs'.
    for (const e of listing.experiments) {
      if (e.status.source === 'status-file' && e.status.state === 'running') this.watchRun(e.path);
    }
    return listing;
  }

  private watchRun(expDir: string): void {
    this.runsAt(expDir).watch(expDir);
  }

  /** The runs of a location's kind (this machine's without one: launching into no workspace says so). */
  private runsAt(location: string | undefined): RunFace {
    return location === undefined
      ? this.runs
      : byLocation<RunFace>(location, { local: this.runs, ssh: this.remote });
  }
}

export type RequestHandler = <N extends RequestName>(
  name: N,
  params: RequestParams<N>,
) => Promise<RequestResult<N>>;
