/**
 * A remote DIR's connection, started first thing: the list action awaits
 * this (the connection code only, ./remote-pool.ts) before it loads
 * the listing machinery, so those modules load during the handshake's round
 * trips. Whether DIR is remote is resolve.ts's decision; a local DIR costs
 * nothing more (the listing loads resolve.ts anyway) and never loads ssh2.
 */
import { backendKind } from '../main/core/backend/resolve';

export async function connectEarly(dir: string): Promise<void> {
  if (backendKind(dir) === 'ssh') (await import('./remote-pool')).connectEarly(dir);
}
