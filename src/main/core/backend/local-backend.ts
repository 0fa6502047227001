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
import type { WorkingTree } from '../capture/git';
import type { SummaryStore } from '../summary/summary-store';
import { SlurmOverlay } from '../runs/slurm-overlay';
import type { ExperimentWatcher } from '../watch/experiment-watcher';
import { ConfinementError, resolveInside } from '../fs/confine';
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
import type { CommitRange, GitSide } from '../../../shared/run-diff';

// What only some requests need (details, configs, git, the watcher, run diffs with their `tar`) is
// imported by the method that needs it: `expdesk list` loads the listing and nothing else.
const configFiles = (): Promise<typeof import('../configs/config-files')> =>
  import('../configs/config-files');

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
  /** The watcher's class, loaded by the first watch (makeWatcher is synchronous). */
  private Watcher: typeof ExperimentWatcher | null = null;

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
    const { readExperimentDetail } = await import('../workspace/experiment');
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
    this.Watcher ??= (await import('../watch/experiment-watcher')).ExperimentWatcher;
    await this.watcherFor().watch(locations, subscription);
  }

  async readFile(location: string, maxBytes?: number): Promise<BackendFileText> {
    return (await import('../workspace/file-access')).readExperimentFile(location, maxBytes);
  }

  async listConfigs(root: string): Promise<{ root: string; files: Array<{ path: string; rel: string }> }> {
    const { listConfigFiles, projectRootOf } = await configFiles();
    const project = await projectRootOf(root);
    return { root: project, files: await listConfigFiles(project) };
  }

  async readConfig(file: string, workspace: OpenWorkspace | null): Promise<string> {
    return (await configFiles()).readConfigFile(file, await this.project(workspace));
  }

  async writeConfig(file: string, text: string, workspace: OpenWorkspace | null): Promise<void> {
    await (await configFiles()).writeConfigFile(file, text, await this.project(workspace));
  }

  async composeSource(file: string, workspace: OpenWorkspace | null): Promise<ComposeSource> {
    return { root: await this.project(workspace), file, locate: same, text: same, cleanup: () => undefined };
  }

  async projectGit(root: string): Promise<WorkingTree | null> {
    const [{ projectRootOf }, { workingTree }] = await Promise.all([configFiles(), import('../capture/git')]);
    const project = await projectRootOf(root);
    return workingTree(project, [path.join(project, 'experiments')]);
  }

  async commitsBetween(a: GitSide, b: GitSide): Promise<CommitRange> {
    return (await import('./run-diff')).localCommitsBetween(a, b);
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
    return (await configFiles()).projectRootOf(workspace.location);
  }

  protected makeWatcher(sink: BackendSink, workspace: () => string | null): ExperimentWatcher {
    // watch() loaded the class before its first watcherFor().
    return new this.Watcher!({ summaries: this.options.summaries, workspace, sink });
  }
}
