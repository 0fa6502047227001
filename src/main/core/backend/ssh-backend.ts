/**
 * Experiments on machines reached over SSH (ssh://[user@]host[:port]/path,
 * host:/path): the ExperimentBackend over core/remote. Listings and details
 * come from the remote helper through RemoteWorkspace (one command per host
 * for many experiments), metrics through local mirrors that receive only new
 * bytes (RemoteMetricsMirror), watches through one poll per host
 * (RemoteExperimentWatcher), files and configs through helper commands that
 * apply the local confinement rules on the remote, composing through a
 * private copy of the project's configs, and export through a fetched copy of
 * the experiment and its commit. Failures name the endpoint.
 */
import { remoteEndpointLabel, remoteJoin, type RemoteLocation } from '../../../shared/remote-location';
import { ExpdeskError } from '../../../shared/errors';
import type { ExperimentDetail, WorkspaceListing } from '../../../shared/model';
import type { AnnotationChange, Annotations } from '../../../shared/annotations';
import { annotateRemote } from '../remote/remote-annotate';
import type { SshConnection } from '../remote/connection';
import type { RemotePool } from '../remote/pool';
import {
  listRemoteConfigs,
  readRemoteConfig,
  readRemoteExperimentFile,
  writeRemoteConfig,
} from '../remote/remote-files';
import type { RemoteMetricsMirror } from '../remote/remote-metrics';
import { RemoteRunFiles } from '../remote/remote-run-files';
import { RemoteOpError } from '../remote/remote-python';
import { RemoteExperimentWatcher } from '../remote/remote-watcher';
import { RemoteWorkspace } from '../remote/remote-workspace';
import { systemMirrorKey } from '../remote/remote-stream';
import { systemFileName } from '../../../shared/system-metrics';
import { SlurmOverlay } from '../runs/slurm-overlay';
import type { WorkingTree } from '../capture/git';
import type { SummaryStore } from '../summary/summary-store';
import type { KeptListing } from '../workspace/summarizer';
import { reworded } from './reworded';
import type {
  BackendFileText,
  BackendSink,
  ComposeSource,
  ExperimentBackend,
  ExportSource,
  LocalMetrics,
  LocalStream,
  OpenWorkspace,
} from './backend';
import { WatchingBackend } from './watching';
import type { CommitRange, GitSide } from '../../../shared/run-diff';

export interface SshBackendOptions {
  /** The connections of this process (the host's or the CLI's); the backend does not close them. */
  pool: RemotePool;
  summaries: SummaryStore;
  /** Local mirrors of remote metrics (its owner chooses the folder); without it, metrics and verify on remote experiments are refused. */
  mirror?: RemoteMetricsMirror;
  /** The open workspace: a remote one is searched for new experiments while watches are on. */
  workspace?: () => OpenWorkspace | null;
  /** Where watch events go; without it, watching is refused. */
  sink?: BackendSink;
  /** The metrics mirrors of listings (default: the summaries' cache folder's); the CLI's are lazy. */
  listingMirror?: RemoteMetricsMirror;
  /** Told when an experiment is about to be fetched for export (the CLI says so on stderr). */
  onExportFetch?: (location: string) => void;
}

/** A message naming the endpoint (once). */
function atEndpoint(label: string, message: string): string {
  return message.includes(label) ? message : `${label}: ${message}`;
}

/** Run fn; an Expdesk error it throws names the endpoint. */
async function at<T>(label: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw reworded(err, (m) => atEndpoint(label, m));
  }
}

interface Opened {
  loc: RemoteLocation;
  conn: SshConnection;
  ws: RemoteWorkspace;
  label: string;
}

export class SshBackend extends WatchingBackend<RemoteExperimentWatcher> implements ExperimentBackend {
  readonly kind = 'ssh';
  /** The remote tree is captured by the helper at launch (git state and patch), not read ahead. */
  readonly treeCheckedAtLaunch = true;
  private readonly slurm = new Map<string, SlurmOverlay>();

  constructor(private readonly options: SshBackendOptions) {
    super(options);
  }

  normalize(location: string): string {
    return location;
  }

  /** Parse a location and take its endpoint's connection (a malformed location fails here, clearly). */
  private open(text: string): Opened {
    const { loc, conn } = this.options.pool.forLocation(text);
    return {
      loc,
      conn,
      ws: new RemoteWorkspace(conn, loc, this.options.summaries, this.options.listingMirror),
      label: remoteEndpointLabel(loc),
    };
  }

  /** Locations grouped by endpoint, so each host is asked once for all of its experiments. */
  private byHost(locations: string[]): Array<Opened & { items: Array<{ index: number; path: string }> }> {
    const groups = new Map<string, Opened & { items: Array<{ index: number; path: string }> }>();
    locations.forEach((text, index) => {
      const o = this.open(text);
      let g = groups.get(o.label);
      if (!g) {
        g = { ...o, items: [] };
        groups.set(o.label, g);
      }
      g.items.push({ index, path: o.loc.path });
    });
    return [...groups.values()];
  }

