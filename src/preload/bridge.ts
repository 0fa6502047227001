/**
 * The preload's side of the bridge, free of Electron so it can be tested
 * under Node: given something shaped like ipcRenderer it builds the raw API
 * (requests answer an envelope, never reject) that index.ts hands to the page.
 */
import {
  ApiErrorCode,
  events,
  IPC_EVENT_CHANNEL,
  IPC_INVOKE_CHANNEL,
  isRequestName,
} from '../shared/contract';

/**
 * Structural copy of src/main/electron/ipc-envelope.ts (the preload may not
 * import main code); tests/unit/electron/ipc-envelope.test.ts round-trips the two.
 */
export type IpcEnvelope =
  { ok: true; result: unknown } | { ok: false; error: { code: ApiErrorCode; message: string } };

export type EventListener = (payload: unknown) => void;

/** What the page sees as window.expdesk. */
export interface ExpdeskBridge {
  /** Resolves with the result, or rejects with an Error whose `code` is the ApiError code. */
  invoke(name: string, params: unknown): Promise<unknown>;
  /** Subscribe to one contract event; the returned function removes exactly this subscription. */
  on(event: string, listener: EventListener): () => void;
  /** Absolute path of a File from a drop or an <input type=file>; '' when it is not backed by a file. */
  pathForFile(file: File): string;
}

/** The same, except that requests resolve with the envelope: errors keep their code across worlds. */
export interface RawBridge {
  invoke(name: string, params: unknown): Promise<IpcEnvelope>;
  on(event: string, listener: EventListener): () => void;
  pathForFile(file: File): string;
}

/** The part of ipcRenderer the bridge uses. */
export interface IpcTransport {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

function failure(code: ApiErrorCode, message: string): IpcEnvelope {
  return { ok: false, error: { code, message } };
}

/** Accept only a well-formed envelope from main; anything else becomes an internal error. */
export function checkEnvelope(value: unknown): IpcEnvelope {
  if (typeof value === 'object' && value !== null) {
    const v = value as { ok?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown } };
    if (v.ok === true) return { ok: true, result: v.result };
    if (v.ok === false && v.error && typeof v.error.message === 'string') {
      const code = ApiErrorCode.safeParse(v.error.code);
      return failure(code.success ? code.data : 'internal', v.error.message);
    }
  }
  return failure('internal', 'malformed response from the Expdesk host');
}

/** Turn an envelope into a value or a thrown Error carrying `code` (used where no world is crossed after). */
export function unwrapEnvelope(envelope: IpcEnvelope): unknown {
  if (envelope.ok) return envelope.result;
  throw Object.assign(new Error(envelope.error.message), { name: 'ApiError', code: envelope.error.code });
}

/**
 * Fans the single event channel out to per-event listeners. One ipcRenderer
 * listener for all subscriptions (attached while any exist), so many
 * subscribers never trip EventEmitter's leak warning, and a throwing listener
 * does not stop the others.
 */
export class EventHub {
  private readonly listeners = new Map<string, Set<EventListener>>();
  private attached = false;
  private readonly onMessage = (_event: unknown, name: unknown, payload: unknown): void => {
    if (typeof name !== 'string') return;
    for (const listener of [...(this.listeners.get(name) ?? [])]) {
      try {
        listener(payload);
      } catch (err) {
        console.error(`expdesk: a listener for ${name} threw`, err);
      }
    }
  };

  constructor(private readonly ipc: IpcTransport) {}

  subscribe(event: string, listener: EventListener): () => void {
    // Wrap so that subscribing the same function twice gives two independent subscriptions.
    const entry: EventListener = (payload) => listener(payload);
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(entry);
    this.attach();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      set.delete(entry);
      if (set.size === 0) this.listeners.delete(event);
      if (this.listeners.size === 0) this.detach();
    };
  }

  get subscriptionCount(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  private attach(): void {
    if (this.attached) return;
    this.ipc.on(IPC_EVENT_CHANNEL, this.onMessage);
    this.attached = true;
  }

  private detach(): void {
    if (!this.attached) return;
    this.ipc.removeListener(IPC_EVENT_CHANNEL, this.onMessage);
    this.attached = false;
  }
}

export function isEventName(name: unknown): boolean {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name);
}

export function createRawBridge(ipc: IpcTransport, getPathForFile: (file: File) => string): RawBridge {
  const hub = new EventHub(ipc);
  return {
    invoke(name, params) {
      // Checked here too so a typo fails fast without a round trip; main checks again.
      if (!isRequestName(name))
        return Promise.resolve(failure('bad-request', `unknown request: ${String(name)}`));
      return ipc
        .invoke(IPC_INVOKE_CHANNEL, name, params)
        .then(checkEnvelope, (err: unknown) =>
          failure('internal', err instanceof Error ? err.message : String(err)),
        );
    },
    on(event, listener) {
      if (!isEventName(event)) throw new TypeError(`unknown event: ${String(event)}`);
      if (typeof listener !== 'function') throw new TypeError('listener must be a function');
      return hub.subscribe(event, listener);
    },
    pathForFile(file) {
      return getPathForFile(file);
    },
  };
}
