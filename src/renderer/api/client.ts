/**
 * The renderer's only way to the host: the contract's ExpdeskClient. Two
 * transports implement it — the Electron preload bridge and a WebSocket to
 * `expdesk serve` — and createClient() picks the one this page has.
 */
import { BridgeClient } from './bridge-client';
import type { ApiClient } from './types';
import { WsClient } from './ws-client';

export { ClientError, toClientError } from './types';
export type { ApiClient, ClientErrorCode, ConnectionState } from './types';

/** The WebSocket endpoint of the page's own server, with the page's ?token= if it has one. */
export function wsUrlFor(location: Pick<Location, 'protocol' | 'host' | 'search'>): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = new URLSearchParams(location.search).get('token');
  return `${scheme}//${location.host}/api${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

export function createClient(): ApiClient {
  if (window.expdesk) return new BridgeClient(window.expdesk);
  return new WsClient({ url: wsUrlFor(window.location) });
}

/**
 * The folder path of a File dropped on the window: only the Electron bridge
 * knows it (browsers hide paths from pages), so null in browser mode.
 */
export function pathForDroppedFile(file: File): string | null {
  const path = window.expdesk?.pathForFile?.(file);
  return path ? path : null;
}
