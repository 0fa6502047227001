/**
 * A run plan's local half (./plan.ts decides, this carries it out on this
 * machine): everything before the command starts. Create the experiment
 * folder (atomically: two runs started in the same second never collide), and
 * capture what makes the run reproducible — git state and the uncommitted
 * patch, the interpreter's versions, pip freeze (and conda), the machine —
 * into metadata.json, requirements.txt, uncommitted.patch and reproduce.sh.
 * Probes run in parallel; each has a timeout.
 *
 * With `deferEnvironment` (runs started by an executor) only what could
 * change after the start is captured before it — git state and the patch,
 * the frozen config; the interpreter probe, pip freeze, conda and the GPU
 * inventory run beside the run and land within seconds: requirements.txt
 * (and conda_env.txt) atomically, then metadata.json rewritten atomically with
 * `environment_capture` saying when they were taken. Until then metadata.json
 * says `"environment_capture": {"state": "pending"}` and the interpreter's
 * fields read "pending".
 */
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { experimentName, nextExperimentNumber, safeNamePart } from '../../../shared/naming';
import { captureGit, DEFAULT_PATCH_LIMIT_BYTES, gitInfo, type PatchResult } from '../capture/git';
import { condaExport, pipFreeze, probePython, type PythonInfo } from '../capture/python';
import { nvidiaGpus, systemInfo, type SystemInfo } from '../capture/system';
import { trackCapture } from './pending-captures';
import { traceStartup } from './startup-trace';
import {
  captureWarnings,
  gitWarnings,
  LaunchError,
  placeRun,
  planContext,
  planRun,
  runMetadata,
  runReproduceScript,
  type RunPlan,
  type RunRequest,
  type TargetCapture,
} from './plan';

// What moved to the plan, still importable from here.
export {
  buildMetadata,
  captureWarnings,
  chooseSeed,
  interpreterOf,
  LaunchError,
  type MetadataInputs,
  type RunRequest,
} from './plan';

export interface PreparedRun {
  expDir: string;
  name: string;
  configPath: string;
  command: string[];
  cwd: string;
  seed: number;
  env: Record<string, string>;
  /** What the run's environment adds to the target's (EXPDESK_*, PYTHONUNBUFFERED). */
  runEnv: Record<string, string>;
  metadata: Record<string, unknown>;
  warnings: string[];
  /** The environment capture running beside the run (deferEnvironment), or null when it was done first. */
  environment: Promise<void> | null;
}

export interface PrepareOptions {
  /** Capture the interpreter, pip freeze, conda and GPUs beside the run instead of before it. */
  deferEnvironment?: boolean;
  /**
   * With deferEnvironment: the deferred probes start only once this resolves
   * (the executor's launch), so that pip freeze never competes with the
   * start for the CPU.
   */
  environmentAfter?: Promise<void>;
}

/** The interpreter's fields in metadata.json until the deferred probe lands. */
const PENDING_PYTHON: PythonInfo = {
  python_version: 'pending',
  torch_version: 'pending',
  cuda_version: 'pending',
  python_executable: 'pending',
  conda: false,
};

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

