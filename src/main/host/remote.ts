/**
 * The host's side of remote workspaces (ssh://… and host:/path wherever the
 * contract takes a folder): listing and reading through RemoteWorkspace, runs
 * through remote-runs, log subscriptions through resumable followers, and the
 * interface's part of SSH — connection state (`remote.status` events),
 * trusting an unknown host key the user was shown (`remote.trustHostKey`),
 * and passphrases asked through the interface (`remote.passphrase` event,
 * answered with `remote.answerPassphrase`).
 *
 * The interface's data on remote experiments, like local ones: metric series
 * and verify read local mirrors of the remote metrics.jsonl files
 * (RemoteMetricsMirror: only new bytes travel), watches poll each host with
 * one command a tick (RemoteExperimentWatcher), compare gathers a host's
 * details in one command, file views and config files are helper commands
 * that apply the local confinement rules on the remote, and bundle.export
 * fetches the experiment (and its commit) then exports here.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import {
  ApiError,
  type EventName,
  type EventPayload,
  type RequestParams,
  type RequestResult,
} from '../../shared/contract';
import { ExpdeskError } from '../../shared/errors';
import type { ExperimentDetail, WorkspaceListing } from '../../shared/model';
import { userCacheDir } from '../core/app/paths';
import {
  formatRemoteLocation,
  parseRemoteLocation,
  remoteEndpointLabel,
  withRemotePath,
  type RemoteLocation,
} from '../../shared/remote-location';
import { ConfigError } from '../core/configs/compose';
import { SshConnection, type SshOptions } from '../core/remote/connection';
import { RemotePool } from '../core/remote/pool';
import { fetchRemoteExperiment } from '../core/remote/remote-export';
import {
  listRemoteConfigs,
  readRemoteConfig,
  readRemoteExperimentFile,
  writeRemoteConfig,
  type RemoteFileText,
} from '../core/remote/remote-files';
import { RemoteMetricsMirror, type MirrorResult } from '../core/remote/remote-metrics';
import { RemoteExperimentWatcher } from '../core/remote/remote-watcher';
import { mirrorRemoteConfigs, type RemoteConfigMirror } from '../core/remote/remote-configs';
import { RemoteLogFollower } from '../core/remote/remote-runs';
import { SshExecutor } from '../core/remote/ssh-executor';
import { planContext, planRun } from '../core/runs/plan';
import { RemoteWorkspace } from '../core/remote/remote-workspace';
import type { SummaryStore } from '../core/summary/summary-store';
import { exportBundleRequest, verifyRequest } from './bundles';
import { toApiError } from './errors';
import { composeForEditor } from './runs';

type Emit = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

/** How often watched remote runs are polled for their state. */
const WATCH_MS = 2000;
/** How long the interface has to answer a passphrase question. */
const PASSPHRASE_TIMEOUT_MS = 5 * 60_000;

export function isRemote(text: string | null | undefined): text is string {
  if (!text) return false;
  try {
    return parseRemoteLocation(text) !== null;
  } catch {
    return true; // a malformed ssh:// URL: the remote path reports it
  }
}

/** Remote failures as the contract's errors (the one mapping, ./errors.ts). */
async function wrap<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toApiError(err);
  }
}

/** As wrap, and the message names the remote endpoint when it does not already. */
/** The local copy of a remote project's config, or a clear error for a file that is not one. */
function localConfigOf(mirror: RemoteConfigMirror, remotePath: string): string {
  const local = mirror.localFor(remotePath);
  if (!local)
    throw new ApiError(
      'bad-request',
      `${remotePath} is not a config of the remote project ${mirror.project}: ` +
        'configs are composed from the YAML files under its configs/ folder',
    );
  return local;
}

async function wrapAt<T>(label: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ExpdeskError)) throw err;
    const api = toApiError(err);
    throw api.message.includes(label) ? api : new ApiError(api.code, `${label}: ${api.message}`);
  }
}

