/**
 * A remote DIR's connection, started first thing: the list action imports
 * this beside the listing machinery, so ssh2's loading and the handshake's
 * round trips pass while those modules load. Whether DIR is remote is
 * resolve.ts's decision; a local DIR costs nothing more (the listing loads
 * resolve.ts anyway) and never loads ssh2.
 */
import { backendKind } from '../main/core/backend/resolve';

export async function connectEarly(dir: string): Promise<void> {
  if (backendKind(dir) === 'ssh') (await import('./remote')).connectEarly(dir);
}
