/**
 * One client's session with the host: a WebSocket connection or an Electron
 * window. Requests made through a session go to the host's `dispatch`; the
 * subscriptions they open (log follows, experiment watches — and with them
 * the remote log followers and pollers behind them) are remembered in the
 * session, with anything else the transport registers (its event listener),
 * in one disposable store after VS Code's DisposableStore. When the client
 * goes away the transport disposes the session, which ends all of it, so a
 * closed tab or window leaves no timer, watcher or SSH channel working for
 * nobody.
 */
import { ApiError, unsubscribeRequests, type RequestName } from '../../shared/contract';

export interface Disposable {
  dispose(): void;
}

/** Disposables released together, once; added after that, released at once. */
export class DisposableStore implements Disposable {
  private readonly items = new Set<Disposable>();
  private disposed = false;

  add<T extends Disposable>(item: T): T {
    if (this.disposed) item.dispose();
    else this.items.add(item);
    return item;
  }

  delete(item: Disposable): void {
    this.items.delete(item);
  }

  get size(): number {
    return this.items.size;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const item of [...this.items]) {
      try {
        item.dispose();
      } catch {
        // one failing release must not keep the others alive
      }
    }
    this.items.clear();
  }
}

/** What a session needs of the host: the transport-agnostic entry point. */
export interface Dispatcher {
  dispatch(name: unknown, params: unknown): Promise<unknown>;
}

/** The request that ends what `method` opens, when it opens a subscription. */
function enderOf(method: unknown): RequestName | null {
  return typeof method === 'string' && Object.prototype.hasOwnProperty.call(unsubscribeRequests, method)
    ? unsubscribeRequests[method as keyof typeof unsubscribeRequests]
    : null;
}
const ENDERS = new Set<unknown>(Object.values(unsubscribeRequests));

/** The `subscription` id a subscribe result or an unsubscribe request carries, if any. */
function subscriptionOf(value: unknown): string | null {
  if (value && typeof value === 'object' && 'subscription' in value) {
    const id = (value as { subscription: unknown }).subscription;
    if (typeof id === 'string') return id;
  }
  return null;
}

export class HostSession implements Disposable {
  private readonly store = new DisposableStore();
  /** Open subscriptions: id → the store entry that ends it. */
  private readonly opened = new Map<string, Disposable>();
  private readonly ending: Promise<unknown>[] = [];

  constructor(private readonly host: Dispatcher) {}

  /** As the host's dispatch; a subscription opened here belongs to this session. */
  async dispatch(name: unknown, params: unknown): Promise<unknown> {
    if (this.store.isDisposed) throw new ApiError('bad-request', 'this client session is closed');
    const result = await this.host.dispatch(name, params);
    const ender = enderOf(name);
    const subscription = ender ? subscriptionOf(result) : null;
    if (ender && subscription) {
      // Closed before the answer arrived: add() ends it at once, nobody else will.
      const entry = this.store.add({
        dispose: () => {
          this.opened.delete(subscription);
          this.end(ender, subscription);
        },
      });
      if (!this.store.isDisposed) this.opened.set(subscription, entry);
    } else if (ENDERS.has(name)) {
      const ended = subscriptionOf(params);
      const entry = ended ? this.opened.get(ended) : undefined;
      if (ended && entry) {
        this.opened.delete(ended);
        this.store.delete(entry);
      }
    }
    return result;
  }

  /** Release `cleanup` with the session (an event listener, a transport's own state). */
  add(cleanup: () => void): void {
    this.store.add({ dispose: cleanup });
  }

  /** Subscriptions this session holds open (for tests and diagnostics). */
  get subscriptions(): number {
    return this.opened.size;
  }

  get isDisposed(): boolean {
    return this.store.isDisposed;
  }

  /** End everything the session holds; resolves once every unsubscribe has been answered. */
  dispose(): Promise<void> {
    this.store.dispose();
    return Promise.allSettled(this.ending).then(() => undefined);
  }

  private end(ender: RequestName, subscription: string): void {
    this.ending.push(this.host.dispatch(ender, { subscription }).catch(() => undefined));
  }
}

export function openSession(host: Dispatcher): HostSession {
  return new HostSession(host);
}
