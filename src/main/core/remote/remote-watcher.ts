/**
 * Following remote experiments for the interface, as ExperimentWatcher
 * (core/watch/experiment-watcher.ts) does for local ones, with the same
 * events: `metrics.changed` when an experiment's record count moved,
 * `experiment.updated` when its row changed or a new experiment appeared in
 * the open remote workspace.
 *
 * Each tick is at most ONE remote command per host (RemoteWorkspace.poll, a
 * `gather` with hints: only what changed since the last tick travels, the
 * appended metrics bytes included), however many experiments are watched
 * there — sshd allows few channels per connection, and a round trip costs
 * far more than a stat. Running experiments go in every tick; the others
 * once every COLD_PERIOD_MS, spread over the ticks; the open workspace's
 * experiment folders are listed in the same command every SCAN_PERIOD_MS.
 * A host that fails (link down, reconnecting) is left alone for a growing
 * while; `remote.status` events tell the user. Read-only on the remote.
 */
import type { ExperimentSummary } from '../../../shared/model';
import {
  formatRemoteLocation,
  parseRemoteLocation,
  remoteEndpointLabel,
  withRemotePath,
  type RemoteLocation,
} from '../../../shared/remote-location';
import { PollingWatcher, type FollowedState, type WatcherSink } from '../watch/follow';
import type { RemoteWorkspace } from './remote-workspace';

export const REMOTE_TICK_MS = 1000;
const SCAN_PERIOD_MS = 2000;
const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 30_000;

export interface RemoteWatcherOptions {
  /** The remote workspace object of an endpoint (one connection per endpoint). */
  open(endpoint: RemoteLocation): RemoteWorkspace;
  /** The open workspace, searched for new experiment folders when it is remote. */
  workspace: () => string | null;
  sink: WatcherSink;
  tickMs?: number;
  coldPeriodMs?: number;
  scanPeriodMs?: number;
}

interface Watched extends FollowedState {
  /** The location as the client gave it: events carry it back. */
  location: string;
  remotePath: string;
  ready: boolean;
  /** Announce its first summary (a folder that appeared after the watch began). */
  announce: boolean;
  hot: boolean;
  checkedAt: number;
}

interface Host {
  endpoint: RemoteLocation;
  experiments: Map<string, Watched>;
  busy: boolean;
  retryAt: number;
  failures: number;
  /** The workspace last listed on this host and the experiments seen in it. */
  scanRoot: string | null;
  known: Set<string> | null;
  lastScan: number;
}

export class RemoteExperimentWatcher extends PollingWatcher {
  private readonly hosts = new Map<string, Host>();
  private readonly scanPeriodMs: number;

  constructor(private readonly options: RemoteWatcherOptions) {
    super(options.sink, { tickMs: options.tickMs ?? REMOTE_TICK_MS, coldPeriodMs: options.coldPeriodMs });
    this.scanPeriodMs = options.scanPeriodMs ?? SCAN_PERIOD_MS;
  }

  /** Follow these remote experiments under subscription `id` (an id with no paths still gets new folders). */
  watch(id: string, locations: string[]): void {
    const mine = this.subscriptions.get(id) ?? new Set<string>();
    this.subscriptions.set(id, mine);
    for (const location of locations) {
      const loc = parseRemoteLocation(location);
      if (!loc) continue;
      const host = this.host(loc);
      let w = host.experiments.get(location);
      if (!w) {
        w = {
          location,
          remotePath: loc.path,
          subscriptions: new Set(),
          ready: false,
          announce: false,
          hot: true,
          records: 0,
          fingerprint: '',
          checkedAt: 0,
        };
        host.experiments.set(location, w);
      }
      w.subscriptions.add(id);
      mine.add(location);
    }
    this.ensureTimer();
    // The baseline now, not a tick later.
    void this.tick();
  }

  unwatch(id: string): void {
    const mine = this.subscriptions.get(id);
    if (!mine) return;
    this.subscriptions.delete(id);
    for (const host of this.hosts.values()) {
      for (const [location, w] of host.experiments) {
        if (!mine.has(location)) continue;
        w.subscriptions.delete(id);
        if (w.subscriptions.size === 0) host.experiments.delete(location);
      }
    }
    if (this.subscriptions.size === 0) this.stopTimer();
  }