interface HostGroup {
  label: string;
  conn: SshConnection;
  ws: RemoteWorkspace;
  /** The locations on this host: their index in the request and their parsed form. */
  items: Array<{ index: number; loc: RemoteLocation }>;
}

export interface RemoteDataOptions {
  /** Where mirrors of remote metrics are kept (the summaries' cache folder; default the user's). */
  cacheDir?: string;
  /** The open workspace: a remote one is searched for new experiments while watches are on. */
  workspace?: () => string | null;
}

export class RemoteService {
  readonly pool: RemotePool;
  private readonly followers = new Map<string, RemoteLogFollower>();
  private readonly watched = new Map<
    string,
    { loc: RemoteLocation; runs: Map<string, { expDir: string; last: string }>; busy: boolean }
  >();
  private watchTimer: NodeJS.Timeout | null = null;
  private readonly passphrases = new Map<string, (value: string | null) => void>();
  readonly mirror: RemoteMetricsMirror;
  private readonly experimentWatcher: RemoteExperimentWatcher;

  constructor(
    private readonly emit: Emit,
    private readonly summaries: SummaryStore,
    options: SshOptions = {},
    data: RemoteDataOptions = {},
  ) {
    this.pool = new RemotePool({
      ...options,
      passphrase: (keyFile, attempt) => this.askPassphrase(keyFile, attempt),
    });
    this.pool.onStatus((s) => this.emit('remote.status', s));
    this.mirror = new RemoteMetricsMirror(data.cacheDir ?? userCacheDir());
    this.experimentWatcher = new RemoteExperimentWatcher({
      open: (endpoint) => new RemoteWorkspace(this.pool.connection(endpoint), endpoint, this.summaries),
      workspace: data.workspace ?? (() => null),
      sink: {
        metricsChanged: (subscription, expDir, records) =>
          this.emit('metrics.changed', { subscription, expDir, records }),
        updated: (summary) => this.emit('experiment.updated', { summary }),
      },
    });
  }

  private open(text: string): { loc: RemoteLocation; conn: SshConnection; ws: RemoteWorkspace } {
    const loc = parseRemoteLocation(text);
    if (!loc) throw new ApiError('bad-request', `not a remote location: ${text}`);
    const conn = this.pool.connection(loc);
    return { loc, conn, ws: new RemoteWorkspace(conn, loc, this.summaries) };
  }

  /** The executor of runs on the host of `location` (an ssh://… workspace or experiment). */
  private executor(location: string): SshExecutor {
    const { conn, ws } = this.open(location);
    return new SshExecutor(conn, () => ws);
  }

