/**
 * The host's side of SSH itself and of remote runs: the connection pool and
 * its state (`remote.status` events), trusting an unknown host key the user
 * was shown (`remote.trustHostKey`), passphrases asked through the interface
 * (`remote.passphrase` event, answered with `remote.answerPassphrase`),
 * launching and stopping runs through remote-runs, announcing their state,
 * and log subscriptions through resumable followers.
 *
 * Reading remote experiments (listing, details, metrics, watches, files,
 * configs, export, verify) is not here: it is the SSH experiment backend
 * (core/backend/ssh-backend.ts), built on this pool and metrics mirror, and
 * reached like the local one through core/backend/resolve.ts.
 */
import { randomUUID } from 'node:crypto';
import { ApiError, type EventSink, type RequestParams, type RequestResult } from '../../shared/contract';
import { ExpdeskError } from '../../shared/errors';
import { userCacheDir } from '../core/app/paths';
import { byLocation } from '../core/backend/resolve';
import {
  formatRemoteLocation,
  remoteEndpointLabel,
  withRemotePath,
  type RemoteLocation,
} from '../../shared/remote-location';
import { ConfigError } from '../core/configs/compose';
import { SshConnection, type SshOptions } from '../core/remote/connection';
import { RemotePool } from '../core/remote/pool';
import { RemoteMetricsMirror } from '../core/remote/remote-metrics';
import { RemoteRunFiles } from '../core/remote/remote-run-files';
import { mirrorRemoteConfigs, type RemoteConfigMirror } from '../core/remote/remote-configs';
import { RemoteLogFollower } from '../core/remote/remote-runs';
import { SshExecutor } from '../core/remote/ssh-executor';
import { sshSlurmSite } from '../core/remote/slurm-ssh';
import { SlurmExecutor } from '../core/runs/slurm-executor';
import { planContext, planRun, type PlanContext, type RunRequest } from '../core/runs/plan';
import { expandSweep, parseSweepAxis } from '../core/runs/sweep';
import { RemoteWorkspace } from '../core/remote/remote-workspace';
import type { SummaryStore } from '../core/summary/summary-store';
import { toApiError } from './errors';
import type { RunFace } from './runs';

/** How often watched remote runs are polled for their state. */
const WATCH_MS = 2000;
/** How long the interface has to answer a passphrase question. */
const PASSPHRASE_TIMEOUT_MS = 5 * 60_000;

