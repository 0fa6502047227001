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
  type ExpdeskApi,
  type RequestName,
  type RequestParams,
  type RequestResult,
} from '../../shared/contract';
import { listWorkspace, WorkspaceError } from '../core/workspace/workspace';
import { readExperimentDetail } from '../core/workspace/experiment';
import { SummaryStore } from '../core/summary/summary-store';
import path from 'node:path';
import { RunService } from './runs';

export interface HostOptions {
  mode: 'electron' | 'browser';
  version: string;
  /** Workspace open at start; null opens nothing. */
  workspace: string | null;
  demoWorkspace: string | null;
  /** Where summaries are cached; defaults to the user's cache folder. */
  cacheDir?: string;
}

type Listener = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

export class ExpdeskHost implements ExpdeskApi {
  private workspace: string | null;
  private readonly listeners = new Set<Listener>();
  readonly summaries: SummaryStore;
  private readonly runs: RunService;

  constructor(private readonly options: HostOptions) {
    this.workspace = options.workspace ? path.resolve(options.workspace) : null;
    this.summaries = new SummaryStore({ cacheDir: options.cacheDir });
    this.runs = new RunService(
      (event, payload) => this.emit(event, payload),
      () => this.workspace,
    );
  }

  async 'config.compose'(params: RequestParams<'config.compose'>): Promise<RequestResult<'config.compose'>> {
    return this.runs.compose(params);
  }

  async 'run.start'(params: RequestParams<'run.start'>): Promise<RequestResult<'run.start'>> {
    return this.runs.start(params);
  }

  async 'run.stop'(params: RequestParams<'run.stop'>): Promise<RequestResult<'run.stop'>> {
    return this.runs.stop(params);
  }

  async 'log.subscribe'(params: RequestParams<'log.subscribe'>): Promise<RequestResult<'log.subscribe'>> {
    return this.runs.subscribeLog(params);
  }

  async 'log.unsubscribe'(
    params: RequestParams<'log.unsubscribe'>,
  ): Promise<RequestResult<'log.unsubscribe'>> {
    return this.runs.unsubscribeLog(params);
  }

  // TEMPORARY until the interface-data work lands (helper implementing issue 4's host side replaces these).
  async 'metrics.series'(): Promise<RequestResult<'metrics.series'>> {
    throw new ApiError('internal', 'metrics.series: not implemented yet');
  }
  async 'experiments.watch'(): Promise<RequestResult<'experiments.watch'>> {
    throw new ApiError('internal', 'experiments.watch: not implemented yet');
  }
  async 'experiments.unwatch'(): Promise<RequestResult<'experiments.unwatch'>> {
    throw new ApiError('internal', 'experiments.unwatch: not implemented yet');
  }
  async 'experiments.compare'(): Promise<RequestResult<'experiments.compare'>> {
    throw new ApiError('internal', 'experiments.compare: not implemented yet');
  }
  async 'file.read'(): Promise<RequestResult<'file.read'>> {
    throw new ApiError('internal', 'file.read: not implemented yet');
  }
  async 'config.list'(): Promise<RequestResult<'config.list'>> {
    throw new ApiError('internal', 'config.list: not implemented yet');
  }
  async 'config.read'(): Promise<RequestResult<'config.read'>> {
    throw new ApiError('internal', 'config.read: not implemented yet');
  }
  async 'config.write'(): Promise<RequestResult<'config.write'>> {
    throw new ApiError('internal', 'config.write: not implemented yet');
  }
  async 'app.showInFolder'(): Promise<RequestResult<'app.showInFolder'>> {
    throw new ApiError('internal', 'app.showInFolder: not implemented yet');
  }
  // END TEMPORARY

  /** End subscriptions, timers and terminals (runs in tmux go on). */
  dispose(): void {
    this.runs.dispose();
    this.listeners.clear();
  }

  async 'app.info'(): Promise<RequestResult<'app.info'>> {
    return {
      version: this.options.version,
      mode: this.options.mode,
      workspace: this.workspace,
      demoWorkspace: this.options.demoWorkspace,
    };
  }

  async 'workspace.list'(params: RequestParams<'workspace.list'>): Promise<RequestResult<'workspace.list'>> {
    const root = params.root ?? this.workspace;
    if (!root) throw new ApiError('bad-request', 'no workspace is open: open a folder first');
    return this.list(root);
  }

  async 'workspace.open'(params: RequestParams<'workspace.open'>): Promise<RequestResult<'workspace.open'>> {
    const listing = await this.list(params.root);
    this.workspace = listing.root;
    this.emit('workspace.changed', { root: listing.root });
    return listing;
  }

  async 'experiment.get'(params: RequestParams<'experiment.get'>): Promise<RequestResult<'experiment.get'>> {
    return wrapCoreErrors(() => readExperimentDetail(path.resolve(params.path), this.summaries));
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

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    for (const l of this.listeners) l(event, payload);
  }

  private list(root: string): Promise<RequestResult<'workspace.list'>> {
    return wrapCoreErrors(() => listWorkspace(path.resolve(root), this.summaries));
  }
}

export type RequestHandler = <N extends RequestName>(
  name: N,
  params: RequestParams<N>,
) => Promise<RequestResult<N>>;

async function wrapCoreErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toApiError(err);
  }
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof WorkspaceError) return new ApiError(err.code, err.message);
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError('internal', message);
}
