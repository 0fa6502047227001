/**
 * Everything that happens before a run's command starts: compose and freeze
 * the config, name and create the experiment folder (atomically: two runs
 * started in the same second never collide), and capture what makes the run
 * reproducible — git state and the uncommitted patch, the interpreter's
 * versions, pip freeze (and conda), the machine — into metadata.json,
 * requirements.txt, uncommitted.patch and reproduce.sh. Probes run in
 * parallel; each has a timeout.
 */
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getPath, isMap } from '../../../shared/config/tree';
import {
  DEFAULT_KEY_HYPERPARAMETERS,
  experimentBaseName,
  experimentName,
  nextExperimentNumber,
  safeNamePart,
  type KeyHyperparameter,
} from '../../../shared/naming';
import { expdeskVersion } from '../app/paths';
import { composeConfig, freezeConfig, type ComposedConfig } from '../configs/compose';
import {
  DEFAULT_PATCH_LIMIT_BYTES,
  gitInfo,
  writeUncommittedPatch,
  type GitInfo,
  type PatchResult,
} from '../capture/git';
import { condaExport, pipFreeze, probePython, type PythonInfo } from '../capture/python';
import { recordedEnvironment, systemInfo, type SystemInfo } from '../capture/system';
import { reproduceScript, shellJoin } from './reproduce';
import { ExpdeskError } from '../../../shared/errors';

export interface RunRequest {
  /** Where experiments live: a folder of experiments, or a project root (its experiments/ is used). */
  workspace: string;
  /** The config file to compose. */
  configFile: string;
  /** When set, the config and its defaults must lie inside this folder (the open project). */
  configRoot?: string;
  overrides?: string[];
  /** The command; `{config}` is replaced by the frozen config's path, `{seed}` by the seed. */
  command: string[];
  /** Folder the command runs in (the project): default the workspace's project root. */
  cwd?: string;
  name?: string;
  seed?: number;
  /** The interpreter the run uses; default: the command's first word when it is a python, else python3. */
  python?: string;
  /** Refuse to launch on a dirty working tree. */
  refuseDirty?: boolean;
  patchLimitBytes?: number;
  keyHyperparameters?: Record<string, KeyHyperparameter[]>;
  /** Injected clock for names (tests). */
  now?: Date;
}

export interface PreparedRun {
  expDir: string;
  name: string;
  configPath: string;
  command: string[];
  cwd: string;
  seed: number;
  env: Record<string, string>;
  metadata: Record<string, unknown>;
  warnings: string[];
}

export class LaunchError extends ExpdeskError {
  constructor(message: string) {
    super('bad-request', message);
  }
}

/** The folder new experiments go into. */
export function experimentsDirOf(workspace: string): string {
  const dir = path.resolve(workspace);
  return path.basename(dir) === 'experiments' ? dir : path.join(dir, 'experiments');
}

/** The project folder a workspace belongs to (where commands run by default). */
function projectDirOf(workspace: string): string {
  const dir = path.resolve(workspace);
  return path.basename(dir) === 'experiments' ? path.dirname(dir) : dir;
}

/** Create expNNN_<base> atomically: mkdir fails if it exists, and the next number is tried. */
export function createExperimentFolder(
  experimentsDir: string,
  base: string,
  explicitName?: string,
): { dir: string; name: string } {
  mkdirSync(experimentsDir, { recursive: true });
  if (explicitName) {
    const name = safeNamePart(explicitName);
    if (!name)
      throw new LaunchError(
        `--name ${JSON.stringify(explicitName)} has no character usable in a folder name`,
      );
    const dir = path.join(experimentsDir, name);
    try {
      mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw new LaunchError(`an experiment named ${name} already exists in ${experimentsDir}`);
      throw err;
    }
    return { dir, name };
  }
  let n = nextExperimentNumber(readdirSync(experimentsDir));
  for (let attempt = 0; attempt < 1000; attempt++, n++) {
    const name = experimentName(n, base);
    const dir = path.join(experimentsDir, name);
    try {
      mkdirSync(dir); // atomic: exactly one creator wins
      return { dir, name };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new LaunchError(`could not find a free experiment number in ${experimentsDir}`);
}

async function writeAtomic(file: string, data: string | Buffer, mode = 0o644): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomInt(1e9)}`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, file);
}

/** Python's datetime.now().isoformat(): local time, microseconds, no zone — the seed's started_at. */
export function pythonIsoNow(d = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000`;
}

