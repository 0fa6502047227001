/**
 * Experiments on this machine's disk: the ExperimentBackend over the core's
 * own modules (workspace listing and details, the experiment watcher, file
 * access, config files). Nothing is copied: metrics and export read the
 * folder where it is.
 */
import path from 'node:path';
import type { AnnotationChange, Annotations } from '../../../shared/annotations';
import { annotateExperiment } from '../workspace/annotations';
import { ExpdeskError } from '../../../shared/errors';
import { systemFileName } from '../../../shared/system-metrics';
import type { ExperimentDetail, WorkspaceListing } from '../../../shared/model';
import { listConfigFiles, projectRootOf, readConfigFile, writeConfigFile } from '../configs/config-files';
import { workingTree, type WorkingTree } from '../capture/git';
import type { SummaryStore } from '../summary/summary-store';
import { SlurmOverlay } from '../runs/slurm-overlay';
import { ExperimentWatcher } from '../watch/experiment-watcher';
import { readExperimentDetail } from '../workspace/experiment';
import { ConfinementError, resolveInside } from '../fs/confine';
import { readExperimentFile } from '../workspace/file-access';
import { LAYOUT } from '../workspace/layout';
import { listWorkspace, mapLimited } from '../workspace/workspace';
import type { ListOptions } from '../workspace/summarizer';
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
import { localCommitsBetween } from './run-diff';
import type { CommitRange, GitSide } from '../../../shared/run-diff';

export interface LocalBackendOptions {
  summaries: SummaryStore;
  /** The open workspace, searched for new experiments while watches are on (when it is a local one). */
  workspace?: () => OpenWorkspace | null;
  /** Where watch events go; without it, watching is refused. */
  sink?: BackendSink;
}

const same = (text: string): string => text;

export class LocalBackend extends WatchingBackend<ExperimentWatcher> implements ExperimentBackend {
  readonly kind = 'local';
  readonly treeCheckedAtLaunch = false;
  /** SLURM jobs' state from their scheduler (one query a listing, at most every 15 s). */
  private readonly slurm = SlurmOverlay.local();

  constructor(private readonly options: LocalBackendOptions) {
    super(options);
  }

  normalize(location: string): string {
    return path.resolve(location);
  }

  async list(root: string, opts?: ListOptions): Promise<WorkspaceListing> {
    const listing = await listWorkspace(path.resolve(root), this.options.summaries, opts);
    return { ...listing, experiments: await this.slurm.apply(listing.experiments) };
  }

  async details(locations: string[]): Promise<ExperimentDetail[]> {
    const details = await mapLimited(locations, 8, (l) =>
      readExperimentDetail(path.resolve(l), this.options.summaries),
    );
    const summaries = await this.slurm.apply(
      details.map((d) => d.summary),
      true,
    );
    return details.map((d, i) => ({ ...d, summary: summaries[i]! }));
  }

  async annotate(locations: string[], change: AnnotationChange): Promise<Annotations[]> {
    const out: Annotations[] = [];
    for (const l of locations) out.push(await annotateExperiment(path.resolve(l), change));
    return out;
  }

  async localMetrics(locations: string[]): Promise<LocalMetrics[]> {
    return locations.map((l) => ({ dir: path.resolve(l), reset: false }));
  }

  async localSystemMetrics(locations: string[], node?: string): Promise<LocalStream[]> {
    return Promise.all(
      locations.map(async (l) => {
        const dir = path.resolve(l);
        const file = path.join(dir, LAYOUT.logs, systemFileName(node));
        // Confined: a system.jsonl linked out of the experiment is refused, never read.
        await resolveInside(dir, file).catch((err: unknown) => {
          if (err instanceof ConfinementError && err.problem === 'missing') return;
          throw new ExpdeskError('forbidden', (err as Error).message);
        });
        return { file, reset: false };
      }),
    );
  }

  async watch(subscription: string, locations: string[]): Promise<void> {
    await this.watcherFor().watch(locations, subscription);
  }

  readFile(location: string, maxBytes?: number): Promise<BackendFileText> {
    return readExperimentFile(location, maxBytes);
  }

  async listConfigs(root: string): Promise<{ root: string; files: Array<{ path: string; rel: string }> }> {
    const project = await projectRootOf(root);
    return { root: project, files: await listConfigFiles(project) };
  }

  async readConfig(file: string, workspace: OpenWorkspace | null): Promise<string> {
    return readConfigFile(file, await this.project(workspace));
  }

  async writeConfig(file: string, text: string, workspace: OpenWorkspace | null): Promise<void> {
    await writeConfigFile(file, text, await this.project(workspace));
  }

  async composeSource(file: string, workspace: OpenWorkspace | null): Promise<ComposeSource> {
    return { root: await this.project(workspace), file, locate: same, text: same, cleanup: () => undefined };
  }

  async projectGit(root: string): Promise<WorkingTree | null> {
    const project = await projectRootOf(root);
    return workingTree(project, [path.join(project, 'experiments')]);
  }

  commitsBetween(a: GitSide, b: GitSide): Promise<CommitRange> {
    return localCommitsBetween(a, b);
  }

  async exportSource(location: string): Promise<ExportSource> {
    return {
      expDir: path.resolve(location),
      repository: null,
      leftOut: [],
      text: same,
      cleanup: () => undefined,
    };
  }

  /** The open (local) project: what config files and composing are confined to. */
  private async project(workspace: OpenWorkspace | null): Promise<string> {
    if (!workspace)
      throw new ExpdeskError('bad-request', 'no workspace is open: open a project folder first');
    if (workspace.backend !== this)
      throw new ExpdeskError(
        'forbidden',
        `the open project is on a remote machine (${workspace.location}): this file is not in it`,
      );
    return projectRootOf(workspace.location);
  }

  protected makeWatcher(sink: BackendSink, workspace: () => string | null): ExperimentWatcher {
    return new ExperimentWatcher({ summaries: this.options.summaries, workspace, sink });
  }
}