/** Whether a location is served over SSH (decided in core/backend/resolve.ts, like every location). */
function overSsh(text: string | null | undefined): text is string {
  return Boolean(text) && byLocation(text!, { local: false, ssh: true });
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

export interface RemoteDataOptions {
  /** Where mirrors of remote metrics are kept (the summaries' cache folder; default the user's). */
  cacheDir?: string;
}

export class RemoteService implements RunFace {
  readonly pool: RemotePool;
  private readonly followers = new Map<string, RemoteLogFollower>();
  private readonly watched = new Map<
    string,
    { loc: RemoteLocation; runs: Map<string, { expDir: string; last: string }>; busy: boolean }
  >();
  private watchTimer: NodeJS.Timeout | null = null;
  private readonly passphrases = new Map<string, (value: string | null) => void>();
  readonly mirror: RemoteMetricsMirror;

  constructor(
    private readonly emit: EventSink,
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
    // Mirrors nobody used for a long while go; their experiments are fetched again if ever asked for.
    void this.mirror.prune().catch(() => undefined);
    void new RemoteRunFiles(this.mirror.root).prune().catch(() => undefined);
  }

  private open(text: string): { loc: RemoteLocation; conn: SshConnection; ws: RemoteWorkspace } {
    const { loc, conn } = this.pool.forLocation(text);
    return { loc, conn, ws: new RemoteWorkspace(conn, loc, this.summaries) };
  }

  /** The executor of runs on the host of `location` (an ssh://… workspace or experiment). */
  private executor(location: string): SshExecutor {
    const { conn, ws } = this.open(location);
    return new SshExecutor(conn, () => ws);
  }

  /** SLURM on the host's login node (sbatch, squeue, scancel through the connection). */
  private slurm(location: string, sbatch: readonly string[] = []): SlurmExecutor {
    return new SlurmExecutor(sshSlurmSite(this.open(location).conn), { sbatch });
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
      const { loc } = this.pool.forLocation(params.location); // a local path: bad-request, named
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

  /**
   * A remote workspace's launch request (its config composed here from copies of the remote
   * project's configs when it is one of theirs), handed to `submit` with its plan context.
   */
  private async launch<T>(
    params: RequestParams<'run.start'>,
    submit: (request: RunRequest, ctx: PlanContext) => Promise<T>,
  ): Promise<{ loc: RemoteLocation; result: T }> {
    if (!params.workspace) throw new ApiError('bad-request', 'no workspace is open to launch into');
    const { loc, conn } = this.open(params.workspace);
    let mirror: RemoteConfigMirror | null = null;
    let configFile = params.configFile;
    if (overSsh(params.configFile)) {
      const target = this.configTarget(params.configFile, params.workspace);
      mirror = await wrapAt(remoteEndpointLabel(loc), () => mirrorRemoteConfigs(conn, loc.path));
      configFile = localConfigOf(mirror, target.loc.path);
    }
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
        systemInterval: params.systemInterval,
      };
      return { loc, result: await submit(request, planContext(request, { configLabel: mirror?.remoteFor })) };
    } catch (err) {
      if (mirror && err instanceof ConfigError)
        throw new ApiError('bad-request', mirror.remoteText(err.message));
      throw err;
    } finally {
      mirror?.cleanup();
    }
  }

  /**
   * A sweep into a remote workspace: on SLURM, one job array submitted on the login node (the host
   * picks this service for it: see RunFace in ./runs.ts); a local queue cannot run there.
   */
  async sweep(params: RequestParams<'run.sweep'>): Promise<RequestResult<'run.sweep'>> {
    return wrap(async () => {
      const { sweep: axes, maxParallel, ...rest } = params;
      const slurm = rest.slurm;
      if (!slurm)
        throw new ApiError(
          'bad-request',
          'a sweep on an SSH workspace runs on SLURM (where: SLURM); the run queue works on this machine only',
        );
      const { loc, result } = await this.launch(rest, async (request, ctx) => {
        const plan = expandSweep(request, axes.map(parseSweepAxis), ctx);
        const max = maxParallel ?? plan.members.length;
        const jobs = await this.slurm(rest.workspace!, slurm.sbatch).submitArray(plan.members, max);
        return { id: plan.id, max, jobs };
      });
      const members = result.jobs.map((j) => ({
        expDir: formatRemoteLocation(withRemotePath(loc, j.expDir)),
        name: j.name,
      }));
      for (const m of members) this.watch(m.expDir);
      return {
        sweepId: result.id,
        maxParallel: result.max,
        members,
        warnings: [...new Set(result.jobs.flatMap((j) => j.warnings))],
      };
    });
  }

  async start(params: RequestParams<'run.start'>): Promise<RequestResult<'run.start'>> {
    return wrap(async () => {
      const { loc, result: started } = await this.launch(params, async (request, ctx) => {
        const plan = planRun(request, ctx);
        return params.slurm
          ? { ...(await this.slurm(params.workspace!, params.slurm.sbatch).submit(plan)), tmuxSession: null }
          : await this.executor(params.workspace!).submit(plan);
      });
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
      const slurm = this.slurm(params.expDir);
      const [folder] = await slurm.site.folders([loc.path]);
      if (folder?.record) {
        const r = await slurm.cancel(slurm.handle(loc.path, folder.record.job_id));
        return { state: r.state, exitCode: r.exitCode, signal: r.signal };
      }
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

  /** The remote workspace a config file must belong to: the same endpoint as the file. */
  private configTarget(
    file: string,
    workspace: string | null,
  ): { loc: RemoteLocation; conn: SshConnection; root: string } {
    const { loc, conn } = this.open(file);
    const ws = overSsh(workspace) ? this.open(workspace).loc : null;
    if (!ws || remoteEndpointLabel(ws) !== remoteEndpointLabel(loc))
      throw new ApiError(
        'forbidden',
        `${file} is outside the open project (${workspace ?? 'no workspace is open'})`,
      );
    return { loc, conn, root: ws.path };
  }

  /** Remote log followers, watches, timers and open SSH channels (tests, diagnostics). */
  get activity(): {
    logFollows: number;
    runWatches: number;
    timers: number;
    sshChannels: number;
  } {
    let runWatches = 0;
    for (const h of this.watched.values()) runWatches += h.runs.size;
    return {
      logFollows: this.followers.size,
      runWatches,
      timers: this.watchTimer ? 1 : 0,
      sshChannels: this.pool.openChannels,
    };
  }

  dispose(): void {
    for (const f of this.followers.values()) f.stop();
    this.followers.clear();
    this.watched.clear();
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = null;
    for (const answer of this.passphrases.values()) answer(null);
    this.pool.closeAll();
  }
}
