/**
 * The host's side of the interface's data (issue 4): metric series for the
 * charts, live watches, comparisons, reading experiment files, the config
 * editor's files, bundles and verification, and revealing a path in the file
 * manager. Each request resolves its location(s) to their experiment backend
 * (core/backend/resolve.ts) and calls the same operation on it, local or SSH:
 * series are built by one SeriesStore from local folders (a remote
 * experiment's metrics mirrored here), a comparison or a verification may mix
 * local and remote experiments. This class owns the series cache; dispose()
 * ends it and every backend's watches.
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiError, type EventPayload, type RequestParams, type RequestResult } from '../../shared/contract';
import type { ExperimentBackend, OpenWorkspace } from '../core/backend/backend';
import { detailsAcross, verifyAcross, withExportSource } from '../core/backend/across';
import { mapByBackend, normalizeLocation, resolveBackend, type Backends } from '../core/backend/resolve';
import { reworded } from '../core/backend/reworded';
import { SeriesStore } from '../core/metrics/series-store';
import { GroupCurveCache } from '../core/metrics/group-series';
import { compareDetails } from '../core/workspace/compare';
import { diffRuns } from '../core/backend/run-diff';
import { exportBundleRequest } from './bundles';
import { composeForEditor } from './runs';

export interface InterfaceDataOptions {
  backends: Backends;
  /** The open workspace with its backend, or null. */
  workspace: () => OpenWorkspace | null;
  /** Reveal a path in the OS file manager (Electron's shell.showItemInFolder); absent in browser mode. */
  revealInFolder?: (path: string) => void | Promise<void>;
}

export class InterfaceDataService {
  private readonly series = new SeriesStore();
  private readonly groupCurves = new GroupCurveCache();
  /** Backends that have had a watch (an SSH one is not loaded just to unwatch). */
  private readonly watching = new Set<ExperimentBackend>();

  constructor(private readonly options: InterfaceDataOptions) {}

  private backend(location: string): Promise<ExperimentBackend> {
    return resolveBackend(location, this.options.backends);
  }

  async metricsSeries(params: RequestParams<'metrics.series'>): Promise<RequestResult<'metrics.series'>> {
    const query = {
      keys: params.keys,
      x: params.x ?? 'step',
      range: params.range ?? null,
      buckets: params.buckets ?? 1000,
      xKey: params.xKey,
      smoothing: params.smoothing,
      robust: params.robust,
    };
    const backend = await this.backend(params.expDir);
    if (params.stream === 'system') {
      const [s] = await backend.localSystemMetrics([params.expDir], params.node);
      return this.series.queryFile(s!.file, query, s!.reset);
    }
    // A remote file's new bytes join a local mirror; the columns then grow by what was appended.
    const [m] = await backend.localMetrics([params.expDir]);
    if (m!.reset) this.series.forget(m!.dir);
    return this.series.query(m!.dir, query);
  }

  /** Groups' mean ± band per metric, from the same columns as metrics.series (a remote run's mirror). */
  async groupSeries(
    params: RequestParams<'metrics.groupSeries'>,
  ): Promise<RequestResult<'metrics.groupSeries'>> {
    const q = {
      keys: params.keys,
      band: params.band ?? 'std',
      range: params.range ?? null,
      buckets: params.buckets ?? 1000,
      smoothing: params.smoothing ?? null,
    };
    const groups = [];
    for (const paths of params.groups) {
      const local = await mapByBackend(paths, this.options.backends, (b, ps) => b.localMetrics(ps));
      for (const m of local) if (m.reset) this.series.forget(m.dir);
      groups.push(
        await this.groupCurves.curves(
          local.map((m) => m.dir),
          (dir) => this.series.load(dir),
          q,
        ),
      );
    }
    return { groups };
  }

  async watch(params: RequestParams<'experiments.watch'>): Promise<RequestResult<'experiments.watch'>> {
    const subscription = randomUUID();
    const backends = new Map<ExperimentBackend, string[]>();
    // Every backend hears of the subscription, even with no location of its own:
    // the open workspace's new experiments are announced to it, wherever it is.
    backends.set(this.options.backends.local, []);
    const ws = this.options.workspace();
    if (ws) backends.set(ws.backend, []);
    for (const p of params.paths) {
      const b = await this.backend(p);
      backends.set(b, [...(backends.get(b) ?? []), p]);
    }
    try {
      for (const [b, paths] of backends) {
        this.watching.add(b);
        await b.watch(subscription, paths);
      }
    } catch (err) {
      for (const b of backends.keys()) b.unwatch(subscription);
      throw err;
    }
    return { subscription };
  }

  unwatch(params: RequestParams<'experiments.unwatch'>): RequestResult<'experiments.unwatch'> {
    for (const b of this.watching) b.unwatch(params.subscription);
    return {};
  }

  /** One implementation over experiment details, wherever each experiment is (one round trip per host). */
  async compare(params: RequestParams<'experiments.compare'>): Promise<RequestResult<'experiments.compare'>> {
    return compareDetails(await detailsAcross(params.paths, this.options.backends));
  }

