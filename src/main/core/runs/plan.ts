/**
 * A run's plan: everything about a launch that can be decided before the
 * target (this machine, an SSH host, a scheduler) is touched — the composed
 * config, the seed, the interpreter, the naming rule, the command template,
 * what the metadata says — computed once, by one function, for every target.
 *
 * planRun() is pure: the only I/O planning needs (reading the config files)
 * is gathered by planContext() and passed in, with the clock and the random
 * seed. What a target decides (the folder's number, its clock, its git state
 * and interpreter) is put together with the plan by the pure functions below
 * (placeRun, gitWarnings, runMetadata, runReproduceScript), so a local and a
 * remote launch write the same files from the same plan. Executors
 * (./executor.ts) carry plans out.
 */
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { getPath } from '../../../shared/config/tree';
import {
  DEFAULT_KEY_HYPERPARAMETERS,
  experimentBaseName,
  safeNamePart,
  timestampPart,
  type KeyHyperparameter,
} from '../../../shared/naming';
import { ExpdeskError } from '../../../shared/errors';
import { expdeskVersion } from '../app/paths';
import { composeConfig, freezeConfig, type ComposedConfig } from '../configs/compose';
import type { GitInfo, PatchResult } from '../capture/git';
import type { PythonInfo } from '../capture/python';
import { recordedEnvironment, type SystemInfo } from '../capture/system';
import { reproduceScript, shellJoin } from './reproduce';

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
  /** Seconds between the wrapper's samples of the machine (logs/system.jsonl); 0 turns them off. Default 10. */
  systemInterval?: number;
}

export class LaunchError extends ExpdeskError {
  constructor(message: string) {
    super('bad-request', message);
  }
}

/** The one text of the dirty-tree warning, for every target. */
export const DIRTY_TREE_WARNING =
  '⚠️  WARNING: Git working directory has uncommitted changes! They are recorded in uncommitted.patch.';

/** The run plan: what a launch decides before touching its target. Plain data. */
export interface RunPlan {
  /** The workspace on the target (a project root or its experiments/ folder), as requested. */
  workspace: string;
  /** The folder the command runs in on the target, as requested; null: the workspace's project folder. */
  cwd: string | null;
  /** The config, composed with the request's overrides and the seed's. */
  composed: ComposedConfig;
  seed: number;
  /** The interpreter probed and recorded (python version, pip freeze). */
  python: string;
  naming: {
    /** --name, made safe for a folder name; null: expNNN_<base> numbered by the target. */
    explicit: string | null;
    /** The base name with this machine's clock (MMDD_HHMM) at its end. */
    full: string;
    /** The base name for a target that appends its own clock: `full` without this machine's stamp. */
    unstamped: string;
  };
  /** The command as given: `{config}` and `{seed}` are replaced once the folder is known (placeRun). */
  commandTemplate: string[];
  overrides: string[];
  /** The config file and every file composed, as metadata.json names them. */
  configSource: string;
  configFiles: string[];
  refuseDirty: boolean;
  patchLimitBytes: number | null;
  /** When the launch was asked for (names, started_at of a local run). */
  startedAt: Date;
  /** Warnings known before the target is touched. */
  warnings: string[];
  /** Seconds between the wrapper's system samples (logs/system.jsonl); 0: none. Every executor passes it on. */
  systemInterval: number;
}

/** The I/O and chance planning needs, gathered beforehand (planContext) or given by a test. */
export interface PlanContext {
  /** The request's config composed with these overrides (reads the config files; throws ConfigError). */
  compose: (overrides: string[]) => ComposedConfig;
  now: Date;
  /** The seed used when neither the request nor the config sets one. */
  randomSeed: number;
  /** How config files are named in metadata.json (a remote project's configs are composed from local copies). */
  configLabel?: (file: string) => string;
}

/** Gather what planRun needs: config files read from disk, the clock, a random seed. */
export function planContext(
  req: RunRequest,
  extra: { configLabel?: (file: string) => string } = {},
): PlanContext {
  const cache = new Map<string, ComposedConfig>();
  return {
    compose: (overrides) => {
      const key = JSON.stringify(overrides);
      let composed = cache.get(key);
      if (!composed) {
        composed = composeConfig(req.configFile, { overrides, root: req.configRoot });
        cache.set(key, composed);
      }
      return composed;
    },
    now: req.now ?? new Date(),
    randomSeed: randomInt(2 ** 31),
    configLabel: extra.configLabel,
  };
}

const SEED_KEYS = ['seed', 'training.seed', 'experiment.seed'];

export function chooseSeed(
  composed: ComposedConfig,
  requested: number | undefined,
  randomSeed: number = randomInt(2 ** 31),
): { seed: number; overrides: string[] } {
  const present = SEED_KEYS.filter((k) => typeof getPath(composed.config, k) === 'number');
  if (requested !== undefined) return { seed: requested, overrides: present.map((k) => `${k}=${requested}`) };
  const fromConfig = present.map((k) => getPath(composed.config, k) as number)[0];
  return { seed: fromConfig ?? randomSeed, overrides: [] };
}

export function interpreterOf(command: string[], explicit?: string): string {
  if (explicit) return explicit;
  const first = command[0] ?? '';
  return /(^|\/)python[\d.]*$/.test(first) ? first : 'python3';
}