  async list(root: string): Promise<WorkspaceListing> {
    const o = this.open(root);
    const listing = await o.ws.list(o.loc.path);
    return { ...listing, experiments: await this.slurmOf(o).apply(listing.experiments) };
  }

  async listUnlessKept(root: string, kept: string | null): Promise<KeptListing> {
    const o = this.open(root);
    const listed = await o.ws.listUnlessKept(o.loc.path, kept);
    if (listed.unchanged) return listed;
    const experiments = await this.slurmOf(o).apply(listed.listing.experiments);
    return { ...listed, listing: { ...listed.listing, experiments } };
  }

  /** SLURM jobs' state from the login node's scheduler (one squeue a listing, at most every 15 s). */
  private slurmOf(o: Opened): SlurmOverlay {
    let overlay = this.slurm.get(o.label);
    if (!overlay) {
      overlay = new SlurmOverlay({
        // Loaded when a listing holds a SLURM run (the run machinery stays out of a plain listing).
        site: async () => (await import('../remote/slurm-ssh')).sshSlurmSite(o.conn),
        folderOf: (s) => this.options.pool.forLocation(s.path).loc.path,
        // Expdesk writes a SLURM run's status file before sbatch, so a folder whose status is only
        // inferred holds no record: a listing of seed-written folders costs no second round trip.
        mayHoldRecord: (_folder, s) => s.status.source !== 'inferred',
      });
      this.slurm.set(o.label, overlay);
    }
    return overlay;
  }

  async details(locations: string[]): Promise<ExperimentDetail[]> {
    const out = new Array<ExperimentDetail>(locations.length);
    await Promise.all(
      this.byHost(locations).map((g) =>
        at(g.label, async () => {
          const found = await g.ws.details(g.items.map((it) => it.path));
          const whole = found.filter((d): d is ExperimentDetail => !(d instanceof Error));
          const judged = await this.slurmOf(g).apply(
            whole.map((d) => d.summary),
            true,
          );
          const details = found.map((d) =>
            d instanceof Error ? d : { ...d, summary: judged[whole.indexOf(d)]! },
          );
          details.forEach((d, i) => {
            if (d instanceof Error) throw d;
            out[g.items[i]!.index] = d;
          });
        }),
      ),
    );
    return out;
  }

  async localMetrics(locations: string[], opts: { allowFile?: boolean } = {}): Promise<LocalMetrics[]> {
    const mirror = this.options.mirror;
    if (!mirror) throw new ExpdeskError('bad-request', 'remote metrics are not available here');
    const out = new Array<LocalMetrics>(locations.length);
    await Promise.all(
      this.byHost(locations).map((g) =>
        at(g.label, async () => {
          const results = await mirror.sync(
            g.conn,
            g.items.map((it) => ({
              location: locations[it.index]!,
              remotePath: it.path,
              allowFile: opts.allowFile,
            })),
          );
          results.forEach((r, i) => {
            if (r instanceof Error) throw r;
            out[g.items[i]!.index] = { dir: r.dir, reset: r.reset };
          });
          await this.runMirrors(g, locations, out);
        }),
      ),
    );
    return out;
  }

  /**
   * Experiments without metrics.jsonl may be TensorBoard or MLflow runs: their
   * files' mirror replaces the empty metrics mirror (one more round trip, for
   * those only).
   */
  private async runMirrors(
    g: Opened & { items: Array<{ index: number; path: string }> },
    locations: string[],
    out: LocalMetrics[],
  ): Promise<void> {
    const mirror = this.options.mirror!;
    const empty: typeof g.items = [];
    for (const it of g.items) if ((await mirror.position(locations[it.index]!)).offset === 0) empty.push(it);
    if (empty.length === 0) return;
    const runs = new RemoteRunFiles(mirror.root);
    const found = await runs.sync(
      g.conn,
      empty.map((it) => ({ location: locations[it.index]!, remotePath: it.path })),
    );
    found.forEach((r, i) => {
      if (r instanceof Error) throw r;
      if (r) out[empty[i]!.index] = r;
    });
  }

  async localSystemMetrics(locations: string[], node?: string): Promise<LocalStream[]> {
    const mirror = this.options.mirror;
    if (!mirror) throw new ExpdeskError('bad-request', 'remote metrics are not available here');
    const out = new Array<LocalStream>(locations.length);
    // Each experiment's system.jsonl gets a mirror of its own, keyed apart from its metrics.jsonl's
    // (the key the listing's gather fills too, so its bytes cross once); each other node's too.
    const name = systemFileName(node);
    const key = (l: string): string => (node === undefined ? systemMirrorKey(l) : `${l}#${name}`);
    await Promise.all(
      this.byHost(locations).map((g) =>
        at(g.label, async () => {
          const targets = g.items.map((it) => ({
            location: key(locations[it.index]!),
            remotePath: remoteJoin(it.path, 'logs', name),
            allowFile: true,
          }));
          const results = await mirror.sync(g.conn, targets);
          await Promise.all(
            results.map(async (r, i) => {
              const location = targets[i]!.location;
              let reset = false;
              if (r instanceof RemoteOpError && r.code === 'not-found') reset = await mirror.clear(location);
              else if (r instanceof Error) throw r;
              else reset = r.reset;
              out[g.items[i]!.index] = { file: mirror.fileOf(location), reset };
            }),
          );
        }),
      ),
    );
    return out;
  }

