/** Fakes for renderer tests: experiment summaries and a scriptable ApiClient. */
import type {
  EventName,
  EventPayload,
  RequestName,
  RequestParams,
  RequestResult,
} from '../../../src/shared/contract';
import type { ExperimentDetail, ExperimentSummary, WorkspaceListing } from '../../../src/shared/model';
import { ClientError, type ApiClient, type ConnectionState } from '../../../src/renderer/api/client';

export function summary(over: Partial<ExperimentSummary> & { path: string }): ExperimentSummary {
  const folder = over.path.split('/').pop()!;
  return {
    folder,
    name: folder,
    algorithm: 'dpo',
    model: 'tiny',
    total_steps: 10,
    final_loss: 0.5,
    final_eval: null,
    status: { state: 'completed', source: 'inferred', reason: 'checkpoints/final exists' },
    startedAt: null,
    gitHash: null,
    gitDirty: null,
    metrics: {},
    records: 10,
    malformedLines: 0,
    problems: [],
    ...over,
  };
}

export function listing(root: string, paths: string[]): WorkspaceListing {
  return {
    root,
    experimentsDir: `${root}/experiments`,
    kind: 'project-root',
    experiments: paths.map((p) => summary({ path: p })),
  };
}

export function detailOf(s: ExperimentSummary): ExperimentDetail {
  return {
    summary: s,
    config: { experiment: { name: s.name } },
    metadata: null,
    checkpoints: [],
    logs: [],
    outputs: [],
    hasRequirements: false,
    hasReproduceScript: false,
  };
}

type Handler = (params: unknown) => unknown;

/**
 * An ApiClient whose answers the test writes: handlers per request name
 * (return a value, throw a ClientError, or return a promise to control timing).
 */
export class FakeClient implements ApiClient {
  readonly calls: Array<{ name: RequestName; params: unknown }> = [];
  readonly handlers = new Map<RequestName, Handler>();
  private readonly listeners = new Map<string, Set<(p: unknown) => void>>();
  private readonly connection = new Set<(s: ConnectionState) => void>();

  handle<N extends RequestName>(
    name: N,
    fn: (params: RequestParams<N>) => RequestResult<N> | Promise<RequestResult<N>>,
  ): this {
    this.handlers.set(name, fn as Handler);
    return this;
  }

  async invoke<N extends RequestName>(name: N, params: RequestParams<N>): Promise<RequestResult<N>> {
    this.calls.push({ name, params });
    const h = this.handlers.get(name);
    if (!h) throw new ClientError('internal', `no fake handler for ${name}`);
    return (await h(params)) as RequestResult<N>;
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const l = listener as (p: unknown) => void;
    set.add(l);
    return () => set.delete(l);
  }

  onConnection(listener: (s: ConnectionState) => void): () => void {
    this.connection.add(listener);
    return () => this.connection.delete(listener);
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    for (const l of this.listeners.get(event) ?? []) l(payload);
  }

  setConnection(s: ConnectionState): void {
    for (const l of this.connection) l(s);
  }

  listenerCount(): number {
    let n = this.connection.size;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }
}

/** A promise the test resolves by hand, to reorder responses. */
export function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Let queued promise callbacks run. */
export const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