/** The plan of a launch. Pure: the same request and context give the same plan. Throws before anything exists. */
export function planRun(req: RunRequest, ctx: PlanContext): RunPlan {
  if (req.command.length === 0)
    throw new LaunchError('no command given: put it after --, e.g. -- python train.py {config}');
  // Compose first: a bad config must fail before anything is created.
  const overrides = req.overrides ?? [];
  let composed = ctx.compose(overrides);
  const seedChoice = chooseSeed(composed, req.seed, ctx.randomSeed);
  if (seedChoice.overrides.length) composed = ctx.compose([...overrides, ...seedChoice.overrides]);
  let explicit: string | null = null;
  if (req.name) {
    explicit = safeNamePart(req.name);
    if (!explicit)
      throw new LaunchError(`--name ${JSON.stringify(req.name)} has no character usable in a folder name`);
  }
  const full = experimentBaseName(
    composed.config,
    ctx.now,
    req.keyHyperparameters ?? DEFAULT_KEY_HYPERPARAMETERS,
  );
  const suffix = `_${timestampPart(ctx.now)}`;
  const label = ctx.configLabel ?? ((f: string): string => f);
  return {
    workspace: req.workspace,
    cwd: req.cwd ?? null,
    composed,
    seed: seedChoice.seed,
    python: interpreterOf(req.command, req.python),
    naming: { explicit, full, unstamped: full.endsWith(suffix) ? full.slice(0, -suffix.length) : full },
    commandTemplate: [...req.command],
    overrides: [...overrides],
    configSource: label(path.resolve(req.configFile)),
    configFiles: composed.files.map(label),
    refuseDirty: Boolean(req.refuseDirty),
    patchLimitBytes: req.patchLimitBytes ?? null,
    startedAt: ctx.now,
    warnings: [],
    systemInterval: systemIntervalOf(req.systemInterval),
  };
}

/** The wrapper's default: a sample of the machine every 10 s. */
export const DEFAULT_SYSTEM_INTERVAL = 10;

function systemIntervalOf(requested: number | undefined): number {
  const s = requested ?? DEFAULT_SYSTEM_INTERVAL;
  if (!Number.isFinite(s) || s < 0)
    throw new LaunchError(`--system-interval must be 0 (off) or a number of seconds, not ${requested}`);
  return s;
}

/** A plan put in its folder on the target: what the run is given. */
export interface PlacedRun {
  name: string;
  expDir: string;
  configPath: string;
  /** config.yaml's text: the composed config frozen with the run's name and folder. */
  frozenConfig: string;
  /** The command with `{config}` and `{seed}` replaced. */
  command: string[];
  /** What the run's environment adds to the target's. */
  env: Record<string, string>;
}

/** Place a plan in the folder the target made (`join`: the target's path join). Pure. */
export function placeRun(
  plan: RunPlan,
  where: { name: string; expDir: string; join: (dir: string, file: string) => string },
): PlacedRun {
  const configPath = where.join(where.expDir, 'config.yaml');
  const frozen = freezeConfig(plan.composed, { name: where.name, outputDir: where.expDir });
  return {
    name: where.name,
    expDir: where.expDir,
    configPath,
    frozenConfig: frozen.text,
    command: plan.commandTemplate.map((a) =>
      a.replaceAll('{config}', configPath).replaceAll('{seed}', String(plan.seed)),
    ),
    env: {
      EXPDESK_EXPERIMENT_DIR: where.expDir,
      EXPDESK_CONFIG: configPath,
      EXPDESK_SEED: String(plan.seed),
      PYTHONUNBUFFERED: '1',
    },
  };
}

/**
 * What the target's git state means for the launch: the refusal of a dirty
 * tree when asked, else its warnings. `where` names the command's folder
 * (with its host for a remote target).
 */
export function gitWarnings(plan: RunPlan, git: GitInfo, where: string): string[] {
  if (git.git_dirty && git.root) {
    if (plan.refuseDirty)
      throw new LaunchError(
        `the working tree of ${git.root} has uncommitted changes; commit them or launch without --refuse-dirty`,
      );
    return [DIRTY_TREE_WARNING];
  }
  if (!git.root)
    return [`⚠️  WARNING: ${where} is not in a git repository: the code version cannot be recorded.`];
  return [];
}

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

/** What the target captured where the run executes. */
export interface TargetCapture {
  /** Python's datetime.now().isoformat() on the machine the run starts on. */
  startedAt: string;
  /** The folder the command runs in, on the target. */
  cwd: string;
  git: GitInfo;
  py: PythonInfo;
  sys: SystemInfo;
  patch: PatchResult | null;
  /** The target's environment (only an allow-list of it is recorded). */
  env: Record<string, string>;
}

/** metadata.json of a placed plan. Pure. */
export function runMetadata(
  plan: RunPlan,
  placed: PlacedRun,
  capture: TargetCapture,
  warnings: string[],
  extra?: Record<string, unknown>,
): Record<string, unknown> {
  return buildMetadata({
    name: placed.name,
    startedAt: capture.startedAt,
    git: capture.git,
    py: capture.py,
    sys: capture.sys,
    patch: capture.patch,
    command: placed.command,
    commandTemplate: plan.commandTemplate,
    seed: plan.seed,
    cwd: capture.cwd,
    configSource: plan.configSource,
    configFiles: plan.configFiles,
    overrides: plan.overrides,
    env: { ...capture.env, ...placed.env },
    warnings,
    extra,
  });
}

/** reproduce.sh of a placed plan (`relative`: the target's path.relative). Pure. */
export function runReproduceScript(
  plan: RunPlan,
  placed: PlacedRun,
  capture: TargetCapture,
  relative: (from: string, to: string) => string,
): string {
  const { git } = capture;
  return reproduceScript({
    name: placed.name,
    gitHash: git.git_hash,
    gitRoot: git.root,
    gitRemote: git.git_remote,
    relativeCwd: git.root ? relative(git.root, capture.cwd) : '',
    commandTemplate: plan.commandTemplate,
    seed: plan.seed,
    hasPatch: Boolean(capture.patch && capture.patch.bytes > 0),
    python: plan.python,
    generatedAt: capture.startedAt,
  });
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