const SEED_KEYS = ['seed', 'training.seed', 'experiment.seed'];

export function chooseSeed(
  composed: ComposedConfig,
  requested: number | undefined,
): { seed: number; overrides: string[] } {
  const present = SEED_KEYS.filter((k) => typeof getPath(composed.config, k) === 'number');
  if (requested !== undefined) return { seed: requested, overrides: present.map((k) => `${k}=${requested}`) };
  const fromConfig = present.map((k) => getPath(composed.config, k) as number)[0];
  return { seed: fromConfig ?? randomInt(2 ** 31), overrides: [] };
}

export function interpreterOf(command: string[], explicit?: string): string {
  if (explicit) return explicit;
  const first = command[0] ?? '';
  return /(^|\/)python[\d.]*$/.test(first) ? first : 'python3';
}

export async function prepareRun(req: RunRequest): Promise<PreparedRun> {
  if (req.command.length === 0)
    throw new LaunchError('no command given: put it after --, e.g. -- python train.py {config}');
  const cwd = path.resolve(req.cwd ?? projectDirOf(req.workspace));
  if (!existsSync(cwd)) throw new LaunchError(`the project folder ${cwd} does not exist`);
  const startedAt = req.now ?? new Date();

  // Compose first: a bad config must fail before anything is created.
  let composed = composeConfig(req.configFile, { overrides: req.overrides, root: req.configRoot });
  const seedChoice = chooseSeed(composed, req.seed);
  if (seedChoice.overrides.length) {
    composed = composeConfig(req.configFile, {
      overrides: [...(req.overrides ?? []), ...seedChoice.overrides],
      root: req.configRoot,
    });
  }
  const python = interpreterOf(req.command, req.python);

  // The probes do not depend on the folder: start them now, in parallel.
  // The experiments folder is output, not code: it never counts as a change.
  const experimentsDir = experimentsDirOf(req.workspace);
  const gitP = gitInfo(cwd, [experimentsDir]);
  const pyP = probePython(python, cwd);
  const freezeP = pipFreeze(python, cwd);
  const sysP = systemInfo();

  const git: GitInfo = await gitP;
  const warnings: string[] = [];
  if (git.git_dirty && git.root) {
    if (req.refuseDirty) {
      throw new LaunchError(
        `the working tree of ${git.root} has uncommitted changes; commit them or launch without --refuse-dirty`,
      );
    }
    warnings.push(
      '⚠️  WARNING: Git working directory has uncommitted changes! They are recorded in uncommitted.patch.',
    );
  } else if (!git.root) {
    warnings.push(`⚠️  WARNING: ${cwd} is not in a git repository: the code version cannot be recorded.`);
  }

  const base = experimentBaseName(
    composed.config,
    startedAt,
    req.keyHyperparameters ?? DEFAULT_KEY_HYPERPARAMETERS,
  );
  const { dir: expDir, name } = createExperimentFolder(experimentsDir, base, req.name);
  await Promise.all(
    ['checkpoints', 'logs', 'outputs'].map((d) => mkdir(path.join(expDir, d), { recursive: true })),
  );

  const frozen = freezeConfig(composed, { name, outputDir: expDir });
  const configPath = path.join(expDir, 'config.yaml');
  await writeAtomic(configPath, frozen.text);

  const patchP: Promise<PatchResult | null> =
    git.root && git.git_hash !== 'unknown'
      ? writeUncommittedPatch(
          git.root,
          path.join(expDir, 'uncommitted.patch'),
          req.patchLimitBytes ?? DEFAULT_PATCH_LIMIT_BYTES,
          [experimentsDir],
        )
      : Promise.resolve(null);
  const [py, freeze, sys, patch] = await Promise.all([pyP, freezeP, sysP, patchP]);
  const conda = await condaExport(py, cwd);

  const seed = seedChoice.seed;
  const command = req.command.map((a) =>
    a.replaceAll('{config}', configPath).replaceAll('{seed}', String(seed)),
  );
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, {
    EXPDESK_EXPERIMENT_DIR: expDir,
    EXPDESK_CONFIG: configPath,
    EXPDESK_SEED: String(seed),
    PYTHONUNBUFFERED: '1',
  });

  warnings.push(...captureWarnings(python, py, freeze, patch));

  const metadata = buildMetadata({
    name,
    startedAt: pythonIsoNow(startedAt),
    git,
    py,
    sys,
    patch,
    command,
    commandTemplate: req.command,
    seed,
    cwd,
    configSource: path.resolve(req.configFile),
    configFiles: composed.files,
    overrides: req.overrides ?? [],
    env,
    warnings,
  });
  await writeAtomic(path.join(expDir, 'metadata.json'), JSON.stringify(metadata, null, 2) + '\n');
  await writeAtomic(path.join(expDir, 'requirements.txt'), freeze.text);
  if (conda !== null) await writeAtomic(path.join(expDir, 'conda_env.txt'), conda);
  await writeAtomic(
    path.join(expDir, 'reproduce.sh'),
    reproduceScript({
      name,
      gitHash: git.git_hash,
      gitRoot: git.root,
      gitRemote: git.git_remote,
      relativeCwd: git.root ? path.relative(git.root, cwd) : '',
      commandTemplate: req.command,
      seed,
      hasPatch: Boolean(patch && patch.bytes > 0),
      python,
      generatedAt: metadata.started_at as string,
    }),
    0o755,
  );
  if (!isMap(frozen.config)) throw new LaunchError('internal: frozen config is not a map');
  return { expDir, name, configPath, command, cwd, seed, env, metadata, warnings };
}

