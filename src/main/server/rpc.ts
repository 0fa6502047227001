/**
 * The contract over one WebSocket: `{id, method, params}` in, `{id, result}`
 * or `{id, error}` out, host events pushed as `{event, payload}`. Every frame
 * is untrusted: a malformed one answers a `bad-request` error (id -1 when its
 * id cannot be read) and the connection stays usable; nothing here throws.
 */
import type { RawData, WebSocket } from 'ws';
import {
  ApiError,
  MAX_CONFIG_TEXT,
  MAX_REQUEST_BYTES,
  WireRequest,
  type WireMessage,
} from '../../shared/contract';
import type { ExpdeskHost } from '../host/host';
import { openSession } from '../host/session';

/** What the server needs of the host: the transport-agnostic entry points. */
export type RpcHost = Pick<ExpdeskHost, 'dispatch' | 'onEvent'>;

function send(ws: WebSocket, message: WireMessage): void {
  if (ws.readyState !== ws.OPEN) return;
  let text: string;
  try {
    text = JSON.stringify(message);
  } catch (err) {
    // Only reachable for a result that is not JSON (a host bug): say so to the caller.
    if ('id' in message) {
      text = JSON.stringify({
        id: message.id,
        error: { code: 'internal', message: `unserializable result: ${String(err)}` },
      });
    } else return;
  }
  ws.send(text);
}

function errorOf(err: unknown): { code: ApiError['code']; message: string } {
  if (err instanceof ApiError) return err.toJSON();
  return { code: 'internal', message: err instanceof Error ? err.message : String(err) };
}

/** Read an id from a frame that failed validation, so the caller can match the error. */
function salvageId(value: unknown): number {
  if (value && typeof value === 'object' && 'id' in value) {
    const id = (value as { id: unknown }).id;
    if (typeof id === 'number' && Number.isInteger(id)) return id;
  }
  return -1;
}

/** What a transport adds to an answer before sending it (the server's download links); default: nothing. */
export type AnswerHook = (method: string, result: unknown) => unknown;

export function attachRpc(ws: WebSocket, host: RpcHost, answer: AnswerHook = (_m, r) => r): void {
  // The connection's session owns its event listener and the subscriptions it opens
  // (host/session.ts): a tab closed without unsubscribing leaves nothing polling.
  const session = openSession(host);
  session.add(host.onEvent((event, payload) => send(ws, { event, payload })));
  ws.on('close', () => void session.dispose());
  // An 'error' without a listener would be thrown; ws closes the socket itself.
  ws.on('error', () => undefined);

  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) {
      send(ws, { id: -1, error: { code: 'bad-request', message: 'binary frames are not accepted' } });
      return;
    }
    const size = rawSize(data);
    if (size > MAX_REQUEST_BYTES) {
      send(ws, {
        id: leadingId(data),
        error: {
          code: 'bad-request',
          message: `request too large: ${size} bytes; a request may take at most ${MAX_REQUEST_BYTES} bytes (config text: at most ${MAX_CONFIG_TEXT} characters)`,
        },
      });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(rawText(data));
    } catch {
      send(ws, { id: -1, error: { code: 'bad-request', message: 'malformed frame: not JSON' } });
      return;
    }
    const parsed = WireRequest.safeParse(value);
    if (!parsed.success) {
      send(ws, {
        id: salvageId(value),
        error: { code: 'bad-request', message: 'malformed frame: expected {id, method, params}' },
      });
      return;
    }
    const { id, method, params } = parsed.data;
    session.dispatch(method, params).then(
      (result) => send(ws, { id, result: answer(method, result) }),
      (err: unknown) => send(ws, { id, error: errorOf(err) }),
    );
  });
}

function rawSize(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

/** The id of a frame too large to parse, when it leads (`{"id":N,…`, as clients write it), else -1. */
function leadingId(data: RawData): number {
  const first = Array.isArray(data) ? data[0] : data;
  if (first === undefined) return -1;
  const head =
    first instanceof ArrayBuffer
      ? Buffer.from(first, 0, Math.min(64, first.byteLength))
      : first.subarray(0, 64);
  const m = /^\s*\{\s*"id"\s*:\s*(-?\d{1,15})\s*,/.exec(head.toString('latin1'));
  return m ? Number(m[1]) : -1;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