  /** Subscriptions and experiments followed (tests, diagnostics). */
  get size(): { subscriptions: number; experiments: number } {
    let experiments = 0;
    for (const h of this.hosts.values()) experiments += h.experiments.size;
    return { subscriptions: this.subscriptions.size, experiments };
  }

  override dispose(): void {
    super.dispose();
    this.hosts.clear();
  }

  private host(loc: RemoteLocation): Host {
    const key = remoteEndpointLabel(loc);
    let host = this.hosts.get(key);
    if (!host) {
      host = {
        endpoint: withRemotePath(loc, '~'),
        experiments: new Map(),
        busy: false,
        retryAt: 0,
        failures: 0,
        scanRoot: null,
        known: null,
        lastScan: 0,
      };
      this.hosts.set(key, host);
    }
    return host;
  }

  protected async tick(): Promise<void> {
    if (this.disposed || this.subscriptions.size === 0) return;
    const workspace = this.options.workspace();
    const wsLoc = workspace ? safeParse(workspace) : null;
    if (wsLoc) this.host(wsLoc); // a remote workspace is searched for new folders even with nothing watched there
    await Promise.all(
      [...this.hosts.entries()].map(([key, host]) =>
        this.pollHost(host, wsLoc && remoteEndpointLabel(wsLoc) === key ? wsLoc.path : null),
      ),
    );
  }

  private async pollHost(host: Host, scanRoot: string | null): Promise<void> {
    const now = Date.now();
    if (host.busy || now < host.retryAt) return;
    if (scanRoot !== host.scanRoot) {
      host.scanRoot = scanRoot;
      host.known = null;
      host.lastScan = 0;
    }
    const all = [...host.experiments.values()];
    const due = all.filter((w) => !w.ready || w.hot);
    due.push(...this.coldTurn(all.filter((w) => w.ready && !w.hot)));
    const scan = scanRoot !== null && now - host.lastScan >= this.scanPeriodMs ? scanRoot : null;
    if (due.length === 0 && scan === null) {
      if (host.experiments.size === 0 && scanRoot === null)
        this.hosts.delete(remoteEndpointLabel(host.endpoint));
      return;
    }
    host.busy = true;
    try {
      const ws = this.options.open(host.endpoint);
      const { summaries, discovered } = await ws.poll(
        due.map((w) => w.remotePath),
        scan,
      );
      host.failures = 0;
      if (scan !== null) host.lastScan = now;
      summaries.forEach((s, i) => this.absorb(host, due[i]!, s));
      if (discovered) this.discovered(host, discovered);
    } catch {
      // Link down, reconnecting or gone: remote.status events say so. Try again later, less often.
      host.failures++;
      host.retryAt = Date.now() + Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (host.failures - 1));
    } finally {
      host.busy = false;
    }
  }

  private absorb(host: Host, w: Watched, s: ExperimentSummary | Error): void {
    if (host.experiments.get(w.location) !== w) return; // unwatched meanwhile
    w.checkedAt = Date.now();
    if (s instanceof Error) {
      // The folder is gone (deleted or moved): nothing to report on any more.
      host.experiments.delete(w.location);
      for (const mine of this.subscriptions.values()) mine.delete(w.location);
      return;
    }
    w.hot = s.status.state === 'running';
    if (!w.ready) {
      w.ready = true;
      this.takeBaseline(w, s);
      if (w.announce) this.sink.updated(s);
      return;
    }
    this.report(w, w.location, s);
  }

  /** New experiment folders in the open workspace: followed for every subscription, announced on their first summary. */
  private discovered(host: Host, paths: string[]): void {
    if (host.known === null) {
      host.known = new Set(paths);
      return;
    }
    for (const p of paths) {
      if (host.known.has(p)) continue;
      host.known.add(p);
      const location = formatRemoteLocation(withRemotePath(host.endpoint, p));
      if (host.experiments.has(location) || this.subscriptions.size === 0) continue;
      const w: Watched = {
        location,
        remotePath: p,
        subscriptions: new Set(this.subscriptions.keys()),
        ready: false,
        announce: true,
        hot: true,
        records: 0,
        fingerprint: '',
        checkedAt: 0,
      };
      host.experiments.set(location, w);
      for (const mine of this.subscriptions.values()) mine.add(location);
    }
  }
}

function safeParse(text: string): RemoteLocation | null {
  try {
    return parseRemoteLocation(text);
  } catch {
    return null;
  }
}
