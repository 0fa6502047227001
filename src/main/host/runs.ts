/**
 * The host's side of runs and logs: launching through core/runs, following
 * logs for subscribers by byte offset, and announcing state changes read from
 * status files. Owns every terminal and timer it creates; dispose() ends them
 * (tmux clients only: the runs themselves go on).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { IPty } from 'node-pty';
import { ApiError, type EventSink, type RequestParams, type RequestResult } from '../../shared/contract';
import { experimentBaseName } from '../../shared/naming';
import { composeConfig, ConfigError, freezeConfig } from '../core/configs/compose';
import { projectRootOf } from '../core/configs/config-files';
import { ConfinementError, resolveInsideSync } from '../core/fs/confine';
import { LogTail, tailOffset } from '../core/logs/log-tail';
import { LocalExecutor } from '../core/runs/local-executor';
import { SlurmExecutor } from '../core/runs/slurm-executor';
import { localSlurmSite, readSlurmRecord } from '../core/runs/slurm-local';
import { planContext, planRun } from '../core/runs/plan';
import { expandSweep, parseSweepAxis } from '../core/runs/sweep';
import { startLocalSweep, stopLocalSweep } from '../core/runs/sweep-queue';
import { isExperimentDir } from '../core/workspace/discover';

/** How often followed logs and watched runs are polled: well under the 1 s users notice. */
const POLL_MS = 200;

interface Subscription {
  tail: LogTail;
  expDir: string;
}

/**
 * What the host asks of the runs of one kind of location: this machine's
 * (RunService) or an SSH host's (RemoteService). The host picks one per
 * location through core/backend/resolve.ts's byLocation.
 */
export interface RunFace {
  start(params: RequestParams<'run.start'>): Promise<RequestResult<'run.start'>>;
  /** A sweep (core/runs/sweep.ts): this machine queues it or submits a job array; an SSH host submits a SLURM one. */
  sweep(params: RequestParams<'run.sweep'>): Promise<RequestResult<'run.sweep'>>;
  stop(params: RequestParams<'run.stop'>): Promise<RequestResult<'run.stop'>>;
  subscribeLog(params: RequestParams<'log.subscribe'>): Promise<RequestResult<'log.subscribe'>>;
  /** Announce the run's state changes (run.status) until it ends. */
  watch(expDir: string): void;
}

export class RunService implements RunFace {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly terminals = new Map<string, IPty>();
  private readonly lastState = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private readonly executor = new LocalExecutor();

  constructor(
    private readonly emit: EventSink,
    private readonly defaultWorkspace: () => string | null,
  ) {}

  async start(params: RequestParams<'run.start'>): Promise<RequestResult<'run.start'>> {
    const workspace = params.workspace ?? this.defaultWorkspace();
    if (!workspace) throw new ApiError('bad-request', 'no workspace is open to launch into');
    // Config, launch and stop errors are ExpdeskErrors: dispatch maps them (./errors.ts).
    // The config and its defaults come from the open project only (as config.compose), not
    // from wherever a request's own workspace points.
    const configRoot = await projectRootOf(this.defaultWorkspace() ?? workspace);
    const { slurm, ...rest } = params;
    const request = { ...rest, workspace, configRoot };
    if (slurm) {
      // The launch form's "where: SLURM": sbatch on this machine; the job outlives Expdesk.
      const job = await new SlurmExecutor(localSlurmSite(), { sbatch: slurm.sbatch }).submit(
        planRun(request, planContext(request)),
      );
      return {
        expDir: job.expDir,
        name: job.name,
        warnings: job.warnings,
        tmuxSession: null,
        diesWithExpdesk: false,
      };
    }
    const run = await this.executor.submit(planRun(request, planContext(request)));
    // Keep the terminal (the tmux client) drained; the UI's live terminal attaches to it later.
    run.terminal.onData(() => undefined);
    run.terminal.onExit(() => this.terminals.delete(run.expDir));
    this.terminals.set(run.expDir, run.terminal);
    this.watch(run.expDir);
    return {
      expDir: run.expDir,
      name: run.name,
      warnings: run.warnings,
      tmuxSession: run.tmuxSession,
      diesWithExpdesk: run.diesWithExpdesk,
    };
  }

  async sweep(params: RequestParams<'run.sweep'>): Promise<RequestResult<'run.sweep'>> {
    const workspace = params.workspace ?? this.defaultWorkspace();
    if (!workspace) throw new ApiError('bad-request', 'no workspace is open to launch into');
    const configRoot = await projectRootOf(this.defaultWorkspace() ?? workspace);
    const { sweep: axes, maxParallel, slurm, ...rest } = params;
    const request = { ...rest, workspace, configRoot };
    const plan = expandSweep(request, axes.map(parseSweepAxis), planContext(request));
    if (slurm) {
      // One job array (`%maxParallel`, default all at once); the jobs outlive Expdesk.
      const max = maxParallel ?? plan.members.length;
      const jobs = await new SlurmExecutor(localSlurmSite(), { sbatch: slurm.sbatch }).submitArray(
        plan.members,
        max,
      );
      return {
        sweepId: plan.id,
        maxParallel: max,
        members: jobs.map((j) => ({ expDir: j.expDir, name: j.name })),
        warnings: [...new Set(jobs.flatMap((j) => j.warnings))],
      };
    }
    const started = await startLocalSweep(plan, { maxParallel });
    for (const m of started.members) this.watch(m.expDir);
    return {
      sweepId: started.id,
      maxParallel: started.maxParallel,
      members: started.members.map((m) => ({ expDir: m.expDir, name: m.name })),
      warnings: started.warnings,
    };
  }

