/**
 * What the renderer knows of a transport: the contract's ExpdeskClient, a
 * connection state for transports that can lose their link, and one error type.
 */
import type { ApiErrorCode, ExpdeskClient } from '../../shared/contract';

/** Connection state of a transport; the bridge is always 'open'. */
export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface ApiClient extends ExpdeskClient {
  /** Connection changes, for transports that can lose their link (WebSocket). */
  onConnection?(listener: (state: ConnectionState) => void): () => void;
}

/** Error codes a client can report: the contract's, plus a lost connection. */
export type ClientErrorCode = ApiErrorCode | 'disconnected';

/** What every client's invoke rejects with: the host's ApiError message and code. */
export class ClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

/** Turn whatever a transport rejected with into a ClientError. */
export function toClientError(err: unknown): ClientError {
  if (err instanceof ClientError) return err;
  if (err && typeof err === 'object') {
    const { code, message } = err as { code?: unknown; message?: unknown };
    const text = typeof message === 'string' ? stripIpcPrefix(message) : String(err);
    if (typeof code === 'string') return new ClientError(code as ClientErrorCode, text);
    return new ClientError('internal', text);
  }
  return new ClientError('internal', String(err));
}

/** Electron prefixes errors that cross ipcRenderer.invoke; users need only the host's sentence. */
function stripIpcPrefix(message: string): string {
  return message.replace(/^Error invoking remote method '[^']*': (?:\w*Error: )?/, '');
}
