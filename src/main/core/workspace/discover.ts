/**
 * Finding experiments under a folder the user opened. Three shapes are
 * accepted: a folder of experiments (a project's experiments/), a project root
 * that holds an experiments/ folder, or a single experiment folder. One extra
 * level is searched so grouped sweeps (experiments/sweep1/exp…) are found.
 * Read-only: only stat and readdir.
 */
import path from 'node:path';
import { mapLimited, readDirents, statFile } from './fast-fs';
import { statSig } from './fs-batch';
import { EXPERIMENT_MARKERS } from './layout';
import { ExpdeskError } from '../../../shared/errors';

export type WorkspaceKind = 'experiments-folder' | 'project-root' | 'single-experiment';

export class WorkspaceError extends ExpdeskError {
  constructor(
    override readonly code: 'not-found' | 'bad-request' | 'forbidden',
    message: string,
  ) {
    super(code, message);
    this.name = 'WorkspaceError';
  }
}

export interface Discovery {
  root: string;
  experimentsDir: string;
  kind: WorkspaceKind;
  experiments: string[];
}

/** Folders checked at once: enough to overlap I/O, few enough to bound open requests. */
const CONCURRENCY = 32;

/** Folders never searched: they hold no experiments and can be huge. */
const SKIP = new Set(['node_modules', '.git', 'checkpoints', 'logs', 'outputs', '__pycache__', 'wandb']);

/** Whether discovery looks into a folder of this name (the watcher's new-folder scan uses the same rule). */
export function isSearchedDirName(name: string): boolean {
  return !name.startsWith('.') && !SKIP.has(name);
}

async function exists(p: string): Promise<boolean> {
  return (await statSig(p).catch(() => null)) !== null;
}

export async function isExperimentDir(dir: string): Promise<boolean> {
  for (const marker of EXPERIMENT_MARKERS) {
    if (await exists(path.join(dir, marker))) return true;
  }
  return false;
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readDirents(dir);
  return entries
    .filter((e) => e.isDirectory() && isSearchedDirName(e.name))
    .map((e) => path.join(dir, e.name))
    .sort((a, b) => a.localeCompare(b));
}

/** The experiments among these folders, in their order. */
async function experimentsAmong(dirs: string[]): Promise<string[]> {
  const is = await mapLimited(dirs, CONCURRENCY, isExperimentDir);
  return dirs.filter((_, i) => is[i]);
}

/** Experiments directly under dir, and one level below for grouped sweeps (checked in parallel, order kept). */
async function experimentsUnder(dir: string): Promise<string[]> {
  const children = await subdirs(dir);
  const is = await mapLimited(children, CONCURRENCY, isExperimentDir);
  const found: string[][] = [];
  for (let i = 0; i < children.length; i++) {
    if (is[i]) found.push([children[i]!]);
    else found.push(await experimentsAmong(await subdirs(children[i]!).catch(() => [])));
  }
  return found.flat();
}

function describeFsError(err: unknown, dir: string): WorkspaceError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new WorkspaceError('not-found', `no such folder: ${dir}`);
  if (code === 'EACCES' || code === 'EPERM')
    return new WorkspaceError('forbidden', `cannot read ${dir}: permission denied`);
  if (code === 'ENOTDIR') return new WorkspaceError('bad-request', `not a folder: ${dir}`);
  return new WorkspaceError('bad-request', `cannot read ${dir}: ${(err as Error).message}`);
}

export async function discoverExperiments(root: string): Promise<Discovery> {
  const dir = path.resolve(root);
  try {
    const st = await statFile(dir);
    if (!st.isDirectory()) throw new WorkspaceError('bad-request', `not a folder: ${dir}`);
    if (await isExperimentDir(dir)) {
      return { root: dir, experimentsDir: dir, kind: 'single-experiment', experiments: [dir] };
    }
    const nested = path.join(dir, 'experiments');
    if (await exists(nested)) {
      const experiments = await experimentsUnder(nested);
      if (experiments.length > 0)
        return { root: dir, experimentsDir: nested, kind: 'project-root', experiments };
    }
    const experiments = await experimentsUnder(dir);
    if (experiments.length === 0) {
      throw new WorkspaceError(
        'not-found',
        `${dir} holds no experiment (no folder with config.yaml, metadata.json or logs/metrics.jsonl)`,
      );
    }
    return { root: dir, experimentsDir: dir, kind: 'experiments-folder', experiments };
  } catch (err) {
    if (err instanceof WorkspaceError) throw err;
    throw describeFsError(err, dir);
  }
}
