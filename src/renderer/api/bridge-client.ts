/**
 * The Electron transport: `window.expdesk`, exposed by the preload with
 * contextBridge. Its invoke resolves with the result or rejects with an Error
 * carrying the ApiError's message and `code`.
 */
import type {
  EventName,
  EventPayload,
  RequestName,
  RequestParams,
  RequestResult,
} from '../../shared/contract';
import { toClientError, type ApiClient } from './types';

/** Exactly the shape the preload exposes. */
export interface ExpdeskBridge {
  invoke(name: string, params: unknown): Promise<unknown>;
  on(event: string, listener: (payload: unknown) => void): () => void;
  /** Absolute path of a dropped File ('' when it has none); Electron only. */
  pathForFile?(file: File): string;
}

declare global {
  interface Window {
    expdesk?: ExpdeskBridge;
  }
}

export class BridgeClient implements ApiClient {
  constructor(private readonly bridge: ExpdeskBridge) {}

  async invoke<N extends RequestName>(name: N, params: RequestParams<N>): Promise<RequestResult<N>> {
    try {
      // The host validated and typed the result on its side of the contract.
      return (await this.bridge.invoke(name, params)) as RequestResult<N>;
    } catch (err) {
      throw toClientError(err);
    }
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    return this.bridge.on(event, (payload) => listener(payload as EventPayload<E>));
  }
}
