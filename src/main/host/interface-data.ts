/**
 * The host's side of the interface's data (issue 4): metric series for the
 * charts, live watches, comparisons, reading experiment files, the config
 * editor's files, and revealing a path in the file manager. Each request is a
 * thin adapter over a core module; this class owns the series cache and the
 * watcher, and dispose() ends them.
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
import { ExperimentWatcher } from '../core/watch/experiment-watcher';
import { compareExperiments } from '../core/workspace/compare';
import { readExperimentFile } from '../core/workspace/file-access';

type Emit = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

export interface InterfaceDataOptions {
  summaries: SummaryStore;
  emit: Emit;
  workspace: () => string | null;
  /** Reveal a path in the OS file manager (Electron's shell.showItemInFolder); absent in browser mode. */
  revealInFolder?: (path: string) => void | Promise<void>;
}

export class InterfaceDataService {
  private readonly series = new SeriesStore();
  private readonly watcher: ExperimentWatcher;

  constructor(private readonly options: InterfaceDataOptions) {
    this.watcher = new ExperimentWatcher({
      summaries: options.summaries,
      workspace: options.workspace,
      sink: {
        metricsChanged: (subscription, expDir, records) =>
          options.emit('metrics.changed', { subscription, expDir, records }),
        updated: (summary) => options.emit('experiment.updated', { summary }),
      },
    });
  }

  metricsSeries(params: RequestParams<'metrics.series'>): Promise<RequestResult<'metrics.series'>> {
    return this.series.query(params.expDir, {
      keys: params.keys,
      x: params.x ?? 'step',
      range: params.range ?? null,
      buckets: params.buckets ?? 1000,
    });
  }

  async watch(params: RequestParams<'experiments.watch'>): Promise<RequestResult<'experiments.watch'>> {
    return { subscription: await this.watcher.watch(params.paths) };
  }

  unwatch(params: RequestParams<'experiments.unwatch'>): RequestResult<'experiments.unwatch'> {
    this.watcher.unwatch(params.subscription);
    return {};
  }

  compare(params: RequestParams<'experiments.compare'>): Promise<RequestResult<'experiments.compare'>> {
    return compareExperiments(
      params.paths.map((p) => path.resolve(p)),
      this.options.summaries,
    );
  }

  readFile(params: RequestParams<'file.read'>): Promise<RequestResult<'file.read'>> {
    return readExperimentFile(params.path, params.maxBytes);
  }

  async listConfigs(params: RequestParams<'config.list'>): Promise<RequestResult<'config.list'>> {
    const root = params.root ?? this.options.workspace();
    if (!root) return { root: null, files: [] };
    const project = await projectRootOf(root);
    return { root: project, files: await listConfigFiles(project) };
  }

  async readConfig(params: RequestParams<'config.read'>): Promise<RequestResult<'config.read'>> {
    return { text: await readConfigFile(params.file, await this.project()) };
  }

  async writeConfig(params: RequestParams<'config.write'>): Promise<RequestResult<'config.write'>> {
    await writeConfigFile(params.file, params.text, await this.project());
    return {};
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
    this.watcher.dispose();
    this.series.clear();
  }

  private async project(): Promise<string> {
    const workspace = this.options.workspace();
    if (!workspace) throw new ApiError('bad-request', 'no workspace is open: open a project folder first');
    return projectRootOf(workspace);
  }
}