  private askPassphrase(keyFile: string, attempt: number): Promise<string | null> {
    const request = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.passphrases.delete(request);
        resolve(null);
      }, PASSPHRASE_TIMEOUT_MS);
      timer.unref();
      this.passphrases.set(request, (value) => {
        clearTimeout(timer);
        this.passphrases.delete(request);
        resolve(value);
      });
      this.emit('remote.passphrase', { request, keyFile, attempt });
    });
  }

  answerPassphrase(
    params: RequestParams<'remote.answerPassphrase'>,
  ): RequestResult<'remote.answerPassphrase'> {
    const answer = this.passphrases.get(params.request);
    if (!answer) throw new ApiError('not-found', 'no passphrase question is waiting under that id');
    answer(params.passphrase);
    return {};
  }

  status(): RequestResult<'remote.status'> {
    return { hosts: this.pool.statuses() };
  }

  /** Record the host key the user was shown (by its fingerprint) and reconnect. */
  async trustHostKey(
    params: RequestParams<'remote.trustHostKey'>,
  ): Promise<RequestResult<'remote.trustHostKey'>> {
    return wrap(async () => {
      const loc = parseRemoteLocation(params.location);
      if (!loc) throw new ApiError('bad-request', `not a remote location: ${params.location}`);
      // A throwaway connection that accepts only the key with this fingerprint.
      const probe = new SshConnection(
        { host: loc.host, user: loc.user, port: loc.port },
        {
          acceptNewHostKey: params.fingerprint,
          passphrase: (f, a) => this.askPassphrase(f, a),
        },
      );
      try {
        await probe.connect();
      } finally {
        probe.close();
      }
      this.pool.drop(loc);
      return {};
    });
  }

  list(root: string): Promise<WorkspaceListing> {
    return wrap(async () => {
      const { loc, ws } = this.open(root);
      return ws.list(loc.path);
    });
  }

  detail(p: string): Promise<ExperimentDetail> {
    return wrap(async () => {
      const { loc, ws } = this.open(p);
      return ws.detail(loc.path);
    });
  }

  async start(
    params: RequestParams<'run.start'> & { workspace: string },
  ): Promise<RequestResult<'run.start'>> {
    return wrap(async () => {
      const { loc, conn } = this.open(params.workspace);
      // A config of the remote project (the interface's launch): composed here from copies of its configs.
      let mirror: RemoteConfigMirror | null = null;
      let configFile = params.configFile;
      if (isRemote(params.configFile)) {
        const target = this.configTarget(params.configFile, params.workspace);
        mirror = await wrapAt(remoteEndpointLabel(loc), () => mirrorRemoteConfigs(conn, loc.path));
        configFile = localConfigOf(mirror, target.loc.path);
      }
      let started;
      try {
        const request = {
          workspace: loc.path,
          configFile,
          configRoot: mirror?.localRoot,
          overrides: params.overrides,
          command: params.command,
          cwd: params.cwd,
          name: params.name,
          seed: params.seed,
          python: params.python,
          refuseDirty: params.refuseDirty,
        };
        const plan = planRun(request, planContext(request, { configLabel: mirror?.remoteFor }));
        started = await this.executor(params.workspace).submit(plan);
      } catch (err) {
        if (mirror && err instanceof ConfigError)
          throw new ApiError('bad-request', mirror.remoteText(err.message));
        throw err;
      } finally {
        mirror?.cleanup();
      }
      const expDir = formatRemoteLocation(withRemotePath(loc, started.expDir));
      this.watch(expDir);
      return {
        expDir,
        name: started.name,
        warnings: started.warnings,
        tmuxSession: started.tmuxSession,
        diesWithExpdesk: started.diesWithExpdesk,
      };
    });
  }

  async stop(params: RequestParams<'run.stop'>): Promise<RequestResult<'run.stop'>> {
    return wrap(async () => {
      const { loc } = this.open(params.expDir);
      const executor = this.executor(params.expDir);
      const s = await executor.cancel(executor.handle(loc.path));
      return { state: s.state, exitCode: s.exitCode, signal: s.signal };
    });
  }

  /**
   * Announce a remote run's state changes as `run.status` events, until it
   * ends. All watched runs of a host are polled together: one remote command
   * per host every WATCH_MS, however many runs (sshd allows few channels).
   */
  watch(expDir: string): void {
    const { loc } = this.open(expDir);
    const key = remoteEndpointLabel(loc);
    let host = this.watched.get(key);
    if (!host) {
      host = { loc, runs: new Map(), busy: false };
      this.watched.set(key, host);
    }
    if (!host.runs.has(loc.path)) {
      host.runs.set(loc.path, { expDir, last: '' });
      void this.pollWatched(); // announce the current state now, not a tick later
    }
    if (!this.watchTimer) {
      this.watchTimer = setInterval(() => void this.pollWatched(), WATCH_MS);
      this.watchTimer.unref();
    }
  }

  private async pollWatched(): Promise<void> {
    for (const [key, host] of this.watched) {
      if (host.busy) continue;
      host.busy = true;
      try {
        const executor = this.executor(formatRemoteLocation(host.loc));
        const paths = [...host.runs.keys()];
        const reports = await executor.query(paths.map((p) => executor.handle(p)));
        reports.forEach((r, i) => {
          const run = host.runs.get(paths[i]!)!;
          if (r.state !== run.last) {
            run.last = r.state;
            this.emit('run.status', { expDir: run.expDir, state: r.state });
          }
          if (r.error !== null || (r.state !== 'running' && r.state !== 'unknown'))
            host.runs.delete(paths[i]!);
        });
      } catch {
        // The link is down or the host is gone: remote.status events say so; try again next tick.
      } finally {
        host.busy = false;
        if (host.runs.size === 0) this.watched.delete(key);
      }
    }
    if (this.watched.size === 0 && this.watchTimer) {
      clearInterval(this.watchTimer);
      this.watchTimer = null;
    }
  }

  async subscribeLog(params: RequestParams<'log.subscribe'>): Promise<RequestResult<'log.subscribe'>> {
    return wrap(async () => {
      const { loc, conn } = this.open(params.expDir);
      const subscription = randomUUID();
      let hello: (h: { file: string; offset: number; size: number }) => void = () => undefined;
      const ready = new Promise<{ file: string; offset: number; size: number }>((r) => (hello = r));
      const follower = new RemoteLogFollower(conn, loc.path, {
        file: params.file,
        fromOffset: params.fromOffset ?? 0,
        onHello: (h) => hello(h),
        onData: (offset, data) =>
          this.emit('log.data', { subscription, offset, data: data.toString('base64') }),
      });
      this.followers.set(subscription, follower);
      const ended = follower.run().finally(() => this.followers.delete(subscription));
      // The first answer tells where the log starts; a failure before it is the request's failure.
      const h = await Promise.race([ready, ended.then(() => null)]);
      if (!h) throw new ApiError('internal', `could not follow the log of ${params.expDir}`);
      ended.catch(() => undefined); // later failures end the subscription; remote.status says why
      return { subscription, file: h.file, offset: h.offset, size: h.size };
    });
  }

  /** True when the subscription was a remote one (and is now ended). */
  unsubscribeLog(subscription: string): boolean {
    const f = this.followers.get(subscription);
    if (!f) return false;
    f.stop();
    this.followers.delete(subscription);
    return true;
  }

  // --- The interface's data on remote experiments ---

  /** Locations grouped by endpoint, so each host is asked once for all of its experiments. */
  private byHost(locations: string[]): HostGroup[] {
    const groups = new Map<string, HostGroup>();
    locations.forEach((text, index) => {
      const { loc, conn, ws } = this.open(text);
      const label = remoteEndpointLabel(loc);
      let g = groups.get(label);
      if (!g) {
        g = { label, conn, ws, items: [] };
        groups.set(label, g);
      }
      g.items.push({ index, loc });
    });
    return [...groups.values()];
  }

  /**
   * Bring the local mirrors of these experiments' metrics up to date (one
   * command per host) and return them, in order. Fails on the first
   * experiment that has none (not an experiment, gone), naming it.
   */
  mirrorMetrics(locations: string[], opts: { allowFile?: boolean } = {}): Promise<MirrorResult[]> {
    return wrap(async () => {
      const out: MirrorResult[] = new Array<MirrorResult>(locations.length);
      await Promise.all(
        this.byHost(locations).map((g) =>
          wrapAt(g.label, async () => {
            const results = await this.mirror.sync(
              g.conn,
              g.items.map((it) => ({
                location: locations[it.index]!,
                remotePath: it.loc.path,
                allowFile: opts.allowFile,
              })),
            );
            results.forEach((r, i) => {
              if (r instanceof Error) throw r;
              out[g.items[i]!.index] = r;
            });
          }),
        ),
      );
      return out;
    });
  }

  /** Details of remote experiments, one command per host, in order; a missing one fails the request. */
  details(locations: string[]): Promise<ExperimentDetail[]> {
    return wrap(async () => {
      const out: ExperimentDetail[] = new Array<ExperimentDetail>(locations.length);
      await Promise.all(
        this.byHost(locations).map((g) =>
          wrapAt(g.label, async () => {
            const details = await g.ws.details(g.items.map((it) => it.loc.path));
            details.forEach((d, i) => {
              if (d instanceof Error) throw d;
              out[g.items[i]!.index] = d;
            });
          }),
        ),
      );
      return out;
    });
  }

  readFile(location: string, maxBytes?: number): Promise<RemoteFileText> {
    return wrap(async () => {
      const { loc, conn } = this.open(location);
      return wrapAt(remoteEndpointLabel(loc), () => readRemoteExperimentFile(conn, loc.path, maxBytes));
    });
  }

  listConfigs(root: string): Promise<RequestResult<'config.list'>> {
    return wrap(async () => {
      const { loc, conn, ws } = this.open(root);
      const r = await wrapAt(remoteEndpointLabel(loc), () => listRemoteConfigs(conn, loc.path));
      return {
        root: ws.locate(r.project),
        files: r.files.map((f) => ({ path: ws.locate(f.path), rel: f.rel })),
      };
    });
  }

  /**
   * config.compose of a remote project's config (the config editor on a remote
   * workspace): one command copies the project's configs here, the core
   * composes them, and every path in the answer is the remote one again.
   */
  compose(
    params: RequestParams<'config.compose'>,
    workspace: string | null,
  ): Promise<RequestResult<'config.compose'>> {
    return wrap(async () => {
      const { loc, conn, root } = this.configTarget(params.file, workspace);
      const { ws } = this.open(params.file);
      const mirror = await wrapAt(remoteEndpointLabel(loc), () => mirrorRemoteConfigs(conn, root));
      try {
        const r = composeForEditor({ ...params, file: localConfigOf(mirror, loc.path) }, mirror.localRoot);
        const located = (p: string): string => ws.locate(mirror.remoteFor(p));
        if (r.ok) return { ...r, files: r.files.map(located) };
        return {
          ok: false,
          error: {
            ...r.error,
            file: r.error.file === null ? null : located(r.error.file),
            message: mirror.remoteText(r.error.message),
          },
        };
      } finally {
        mirror.cleanup();
      }
    });
  }

  /** The remote workspace a config file must belong to: the same endpoint as the file. */
  private configTarget(
    file: string,
    workspace: string | null,
  ): { loc: RemoteLocation; conn: SshConnection; root: string } {
    const { loc, conn } = this.open(file);
    const ws = isRemote(workspace) ? parseRemoteLocation(workspace) : null;
    if (!ws || remoteEndpointLabel(ws) !== remoteEndpointLabel(loc))
      throw new ApiError(
        'forbidden',
        `${file} is outside the open project (${workspace ?? 'no workspace is open'})`,
      );
    return { loc, conn, root: ws.path };
  }

  readConfig(file: string, workspace: string | null): Promise<RequestResult<'config.read'>> {
    return wrap(async () => {
      const { loc, conn, root } = this.configTarget(file, workspace);
      return { text: await wrapAt(remoteEndpointLabel(loc), () => readRemoteConfig(conn, root, loc.path)) };
    });
  }

  writeConfig(file: string, text: string, workspace: string | null): Promise<RequestResult<'config.write'>> {
    return wrap(async () => {
      const { loc, conn, root } = this.configTarget(file, workspace);
      await wrapAt(remoteEndpointLabel(loc), () => writeRemoteConfig(conn, root, loc.path, text));
      return {};
    });
  }

  /** Follow remote experiments under a subscription id (events as for local watches). */
  watchExperiments(subscription: string, locations: string[]): void {
    for (const l of locations) this.open(l); // a malformed location fails the request, not a later tick
    this.experimentWatcher.watch(subscription, locations);
  }

  unwatchExperiments(subscription: string): void {
    this.experimentWatcher.unwatch(subscription);
  }

  /** Fetch the remote experiment (and its commit) in one command, then export the bundle here. */
  exportBundle(
    params: RequestParams<'bundle.export'>,
    emit: (payload: EventPayload<'bundle.progress'>) => void,
  ): Promise<RequestResult<'bundle.export'>> {
    return wrap(async () => {
      const { loc, conn } = this.open(params.expDir);
      emit({ expDir: params.expDir, phase: 'scan', done: 0, total: 0 });
      const fetched = await wrapAt(remoteEndpointLabel(loc), () =>
        fetchRemoteExperiment(conn, loc.path, {
          withLogs: params.withLogs,
          withCheckpoint: params.withCheckpoint,
        }),
      );
      const here = (text: string): string => text.split(fetched.expDir).join(params.expDir);
      try {
        const r = await exportBundleRequest(
          {
            ...params,
            expDir: fetched.expDir,
            repository: params.repository ?? fetched.repository ?? undefined,
          },
          (p) => emit({ ...p, expDir: params.expDir }),
          fetched.leftOut,
        );
        return {
          ...r,
          sourceMissing: r.sourceMissing === null ? null : here(r.sourceMissing),
          warnings: r.warnings.map(here),
        };
      } catch (err) {
        if (!(err instanceof ExpdeskError)) throw err;
        const api = toApiError(err);
        throw new ApiError(api.code, here(api.message));
      } finally {
        fetched.cleanup();
      }
    });
  }

  /** verify with either side (or both) remote: their metrics are mirrored here first. */
  verify(params: RequestParams<'experiments.verify'>): Promise<RequestResult<'experiments.verify'>> {
    return wrap(async () => {
      const sides = [params.original, params.reproduced];
      const remote = sides.filter((s) => isRemote(s));
      // Either side may be a folder or a metrics.jsonl file, as for local runs.
      const mirrors = await this.mirrorMetrics(remote, { allowFile: true });
      const local = new Map(remote.map((s, i) => [s, mirrors[i]!.dir]));
      const shown = new Map(sides.map((s) => [local.get(s) ?? path.resolve(s), s]));
      const here = (text: string): string => {
        for (const [dir, s] of shown) if (dir !== s) text = text.split(dir).join(s);
        return text;
      };
      try {
        const r = await verifyRequest({
          ...params,
          original: local.get(params.original) ?? params.original,
          reproduced: local.get(params.reproduced) ?? params.reproduced,
        });
        return {
          ...r,
          original: isRemote(params.original) ? params.original : r.original,
          reproduced: isRemote(params.reproduced) ? params.reproduced : r.reproduced,
          warnings: r.warnings.map(here),
        };
      } catch (err) {
        if (!(err instanceof ExpdeskError)) throw err;
        const api = toApiError(err);
        throw new ApiError(api.code, here(api.message));
      }
    });
  }

  /** Remote log followers, watches, timers and open SSH channels (tests, diagnostics). */
  get activity(): {
    logFollows: number;
    watches: number;
    runWatches: number;
    timers: number;
    sshChannels: number;
  } {
    let runWatches = 0;
    for (const h of this.watched.values()) runWatches += h.runs.size;
    return {
      logFollows: this.followers.size,
      watches: this.experimentWatcher.size.subscriptions,
      runWatches,
      timers: (this.watchTimer ? 1 : 0) + (this.experimentWatcher.polling ? 1 : 0),
      sshChannels: this.pool.openChannels,
    };
  }

  dispose(): void {
    this.experimentWatcher.dispose();
    for (const f of this.followers.values()) f.stop();
    this.followers.clear();
    this.watched.clear();
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = null;
    for (const answer of this.passphrases.values()) answer(null);
    this.pool.closeAll();
  }
}