/** A plan prepared in a new folder on this machine: what launchRun starts. */
export async function prepareLocally(plan: RunPlan, options: PrepareOptions = {}): Promise<PreparedRun> {
  const cwd = path.resolve(plan.cwd ?? projectDirOf(plan.workspace));
  if (!existsSync(cwd)) throw new LaunchError(`the project folder ${cwd} does not exist`);

  // The experiments folder is output, not code: it never counts as a change.
  const experimentsDir = experimentsDirOf(plan.workspace);
  const envStart = options.deferEnvironment ? (options.environmentAfter ?? Promise.resolve()) : null;
  const pyP = envStart ? envStart.then(() => probePython(plan.python, cwd)) : probePython(plan.python, cwd);
  const freezeP = envStart ? envStart.then(() => pipFreeze(plan.python, cwd)) : pipFreeze(plan.python, cwd);
  const sysP = envStart ? envStart.then(deferredSystem) : systemInfo();

  // --refuse-dirty refuses before anything is created (a second look at the tree, for that option only).
  if (plan.refuseDirty) gitWarnings(plan, await gitInfo(cwd, [experimentsDir]), cwd);
  // The folder first (the patch is written into it), then git state and patch while the config is written.
  const { dir: expDir, name } = createExperimentFolder(
    experimentsDir,
    plan.naming.full,
    plan.naming.explicit ?? undefined,
  );
  traceStartup('folder created');
  const gitP = captureGit(cwd, [experimentsDir], {
    file: path.join(expDir, 'uncommitted.patch'),
    limitBytes: plan.patchLimitBytes ?? DEFAULT_PATCH_LIMIT_BYTES,
  });
  await Promise.all(
    ['checkpoints', 'logs', 'outputs'].map((d) => mkdir(path.join(expDir, d), { recursive: true })),
  );
  const placed = placeRun(plan, { name, expDir, join: path.join });
  await writeAtomic(placed.configPath, placed.frozenConfig);
  traceStartup('config frozen');
  const { info: git, patch } = await gitP;
  traceStartup('git state and patch captured');
  const warnings = [...plan.warnings, ...gitWarnings(plan, git, cwd)];

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, placed.env);
  const startedAt = pythonIsoNow(plan.startedAt);
  const metadataFile = path.join(expDir, 'metadata.json');

  /** Wait for the interpreter, pip freeze, conda and GPUs; write them, then the metadata that names them. */
  const captureEnvironment = async (
    patch: PatchResult | null,
    extra?: () => Record<string, unknown>,
  ): Promise<Record<string, unknown>> => {
    const [py, freeze, sys] = await Promise.all([pyP, freezeP, sysP]);
    const conda = await condaExport(py, cwd);
    const all = [...warnings, ...captureWarnings(plan.python, py, freeze, patch)];
    const capture: TargetCapture = { startedAt, cwd, git, py, sys, patch, env };
    const metadata = runMetadata(plan, placed, capture, all, extra?.());
    await writeAtomic(path.join(expDir, 'requirements.txt'), freeze.text);
    if (conda !== null) await writeAtomic(path.join(expDir, 'conda_env.txt'), conda);
    await writeAtomic(metadataFile, JSON.stringify(metadata, null, 2) + '\n');
    return metadata;
  };

  let metadata: Record<string, unknown>;
  let environment: Promise<void> | null = null;
  const sysNow: SystemInfo = { ...(await systemBasics()), gpus: [] };
  // reproduce.sh is written while metadata.json is.
  const reproduce = writeAtomic(
    path.join(expDir, 'reproduce.sh'),
    runReproduceScript(
      plan,
      placed,
      { startedAt, cwd, git, py: PENDING_PYTHON, sys: sysNow, patch, env },
      path.relative,
    ),
    0o755,
  );
  reproduce.catch(() => undefined); // awaited below; a failure there, not as an unhandled rejection
  if (options.deferEnvironment) {
    // Before the start: git, patch and config are final; the environment is marked pending.
    const early: TargetCapture = { startedAt, cwd, git, py: PENDING_PYTHON, sys: sysNow, patch, env };
    metadata = runMetadata(plan, placed, early, warnings, { environment_capture: { state: 'pending' } });
    await writeAtomic(metadataFile, JSON.stringify(metadata, null, 2) + '\n');
    environment = captureEnvironment(patch, () => ({
      environment_capture: { state: 'complete', taken_at: pythonIsoNow(), after_start: true },
    })).then(
      () => undefined,
      // The folder went away (deleted mid-run): the record stays "pending", which says so.
      () => undefined,
    );
    trackCapture(environment);
  } else {
    metadata = await captureEnvironment(patch);
  }
  await reproduce;
  traceStartup('metadata and reproduce.sh written');
  return {
    expDir,
    name,
    configPath: placed.configPath,
    command: placed.command,
    cwd,
    seed: plan.seed,
    env,
    runEnv: placed.env,
    metadata,
    warnings,
    environment,
  };
}

/** What systemInfo() knows without running anything (hostname, OS, CPU, memory). */
async function systemBasics(): Promise<Omit<SystemInfo, 'gpus'>> {
  const { hostname, os, cpu, memory_bytes } = await systemInfo({ gpus: false });
  return { hostname, os, cpu, memory_bytes };
}

/** The machine with its GPU inventory (nvidia-smi), taken beside the run. */
async function deferredSystem(): Promise<SystemInfo> {
  return { ...(await systemBasics()), gpus: await nvidiaGpus() };
}

/** Plan and prepare a run on this machine (a plan's local half; launchRun starts it). */
export async function prepareRun(req: RunRequest): Promise<PreparedRun> {
  return prepareLocally(planRun(req, planContext(req)));
}

export { experimentsDirOf as experimentsFolder };
