/**
 * The SSH experiment backend of this command (list, show, compare, export,
 * verify on ssh://… and host:/path), on its connection pool; metrics for
 * verify are mirrored into a private folder removed at exit. Apart from
 * ./remote.ts (runs, attach, tail), so a listing loads the listing's code only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SshBackend } from '../main/core/backend/ssh-backend';
import { RemoteMetricsMirror } from '../main/core/remote/remote-metrics';
import type { SummaryStore } from '../main/core/summary/summary-store';
import { onCliExit } from './remote-context';
import { remotes } from './remote-pool';

const backends = new WeakMap<SummaryStore, SshBackend>();

export function sshBackend(store: SummaryStore): SshBackend {
  let b = backends.get(store);
  if (!b) {
    const mirrorDir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-metrics-'));
    b = new SshBackend({
      pool: remotes(),
      summaries: store,
      mirror: new RemoteMetricsMirror(mirrorDir),
      // A listing needs the summaries, not the mirror files: held in memory, written only if read.
      listingMirror: store.cacheRoot ? new RemoteMetricsMirror(store.cacheRoot, { lazy: true }) : undefined,
      onExportFetch: (location) => process.stderr.write(`expdesk: fetching ${location}\n`),
    });
    backends.set(store, b);
    onCliExit(() => {
      backends.delete(store);
      rmSync(mirrorDir, { recursive: true, force: true });
    });
  }
  return b;
}
