/**
 * The host's side of the interface's data (issue 4): metric series for the
 * charts, live watches, comparisons, reading experiment files, the config
 * editor's files, and revealing a path in the file manager. Each request is a
 * thin adapter over a core module; this class owns the series cache and the
 * watcher, and dispose() ends them. Remote experiments (ssh://…) go through
 * the RemoteService (./remote.ts): their series are built from local mirrors
 * of their metrics by the same SeriesStore, a watch's remote part is polled
 * per host, and a comparison may mix local and remote experiments.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import {
  ApiError,
  type EventName,
  type EventPayload,
  type RequestParams,
  type RequestResult,
} from '../../shared/contract';
import {
  listConfigFiles,
  projectRootOf,
  readConfigFile,
  writeConfigFile,
} from '../core/configs/config-files';
import { SeriesStore } from '../core/metrics/series-store';
import type { SummaryStore } from '../core/summary/summary-store';
import { compareDetails, compareExperiments } from '../core/workspace/compare';
import { workingTree } from '../core/capture/git';
import { ExperimentWatcher } from '../core/watch/experiment-watcher';
import { readExperimentDetail } from '../core/workspace/experiment';
import { readExperimentFile } from '../core/workspace/file-access';
import { mapLimited } from '../core/workspace/workspace';
import { isRemote, type RemoteService } from './remote';

type Emit = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

export interface InterfaceDataOptions {
  summaries: SummaryStore;
  emit: Emit;
  workspace: () => string | null;
  /** Reveal a path in the OS file manager (Electron's shell.showItemInFolder); absent in browser mode. */
  revealInFolder?: (path: string) => void | Promise<void>;
  /** Remote experiments' data; without it, remote paths are refused. */
  remote?: RemoteService;
}

export class InterfaceDataService {
  private readonly series = new SeriesStore();
  private readonly watcher: ExperimentWatcher;

  constructor(private readonly options: InterfaceDataOptions) {
    this.watcher = new ExperimentWatcher({
      summaries: options.summaries,
      // A remote workspace is searched by the remote watcher, not on this disk.
      workspace: () => {
        const w = options.workspace();
        return isRemote(w) ? null : w;
      },
      sink: {
        metricsChanged: (subscription, expDir, records) =>
          options.emit('metrics.changed', { subscription, expDir, records }),
        updated: (summary) => options.emit('experiment.updated', { summary }),
      },
    });
  }

  async metricsSeries(params: RequestParams<'metrics.series'>): Promise<RequestResult<'metrics.series'>> {
    let dir = params.expDir;
    if (isRemote(dir)) {
      // The remote file's new bytes join a local mirror; the columns then grow by what was appended.
      const [m] = await this.remoteService().mirrorMetrics([dir]);
      if (m!.reset) this.series.forget(m!.dir);
      dir = m!.dir;
    }
    return this.series.query(dir, {
      keys: params.keys,
      x: params.x ?? 'step',
      range: params.range ?? null,
      buckets: params.buckets ?? 1000,
    });
  }

  async watch(params: RequestParams<'experiments.watch'>): Promise<RequestResult<'experiments.watch'>> {
    const remote = params.paths.filter((p) => isRemote(p));
    const local = params.paths.filter((p) => !isRemote(p));
    const subscription = await this.watcher.watch(local);
    try {
      // Registered even with no remote path: a remote workspace's new experiments are announced to it.
      this.options.remote?.watchExperiments(subscription, remote);
    } catch (err) {
      this.watcher.unwatch(subscription);
      throw err;
    }
    return { subscription };
  }

  unwatch(params: RequestParams<'experiments.unwatch'>): RequestResult<'experiments.unwatch'> {
    this.watcher.unwatch(params.subscription);
    this.options.remote?.unwatchExperiments(params.subscription);
    return {};
  }

  async compare(params: RequestParams<'experiments.compare'>): Promise<RequestResult<'experiments.compare'>> {
    if (!params.paths.some((p) => isRemote(p))) {
      return compareExperiments(
        params.paths.map((p) => path.resolve(p)),
        this.options.summaries,
      );
    }
    const remotePaths = params.paths.filter((p) => isRemote(p));
    const [remote, local] = await Promise.all([
      this.remoteService().details(remotePaths),
      mapLimited(
        params.paths.filter((p) => !isRemote(p)),
        8,
        (p) => readExperimentDetail(path.resolve(p), this.options.summaries),
      ),
    ]);
    let r = 0;
    let l = 0;
    return compareDetails(params.paths.map((p) => (isRemote(p) ? remote[r++]! : local[l++]!)));
  }

  readFile(params: RequestParams<'file.read'>): Promise<RequestResult<'file.read'>> {
    if (isRemote(params.path)) return this.remoteService().readFile(params.path, params.maxBytes);
    return readExperimentFile(params.path, params.maxBytes);
  }

  async listConfigs(params: RequestParams<'config.list'>): Promise<RequestResult<'config.list'>> {
    const root = params.root ?? this.options.workspace();
    if (!root) return { root: null, files: [] };
    if (isRemote(root)) return this.remoteService().listConfigs(root);
    const project = await projectRootOf(root);
    return { root: project, files: await listConfigFiles(project) };
  }

  async readConfig(params: RequestParams<'config.read'>): Promise<RequestResult<'config.read'>> {
    if (isRemote(params.file)) return this.remoteService().readConfig(params.file, this.options.workspace());
    return { text: await readConfigFile(params.file, await this.project()) };
  }

  async writeConfig(params: RequestParams<'config.write'>): Promise<RequestResult<'config.write'>> {
    if (isRemote(params.file))
      return this.remoteService().writeConfig(params.file, params.text, this.options.workspace());
    await writeConfigFile(params.file, params.text, await this.project());
    return {};
  }

  async projectGit(params: RequestParams<'project.git'>): Promise<RequestResult<'project.git'>> {
    const root = params.root ?? this.options.workspace();
    if (!root || isRemote(root)) return { git: null };
    const project = await projectRootOf(root);
    const tree = await workingTree(project, [path.join(project, 'experiments')]);
    if (!tree) return { git: null };
    return { git: { ...tree, changes: tree.changes.slice(0, 200), changed: tree.changes.length } };
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

  /** Local watch subscriptions and whether their poll timer runs (tests, diagnostics). */
  get activity(): { watches: number; timer: boolean } {
    return { watches: this.watcher.size.subscriptions, timer: this.watcher.polling };
  }

  dispose(): void {
    this.watcher.dispose();
    this.series.clear();
  }

  /** The open (local) project: what config files and composing are confined to. */
  async project(): Promise<string> {
    const workspace = this.options.workspace();
    if (!workspace) throw new ApiError('bad-request', 'no workspace is open: open a project folder first');
    if (isRemote(workspace))
      throw new ApiError(
        'forbidden',
        `the open project is on a remote machine (${workspace}): this file is not in it`,
      );
    return projectRootOf(workspace);
  }

  private remoteService(): RemoteService {
    if (!this.options.remote) throw new ApiError('bad-request', 'remote experiments are not available here');
    return this.options.remote;
  }
}