  /** What changed between two runs, each wherever it is (core/backend/run-diff.ts). */
  async diff(params: RequestParams<'experiments.diff'>): Promise<RequestResult<'experiments.diff'>> {
    return diffRuns(params.a, params.b, this.options.backends);
  }

  /** Notes, tags, star, archive: written into each experiment's notes file through its backend. */
  async annotate(
    params: RequestParams<'experiments.annotate'>,
  ): Promise<RequestResult<'experiments.annotate'>> {
    const { change } = params;
    const annotations = await mapByBackend(params.paths, this.options.backends, (b, paths) =>
      b.annotate(paths, change),
    );
    return { annotations };
  }

  async detail(location: string): Promise<RequestResult<'experiment.get'>> {
    const [d] = await (await this.backend(location)).details([location]);
    return d!;
  }

  async readFile(params: RequestParams<'file.read'>): Promise<RequestResult<'file.read'>> {
    return (await this.backend(params.path)).readFile(params.path, params.maxBytes);
  }

  async listConfigs(params: RequestParams<'config.list'>): Promise<RequestResult<'config.list'>> {
    const root = params.root ?? this.options.workspace()?.location;
    if (!root) return { root: null, files: [] };
    return (await this.backend(root)).listConfigs(root);
  }

  async readConfig(params: RequestParams<'config.read'>): Promise<RequestResult<'config.read'>> {
    const b = await this.backend(params.file);
    return { text: await b.readConfig(params.file, this.options.workspace()) };
  }

  async writeConfig(params: RequestParams<'config.write'>): Promise<RequestResult<'config.write'>> {
    await (await this.backend(params.file)).writeConfig(params.file, params.text, this.options.workspace());
    return {};
  }

  /** The composer runs here on the project's configs (a remote project's are copied first); paths come back as given. */
  async compose(params: RequestParams<'config.compose'>): Promise<RequestResult<'config.compose'>> {
    const b = await this.backend(params.file);
    const source = await b.composeSource(params.file, this.options.workspace());
    try {
      const r = composeForEditor({ ...params, file: source.file }, source.root);
      if (r.ok) return { ...r, files: r.files.map(source.locate) };
      return {
        ok: false,
        error: {
          ...r.error,
          file: r.error.file === null ? null : source.locate(r.error.file),
          message: source.text(r.error.message),
        },
      };
    } catch (err) {
      throw reworded(err, source.text);
    } finally {
      source.cleanup();
    }
  }

  async projectGit(params: RequestParams<'project.git'>): Promise<RequestResult<'project.git'>> {
    const root = params.root ?? this.options.workspace()?.location;
    if (!root) return { git: null, checkedAtLaunch: false };
    const backend = await this.backend(root);
    const checkedAtLaunch = backend.treeCheckedAtLaunch;
    const tree = await backend.projectGit(root);
    if (!tree) return { git: null, checkedAtLaunch };
    return {
      git: { ...tree, changes: tree.changes.slice(0, 200), changed: tree.changes.length },
      checkedAtLaunch,
    };
  }

  /** Export from a local copy of the experiment (a local one is used where it is); messages name it as given. */
  async exportBundle(
    params: RequestParams<'bundle.export'>,
    emit: (payload: EventPayload<'bundle.progress'>) => void,
  ): Promise<RequestResult<'bundle.export'>> {
    const shown = normalizeLocation(params.expDir);
    emit({ expDir: shown, phase: 'scan', done: 0, total: 0 }); // a remote one is fetched first
    const opts = { withLogs: params.withLogs, withCheckpoint: params.withCheckpoint };
    return withExportSource(params.expDir, this.options.backends, opts, async (source) => {
      const r = await exportBundleRequest(
        { ...params, expDir: source.expDir, repository: params.repository ?? source.repository ?? undefined },
        (p) => emit({ ...p, expDir: shown }),
        source.leftOut,
      );
      return {
        ...r,
        sourceMissing: r.sourceMissing === null ? null : source.text(r.sourceMissing),
        warnings: r.warnings.map(source.text),
      };
    });
  }

  /** Verify two runs, either or both remote (core/backend/across.ts). */
  async verify(params: RequestParams<'experiments.verify'>): Promise<RequestResult<'experiments.verify'>> {
    return verifyAcross(params.original, params.reproduced, this.options.backends, {
      tolerance: params.tolerance,
      ignore: params.ignore,
    });
  }

  async showInFolder(params: RequestParams<'app.showInFolder'>): Promise<RequestResult<'app.showInFolder'>> {
    const target = path.resolve(params.path);
    if (!this.options.revealInFolder) {
      throw new ApiError(
        'bad-request',
        `opening the file manager is only available in the desktop app; the path is ${target}`,
      );
    }
    await stat(target).catch(() => {
      throw new ApiError('not-found', `no such file or folder: ${target}`);
    });
    await this.options.revealInFolder(target);
    return {};
  }

  dispose(): void {
    this.series.clear();
    this.groupCurves.clear();
  }
}