  async stopSweep(params: RequestParams<'sweep.stop'>): Promise<RequestResult<'sweep.stop'>> {
    const members = await stopLocalSweep(params.sweepId);
    return { members: members.map((m) => ({ expDir: m.expDir, state: m.status?.state ?? 'unknown' })) };
  }

  async stop(params: RequestParams<'run.stop'>): Promise<RequestResult<'run.stop'>> {
    // A folder submitted to SLURM is stopped through its scheduler (scancel, gently first).
    const record = readSlurmRecord(path.resolve(params.expDir));
    if (record) {
      const slurm = new SlurmExecutor(localSlurmSite());
      const r = await slurm.cancel(slurm.handle(path.resolve(params.expDir), record.job_id));
      return { state: r.state, exitCode: r.exitCode, signal: r.signal };
    }
    const s = await this.executor.cancel(LocalExecutor.handle(params.expDir));
    return { state: s.state, exitCode: s.exitCode, signal: s.signal };
  }

  async subscribeLog(params: RequestParams<'log.subscribe'>): Promise<RequestResult<'log.subscribe'>> {
    const expDir = path.resolve(params.expDir);
    // Confined (issue 15 A): only an experiment's own logs, never through a link leading out.
    if (!(await isExperimentDir(expDir)))
      throw new ApiError('forbidden', `${expDir} is not an experiment folder: its logs are not followed`);
    const name =
      params.file ?? (existsSync(path.join(expDir, 'logs', 'train.log')) ? 'train.log' : 'train_rank0.log');
    if (path.basename(name) !== name || name === '..' || name === '.')
      throw new ApiError('bad-request', `${name} is not the name of a log in ${path.join(expDir, 'logs')}`);
    const file = path.join(expDir, 'logs', name);
    const size = await tailOffset(file, 0, expDir).catch((err: unknown) => {
      throw err instanceof ConfinementError ? new ApiError('forbidden', err.message) : err;
    });
    let offset = params.fromOffset ?? 0;
    if (offset < 0) offset = Math.max(0, size + offset);
    offset = Math.min(offset, size);
    const subscription = randomUUID();
    this.subscriptions.set(subscription, { tail: new LogTail(file, offset, expDir), expDir });
    this.ensurePolling();
    // The first chunk goes out on the next poll, after the caller has the id.
    return { subscription, file: name, offset, size };
  }

  unsubscribeLog(params: RequestParams<'log.unsubscribe'>): RequestResult<'log.unsubscribe'> {
    this.subscriptions.delete(params.subscription);
    this.stopIfIdle();
    return {};
  }

  /** Logs followed, runs watched, and whether the poll timer runs (tests, diagnostics). */
  get activity(): { logFollows: number; runWatches: number; timer: boolean } {
    return {
      logFollows: this.subscriptions.size,
      runWatches: this.lastState.size,
      timer: this.timer !== null,
    };
  }

  private stopIfIdle(): void {
    if (this.subscriptions.size === 0 && this.lastState.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Announce this run's state changes (run.status events). */
  watch(expDir: string): void {
    if (!this.lastState.has(expDir)) this.lastState.set(expDir, '');
    this.ensurePolling();
  }

  private ensurePolling(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const [id, sub] of this.subscriptions) {
        let chunk;
        while (this.subscriptions.has(id) && (chunk = await sub.tail.read(1024 * 1024))) {
          this.emit('log.data', {
            subscription: id,
            offset: chunk.offset,
            data: chunk.data.toString('base64'),
          });
        }
      }
      // All watched runs in one query. A wrapper that died cannot record the end: the
      // executor records it as failed rather than running forever (when it cannot be
      // recorded, a full disk, the next poll tries again).
      const watched = [...this.lastState.keys()];
      const reports = await this.executor.query(watched.map((d) => LocalExecutor.handle(d)));
      watched.forEach((expDir, i) => {
        const state = reports[i]!.state;
        if (state !== this.lastState.get(expDir)) {
          this.lastState.set(expDir, state);
          this.emit('run.status', { expDir, state });
        }
        if (state !== 'running' && state !== 'unknown') this.lastState.delete(expDir);
      });
      this.stopIfIdle();
    } finally {
      this.polling = false;
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.subscriptions.clear();
    for (const t of this.terminals.values()) {
      try {
        t.kill(); // the tmux client; the run lives on in its session
      } catch {
        // already gone
      }
    }
    this.terminals.clear();
  }
}

/**
 * config.compose: the composed config, its frozen text and the name preview,
 * or the config error (file, line, column) as a result rather than a failure.
 * Confined to `project` (the open project, as config.read): a file outside it
 * is refused; a default leading out is a config error at its line.
 */
export function composeForEditor(
  params: RequestParams<'config.compose'>,
  project: string,
): RequestResult<'config.compose'> {
  try {
    resolveInsideSync(project, params.file, `the open project (${project})`);
  } catch (err) {
    if (err instanceof ConfinementError && err.problem !== 'missing')
      throw new ApiError('forbidden', err.message);
    if (!(err instanceof ConfinementError)) throw err;
  }
  try {
    const composed = composeConfig(params.file, {
      overrides: params.overrides,
      text: params.text,
      root: project,
    });
    const frozen = freezeConfig(composed, { name: '<experiment name>', outputDir: '<experiment folder>' });
    return {
      ok: true,
      config: composed.config,
      base: composed.base,
      beforeOverrides: composed.beforeOverrides,
      files: composed.files,
      frozen: frozen.text,
      namePreview: experimentBaseName(composed.config, new Date()),
    };
  } catch (err) {
    if (err instanceof ConfigError) {
      return {
        ok: false,
        error: {
          file: err.pos?.file ?? null,
          line: err.pos?.line ?? null,
          column: err.pos?.column ?? null,
          message: err.detail,
        },
      };
    }
    throw err;
  }
}
