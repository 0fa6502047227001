/**
 * The browser-mode transport: the contract over a WebSocket to the page's own
 * `expdesk serve` (the HttpOnly cookie carries the token). Requests carry ids
 * and wait in a pending map; a lost connection rejects what was sent, keeps
 * what was not yet sent for the next connection, and reconnects with
 * exponential backoff.
 */
import type {
  ApiErrorCode,
  EventName,
  EventPayload,
  RequestName,
  RequestParams,
  RequestResult,
} from '../../shared/contract';
import { ClientError, type ApiClient, type ConnectionState } from './types';

/** The part of the DOM WebSocket this client uses, so tests can hand in a fake. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export interface WsClientOptions {
  url: string;
  createSocket?: (url: string) => SocketLike;
  /** First reconnect delay, doubled on each failure up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** A request not sent within this long (no connection) is rejected. */
  queueTimeoutMs?: number;
}

const OPEN = 1;

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  /** The frame, while it waits for a connection; null once sent. */
  frame: string | null;
  timer: ReturnType<typeof setTimeout> | null;
}

export class WsClient implements ApiClient {
  private socket: SocketLike | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, Set<(payload: unknown) => void>>();
  private readonly connectionListeners = new Set<(state: ConnectionState) => void>();
  private state: ConnectionState = 'connecting';
  private failures = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;
  private readonly createSocket: (url: string) => SocketLike;

  constructor(private readonly options: WsClientOptions) {
    // The DOM WebSocket satisfies SocketLike; its handler types are narrower than unknown.
    this.createSocket = options.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.connect();
  }

  get connection(): ConnectionState {
    return this.state;
  }

  invoke<N extends RequestName>(name: N, params: RequestParams<N>): Promise<RequestResult<N>> {
    if (this.disposed) return Promise.reject(new ClientError('disconnected', 'the client is closed'));
    const id = this.nextId++;
    const frame = JSON.stringify({ id, method: name, params });
    return new Promise<RequestResult<N>>((resolve, reject) => {
      const entry: Pending = {
        // The server answers with the contract's result for this method.
        resolve: resolve as (value: unknown) => void,
        reject,
        frame,
        timer: null,
      };
      this.pending.set(id, entry);
      if (this.socket && this.socket.readyState === OPEN) this.sendPending(id, entry);
      else {
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new ClientError('disconnected', 'cannot reach expdesk serve: is it still running?'));
        }, this.options.queueTimeoutMs ?? 15_000);
      }
    });
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    // Payloads arrive as the host emitted them for this event name.
    const wrapped = (payload: unknown): void => listener(payload as EventPayload<E>);
    set.add(wrapped);
    return () => set.delete(wrapped);
  }

  onConnection(listener: (state: ConnectionState) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  /** Close for good: no reconnect; everything pending is rejected. */
  dispose(): void {
    this.disposed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.socket?.close();
    this.socket = null;
    this.rejectAll(() => true, 'the client is closed');
  }

  private connect(): void {
    this.setState('connecting');
    let socket: SocketLike;
    try {
      socket = this.createSocket(this.options.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.failures = 0;
      this.setState('open');
      for (const [id, entry] of this.pending) if (entry.frame !== null) this.sendPending(id, entry);
    };
    socket.onmessage = (ev) => this.receive(ev.data);
    socket.onerror = () => undefined; // a close always follows; it handles everything
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      // What was sent may or may not have been executed: the caller decides whether to retry.
      this.rejectAll((p) => p.frame === null, 'the connection to expdesk serve was lost');
      this.setState('closed');
      if (!this.disposed) this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    const initial = this.options.initialDelayMs ?? 250;
    const max = this.options.maxDelayMs ?? 5_000;
    const delay = Math.min(max, initial * 2 ** this.failures);
    this.failures++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.disposed) this.connect();
    }, delay);
  }

  private sendPending(id: number, entry: Pending): void {
    if (!this.socket || entry.frame === null) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    try {
      this.socket.send(entry.frame);
      entry.frame = null;
    } catch (err) {
      this.pending.delete(id);
      entry.reject(new ClientError('disconnected', `cannot send: ${String(err)}`));
    }
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return; // the server never sends anything but JSON; ignore noise
    }
    if (!msg || typeof msg !== 'object') return;
    if ('event' in msg && typeof msg.event === 'string') {
      const payload = 'payload' in msg ? msg.payload : undefined;
      for (const l of this.listeners.get(msg.event) ?? []) l(payload);
      return;
    }
    if (!('id' in msg) || typeof msg.id !== 'number') return;
    const entry = this.pending.get(msg.id);
    if (!entry) {
      if (msg.id === -1 && 'error' in msg) console.warn('expdesk: the server refused a frame', msg.error);
      return;
    }
    this.pending.delete(msg.id);
    if ('error' in msg) {
      const error = (msg.error ?? {}) as { code?: unknown; message?: unknown };
      entry.reject(
        new ClientError(
          (typeof error.code === 'string' ? error.code : 'internal') as ApiErrorCode,
          typeof error.message === 'string' ? error.message : 'request failed',
        ),
      );
    } else entry.resolve('result' in msg ? msg.result : undefined);
  }

  private rejectAll(which: (p: Pending) => boolean, message: string): void {
    for (const [id, entry] of this.pending) {
      if (!which(entry)) continue;
      this.pending.delete(id);
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(new ClientError('disconnected', message));
    }
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    for (const l of this.connectionListeners) l(state);
  }
}