export { experimentsDirOf as experimentsFolder };

/** Warnings about what the capture could not record. */
export function captureWarnings(
  python: string,
  py: PythonInfo,
  freeze: { error?: string },
  patch: PatchResult | null,
): string[] {
  const warnings: string[] = [];
  if (py.error) warnings.push(`could not probe ${python}: ${py.error}`);
  if (freeze.error) warnings.push(freeze.error);
  if (patch && !patch.complete) {
    warnings.push(
      patch.error
        ? `the uncommitted changes could not be fully recorded: ${patch.error}`
        : `uncommitted.patch is over its size limit: ${patch.omitted.length} file(s) left out (listed in metadata.json)`,
    );
  }
  return warnings;
}

export interface MetadataInputs {
  name: string;
  /** Python's datetime.now().isoformat() on the machine the run starts on. */
  startedAt: string;
  git: GitInfo;
  py: PythonInfo;
  sys: SystemInfo;
  patch: PatchResult | null;
  command: string[];
  commandTemplate: string[];
  seed: number;
  cwd: string;
  configSource: string;
  configFiles: string[];
  overrides: string[];
  /** The run's environment; only an allow-list of it is recorded. */
  env: Record<string, string>;
  warnings: string[];
  /** Extra fields after the standard ones (remote runs say where they ran). */
  extra?: Record<string, unknown>;
}

/** metadata.json: the seed's fields first, in the seed's order, then what Expdesk adds. */
export function buildMetadata(m: MetadataInputs): Record<string, unknown> {
  const { git, py, sys, patch } = m;
  return {
    // The seed's ExperimentMetadata, same names, same order.
    name: m.name,
    started_at: m.startedAt,
    git_hash: git.git_hash,
    git_branch: git.git_branch,
    git_dirty: git.git_dirty,
    python_version: py.python_version,
    torch_version: py.torch_version,
    cuda_version: py.cuda_version,
    hostname: sys.hostname,
    command: shellJoin(m.command),
    // What Expdesk adds.
    seed: m.seed,
    command_argv: m.command,
    command_template: m.commandTemplate,
    cwd: m.cwd,
    config_source: m.configSource,
    config_files: m.configFiles,
    overrides: m.overrides,
    python_executable: py.python_executable,
    git_remote: git.git_remote,
    git_root: git.root,
    uncommitted_patch: patch
      ? {
          file: 'uncommitted.patch',
          bytes: patch.bytes,
          files: patch.files,
          complete: patch.complete,
          omitted: patch.omitted,
          error: patch.error ?? null,
        }
      : null,
    os: sys.os,
    cpu: sys.cpu,
    memory_bytes: sys.memory_bytes,
    gpus: sys.gpus,
    env: recordedEnvironment(m.env),
    expdesk_version: expdeskVersion(),
    ...m.extra,
    capture_warnings: m.warnings,
  };
}
