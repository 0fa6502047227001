/**
 * A run plan's local half (./plan.ts decides, this carries it out on this
 * machine): everything before the command starts. Create the experiment
 * folder (atomically: two runs started in the same second never collide), and
 * capture what makes the run reproducible — git state and the uncommitted
 * patch, the interpreter's versions, pip freeze (and conda), the machine —
 * into metadata.json, requirements.txt, uncommitted.patch and reproduce.sh.
 * Probes run in parallel; each has a timeout.
 */
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { experimentName, nextExperimentNumber, safeNamePart } from '../../../shared/naming';
import {
  DEFAULT_PATCH_LIMIT_BYTES,
  gitInfo,
  writeUncommittedPatch,
  type GitInfo,
  type PatchResult,
} from '../capture/git';
import { condaExport, pipFreeze, probePython } from '../capture/python';
import { systemInfo } from '../capture/system';
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

/** A plan prepared in a new folder on this machine: what launchRun starts. */
export async function prepareLocally(plan: RunPlan): Promise<PreparedRun> {
  const cwd = path.resolve(plan.cwd ?? projectDirOf(plan.workspace));
  if (!existsSync(cwd)) throw new LaunchError(`the project folder ${cwd} does not exist`);

  // The probes do not depend on the folder: start them now, in parallel.
  // The experiments folder is output, not code: it never counts as a change.
  const experimentsDir = experimentsDirOf(plan.workspace);
  const gitP = gitInfo(cwd, [experimentsDir]);
  const pyP = probePython(plan.python, cwd);
  const freezeP = pipFreeze(plan.python, cwd);
  const sysP = systemInfo();

  const git: GitInfo = await gitP;
  const warnings = [...plan.warnings, ...gitWarnings(plan, git, cwd)];

  const { dir: expDir, name } = createExperimentFolder(
    experimentsDir,
    plan.naming.full,
    plan.naming.explicit ?? undefined,
  );
  await Promise.all(
    ['checkpoints', 'logs', 'outputs'].map((d) => mkdir(path.join(expDir, d), { recursive: true })),
  );
  const placed = placeRun(plan, { name, expDir, join: path.join });
  await writeAtomic(placed.configPath, placed.frozenConfig);

  const patchP: Promise<PatchResult | null> =
    git.root && git.git_hash !== 'unknown'
      ? writeUncommittedPatch(
          git.root,
          path.join(expDir, 'uncommitted.patch'),
          plan.patchLimitBytes ?? DEFAULT_PATCH_LIMIT_BYTES,
          [experimentsDir],
        )
      : Promise.resolve(null);
  const [py, freeze, sys, patch] = await Promise.all([pyP, freezeP, sysP, patchP]);
  const conda = await condaExport(py, cwd);

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, placed.env);

  warnings.push(...captureWarnings(plan.python, py, freeze, patch));

  const capture: TargetCapture = { startedAt: pythonIsoNow(plan.startedAt), cwd, git, py, sys, patch, env };
  const metadata = runMetadata(plan, placed, capture, warnings);
  await writeAtomic(path.join(expDir, 'metadata.json'), JSON.stringify(metadata, null, 2) + '\n');
  await writeAtomic(path.join(expDir, 'requirements.txt'), freeze.text);
  if (conda !== null) await writeAtomic(path.join(expDir, 'conda_env.txt'), conda);
  await writeAtomic(
    path.join(expDir, 'reproduce.sh'),
    runReproduceScript(plan, placed, capture, path.relative),
    0o755,
  );
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
  };
}

/** Plan and prepare a run on this machine (a plan's local half; launchRun starts it). */
export async function prepareRun(req: RunRequest): Promise<PreparedRun> {
  return prepareLocally(planRun(req, planContext(req)));
}

export { experimentsDirOf as experimentsFolder };
