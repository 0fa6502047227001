/**
 * The CLI's experiment backends: the local one, and the SSH one loaded on the
 * first remote location (it pulls in ssh2; ./ssh-backend.ts builds it on the
 * command's connection pool). Commands resolve each location through
 * core/backend/resolve.ts and never test for "remote" themselves.
 */
import { LocalBackend } from '../main/core/backend/local-backend';
import type { Backends } from '../main/core/backend/resolve';
import { SummaryStore } from '../main/core/summary/summary-store';

export function cliBackends(store: SummaryStore = new SummaryStore()): Backends {
  return {
    local: new LocalBackend({ summaries: store }),
    ssh: async () => (await import('./ssh-backend')).sshBackend(store),
  };
}