  async watch(subscription: string, locations: string[]): Promise<void> {
    for (const l of locations) this.open(l); // a malformed location fails the request, not a later tick
    this.watcherFor().watch(subscription, locations);
  }

  /** Written on the remote by the helper (remote-annotate.ts), one round trip to read and one to write per host. */
  async annotate(locations: string[], change: AnnotationChange): Promise<Annotations[]> {
    const out = new Array<Annotations>(locations.length);
    for (const g of this.byHost(locations)) {
      const done = await at(g.label, () =>
        annotateRemote(
          g.conn,
          g.items.map((it) => it.path),
          change,
        ),
      );
      done.forEach((a, i) => (out[g.items[i]!.index] = a));
    }
    return out;
  }

  async readFile(location: string, maxBytes?: number): Promise<BackendFileText> {
    const { loc, conn, label } = this.open(location);
    return at(label, () => readRemoteExperimentFile(conn, loc.path, maxBytes));
  }

  async listConfigs(root: string): Promise<{ root: string; files: Array<{ path: string; rel: string }> }> {
    const { loc, conn, ws, label } = this.open(root);
    const r = await at(label, () => listRemoteConfigs(conn, loc.path));
    return {
      root: ws.locate(r.project),
      files: r.files.map((f) => ({ path: ws.locate(f.path), rel: f.rel })),
    };
  }

  /** The remote workspace a config file must belong to: the same endpoint as the file. */
  private configTarget(file: string, workspace: OpenWorkspace | null): Opened & { root: string } {
    const target = this.open(file);
    const ws = workspace?.backend === this ? this.open(workspace.location) : null;
    if (!ws || ws.label !== target.label)
      throw new ExpdeskError(
        'forbidden',
        `${file} is outside the open project (${workspace?.location ?? 'no workspace is open'})`,
      );
    return { ...target, root: ws.loc.path };
  }

  async readConfig(file: string, workspace: OpenWorkspace | null): Promise<string> {
    const { loc, conn, root, label } = this.configTarget(file, workspace);
    return at(label, () => readRemoteConfig(conn, root, loc.path));
  }

  async writeConfig(file: string, text: string, workspace: OpenWorkspace | null): Promise<void> {
    const { loc, conn, root, label } = this.configTarget(file, workspace);
    await at(label, () => writeRemoteConfig(conn, root, loc.path, text));
  }

  /**
   * One command copies the project's configs here; the core's composer runs
   * on the copy, and every path in its answer is the remote one again.
   */
  async composeSource(file: string, workspace: OpenWorkspace | null): Promise<ComposeSource> {
    const { loc, conn, ws, root, label } = this.configTarget(file, workspace);
    const { mirrorRemoteConfigs } = await import('../remote/remote-configs');
    const mirror = await at(label, () => mirrorRemoteConfigs(conn, root));
    const local = mirror.localFor(loc.path);
    if (!local) {
      mirror.cleanup();
      throw new ExpdeskError(
        'bad-request',
        `${loc.path} is not a config of the remote project ${mirror.project}: ` +
          'configs are composed from the YAML files under its configs/ folder',
      );
    }
    return {
      root: mirror.localRoot,
      file: local,
      locate: (p) => ws.locate(mirror.remoteFor(p)),
      text: (message) => mirror.remoteText(message),
      cleanup: () => mirror.cleanup(),
    };
  }

  /** Not read over SSH: the interface shows no dirty-tree warning for a remote project. */
  async projectGit(): Promise<WorkingTree | null> {
    return null;
  }

  /** The project's repository is on the remote host; its log is not read over SSH yet (config and packages are). */
  async commitsBetween(a: GitSide): Promise<CommitRange> {
    const { label } = this.open(a.location);
    return {
      available: false,
      reason: `the project repository is on ${label}: reading its commits over SSH is not supported yet (run git log there)`,
    };
  }

  /** Fetch the experiment (and its recorded commit) in one command into a private folder here. */
  async exportSource(
    location: string,
    opts: { withLogs?: boolean; withCheckpoint?: boolean },
  ): Promise<ExportSource> {
    const { loc, conn, label } = this.open(location);
    this.options.onExportFetch?.(location);
    const { fetchRemoteExperiment } = await import('../remote/remote-export'); // tar: loaded for exports only
    const fetched = await at(label, () => fetchRemoteExperiment(conn, loc.path, opts));
    return {
      expDir: fetched.expDir,
      repository: fetched.repository,
      leftOut: fetched.leftOut,
      text: (message) => message.split(fetched.expDir).join(location),
      cleanup: () => fetched.cleanup(),
    };
  }

  protected makeWatcher(sink: BackendSink, workspace: () => string | null): RemoteExperimentWatcher {
    return new RemoteExperimentWatcher({
      open: (endpoint) =>
        new RemoteWorkspace(this.options.pool.connection(endpoint), endpoint, this.options.summaries),
      workspace,
      sink,
    });
  }
}
