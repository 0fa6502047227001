/**
 * The project's config files, for the config editor: listing configs/,
 * reading one, saving one. Only YAML files inside the open project are
 * touched (real paths compared, so a symlink cannot lead out), and a save
 * never lands in an experiment folder: frozen configs are records of what ran.
 * Saves are atomic (a temp file in the same folder, then rename), so a run
 * starting at that moment reads the old file or the new one, never half.
 */
import { randomBytes } from 'node:crypto';
import { lstat, readdir, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readRegularText } from '../fs/safe-read';
import { isExperimentDir, WorkspaceError } from '../workspace/discover';
import { isInside } from '../fs/confine';

const CONFIG_EXT = /\.ya?ml$/i;
/** configs/ trees are small; these bound a pathological one (or a symlink loop, which is not followed). */
const MAX_DEPTH = 8;
const MAX_FILES = 5000;
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/**
 * The project a workspace belongs to: the workspace itself when it holds
 * configs/ or experiments/, the parent of an experiments/ folder, or the
 * project above a single experiment (…/experiments/expNNN).
 */
export async function projectRootOf(workspace: string): Promise<string> {
  const root = path.resolve(workspace);
  if ((await isDir(path.join(root, 'configs'))) || (await isDir(path.join(root, 'experiments')))) return root;
  if (path.basename(root) === 'experiments') return path.dirname(root);
  const parent = path.dirname(root);
  if (path.basename(parent) === 'experiments' && (await isExperimentDir(root))) return path.dirname(parent);
  return root;
}

export interface ConfigFileEntry {
  path: string;
  /** Relative to the project root, with forward slashes (configs/dpo/beta.yaml). */
  rel: string;
}

export async function listConfigFiles(project: string): Promise<ConfigFileEntry[]> {
  const configs = path.join(project, 'configs');
  const found: ConfigFileEntry[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH || found.length >= MAX_FILES) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.name.startsWith('.') || found.length >= MAX_FILES) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p, depth + 1);
      else if (CONFIG_EXT.test(e.name) && (e.isFile() || (e.isSymbolicLink() && (await isFile(p))))) {
        found.push({ path: p, rel: path.relative(project, p).split(path.sep).join('/') });
      }
    }
  };
  await walk(configs, 0);
  return found.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** The real path of a config file (existing or to be created) inside the project, or an error saying why not. */
async function resolveInProject(file: string, project: string, forWrite: boolean): Promise<string> {
  const requested = path.resolve(file);
  if (!CONFIG_EXT.test(requested)) {
    throw new WorkspaceError('bad-request', `only .yaml and .yml files are configs: ${requested}`);
  }
  const projectReal = await realpath(project).catch(() => {
    throw new WorkspaceError('not-found', `the project folder is gone: ${project}`);
  });
  let real: string;
  try {
    real = await realpath(requested);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' || !forWrite) {
      throw new WorkspaceError(code === 'ENOENT' ? 'not-found' : 'bad-request', `cannot open ${requested}`);
    }
    // A new file: its folder must exist (and be inside the project); the name is taken as given.
    const dirReal = await realpath(path.dirname(requested)).catch(() => {
      throw new WorkspaceError('not-found', `no such folder: ${path.dirname(requested)}`);
    });
    // A dangling symlink would make rename replace the link, not write where it points: refuse it.
    if (
      await lstat(requested).then(
        () => true,
        () => false,
      )
    ) {
      throw new WorkspaceError('forbidden', `${requested} is a link to a missing file`);
    }
    real = path.join(dirReal, path.basename(requested));
  }
  if (!isInside(real, projectReal)) {
    throw new WorkspaceError('forbidden', `${requested} is outside the open project (${project})`);
  }
  return real;
}

export async function readConfigFile(file: string, project: string): Promise<string> {
  const real = await resolveInProject(file, project, false);
  const st = await stat(real);
  if (!st.isFile()) throw new WorkspaceError('bad-request', `not a file: ${file}`);
  if (st.size > MAX_CONFIG_BYTES) {
    throw new WorkspaceError('bad-request', `${file} is ${st.size} bytes: too large for a config`);
  }
  // Opened without blocking and only if still a regular file (it may have been swapped since the stat).
  return readRegularText(real, { maxBytes: MAX_CONFIG_BYTES, label: file });
}

export async function writeConfigFile(file: string, text: string, project: string): Promise<string> {
  const real = await resolveInProject(file, project, true);
  const projectReal = await realpath(project);
  const rel = path.relative(projectReal, real).split(path.sep);
  if (rel[0] === 'experiments') {
    throw new WorkspaceError(
      'forbidden',
      `${file} is in the experiments folder: frozen configs are not edited`,
    );
  }
  // Any folder between the file and the project that is an experiment (a single-experiment workspace too).
  for (
    let dir = path.dirname(real);
    dir === projectReal || isInside(dir, projectReal);
    dir = path.dirname(dir)
  ) {
    if (await isExperimentDir(dir)) {
      throw new WorkspaceError(
        'forbidden',
        `${file} is inside the experiment ${dir}: frozen configs are not edited`,
      );
    }
    if (dir === projectReal) break;
  }
  const existing = await stat(real).catch(() => null);
  if (existing && !existing.isFile()) throw new WorkspaceError('bad-request', `not a file: ${file}`);
  const tmp = path.join(path.dirname(real), `.${path.basename(real)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    // Keep the file's permissions (a group-writable config stays so).
    await writeFile(tmp, text, { mode: existing ? existing.mode & 0o7777 : 0o644, flag: 'wx' });
    await rename(tmp, real);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new WorkspaceError('forbidden', `cannot write ${file}: ${(err as Error).message}`);
    }
    throw err;
  }
  return real;
}
