/**
 * A local sweep: its members' folders are prepared at once (frozen config,
 * capture, a status file saying "queued" with the sweep's tag), then a queue
 * runner (resources/runner/expdesk_queue.py, in a session of its own) starts
 * them N at a time under the usual run wrapper — so queued members start when
 * earlier ones end even after the expdesk command or the window is gone.
 *
 * The queue lives in Expdesk's state folder (`sweeps/<id>/`: queue.json, the
 * members' wrapper specs, runner.json), never in an experiment folder.
 * Stopping a sweep stops the runner (only while runner.json proves it is the
 * process Expdesk started), marks the members still queued as stopped, and
 * stops the running ones with the proven stop of ./control.ts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { SweepTag } from '../../../shared/model';
import { userStateDir } from '../app/paths';
import { writeAtomic } from '../workspace/fs-batch';
import { LAYOUT } from '../workspace/layout';
import { readStatusFile, stopRun, type RunStatus } from './control';
import { outsideTmuxEnv, runnerPython, tmuxAvailable, tmuxSessionName, wrapperSpec } from './launch';
import { LaunchError } from './plan';
import { prepareLocally, pythonIsoNow, type PreparedRun } from './prepare';
import { processIdentity } from './run-record';
import { SWEEP_ID, type SweepPlan } from './sweep';
import { runnerScript } from '../app/paths';

/** The GPUs a run here may use: CUDA_VISIBLE_DEVICES when set, else `nvidia-smi -L`'s, else none. */
export function visibleGpus(
  env: NodeJS.ProcessEnv = process.env,
  listGpus: () => string = () =>
    execFileSync('nvidia-smi', ['-L'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
): string[] {
  const cvd = env.CUDA_VISIBLE_DEVICES;
  if (cvd !== undefined) {
    const ids = cvd
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    // CUDA stops at the first invalid id ("-1" hides every GPU).
    const stop = ids.findIndex((s) => s.startsWith('-'));
    return stop >= 0 ? ids.slice(0, stop) : ids;
  }
  try {
    return listGpus()
      .split('\n')
      .map((l) => /^GPU (\d+):/.exec(l)?.[1])
      .filter((x): x is string => x !== undefined);
  } catch {
    return []; // no nvidia-smi, or no driver
  }
}

export function sweepStateDir(id: string): string {
  if (!SWEEP_ID.test(id))
    throw new LaunchError(`${JSON.stringify(id)} is not a sweep id (sweep_YYYYmmdd_HHMMSS_xxxxxx)`);
  return path.join(userStateDir(), 'sweeps', id);
}

const QueueFile = z.object({
  schema: z.literal('expdesk.sweep-queue/1'),
  sweep_id: z.string(),
  max_parallel: z.number().int().min(1),
  python: z.string(),
  wrapper: z.string(),
  gpus: z.array(z.string()).nullable(),
  members: z.array(
    z.object({
      exp_dir: z.string(),
      name: z.string(),
      spec: z.string(),
      tmux_session: z.string().nullable(),
    }),
  ),
});
type QueueFile = z.infer<typeof QueueFile>;

const RunnerFile = z.object({
  hostname: z.string(),
  runner: z.object({ pid: z.number().int().min(2), start: z.string(), pgid: z.number().int() }).nullable(),
  ended_at: z.string().nullable(),
});

export interface LocalSweep {
  id: string;
  maxParallel: number;
  /** GPU ids handed out one per running member, or null. */
  gpus: string[] | null;
  members: { expDir: string; name: string; tag: SweepTag }[];
  warnings: string[];
  /** Where the queue runner writes what it says (and Python's errors). */
  runnerLog: string;
}

/** The status file of a member waiting for its turn (replaced by the wrapper's once it starts). */
function queuedStatus(tag: SweepTag): string {
  const now = pythonIsoNow();
  return `${JSON.stringify(
    {
      schema: 'expdesk.status/1',
      state: 'queued',
      started_at: null,
      ended_at: null,
      exit_code: null,
      signal: null,
      pid: null,
      hostname: os.hostname(),
      tmux_session: null,
      stop_requested_at: null,
      updated_at: now,
      sweep: tag,
    },
    null,
    2,
  )}\n`;
}

/**
 * Prepare every member of `sweep` on this machine and start its queue runner.
 * `maxParallel` defaults to one per visible GPU (each member then gets its
 * own GPU), else 1. Resolves once the runner has recorded itself.
 */
export async function startLocalSweep(
  sweep: SweepPlan,
  opts: { maxParallel?: number; stopTimeouts?: [number, number]; tmux?: boolean } = {},
): Promise<LocalSweep> {
  const gpuIds = visibleGpus();
  const maxParallel = opts.maxParallel ?? Math.max(1, gpuIds.length);
  if (!Number.isInteger(maxParallel) || maxParallel < 1)
    throw new LaunchError(`--max-parallel must be a positive integer, got ${maxParallel}`);
  const gpus = gpuIds.length >= maxParallel ? gpuIds : null;
  const dir = sweepStateDir(sweep.id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const useTmux = (opts.tmux ?? true) && tmuxAvailable();

  const prepared: { run: PreparedRun; tag: SweepTag }[] = [];
  try {
    for (const m of sweep.members) {
      const run = await prepareLocally(m.plan);
      prepared.push({ run, tag: m.tag });
      await writeAtomic(path.join(run.expDir, LAYOUT.status), queuedStatus(m.tag));
    }
  } catch (err) {
    // Members already made say why they never ran.
    const why = `the sweep could not be set up: ${err instanceof Error ? err.message : String(err)}`;
    for (const p of prepared) await markFailed(p.run.expDir, why);
    throw err;
  }

  const queue: QueueFile = {
    schema: 'expdesk.sweep-queue/1',
    sweep_id: sweep.id,
    max_parallel: maxParallel,
    python: runnerPython(),
    wrapper: runnerScript(),
    gpus,
    members: prepared.map(({ run, tag }, i) => {
      const session = useTmux ? tmuxSessionName(run.name) : null;
      const spec = path.join(dir, `member-${i}.json`);
      writeFileSync(spec, JSON.stringify(wrapperSpec(run, session, opts.stopTimeouts ?? [10, 10], tag)), {
        mode: 0o600,
      });
      return { exp_dir: run.expDir, name: run.name, spec, tmux_session: session };
    }),
  };
  const queueFile = path.join(dir, 'queue.json');
  await writeAtomic(queueFile, JSON.stringify(queue, null, 2));
  const runnerLog = path.join(dir, 'runner.log');
  const log = openSync(runnerLog, 'a', 0o600);
  try {
    // A session of its own: the terminal's hangup and the CLI's exit do not reach it.
    const child = spawn(runnerPython(), [queueRunnerScript(), queueFile], {
      detached: true,
      stdio: ['ignore', log, log],
      cwd: dir,
      env: outsideTmuxEnv(),
    });
    child.unref();
  } finally {
    closeSync(log);
  }
  const deadline = Date.now() + 15_000;
  while (!existsSync(path.join(dir, 'runner.json'))) {
    if (Date.now() > deadline) {
      const said = readFileSync(runnerLog, 'utf8').trim().slice(-2000);
      throw new LaunchError(`the sweep's queue runner did not start within 15 s${said ? `: ${said}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    id: sweep.id,
    maxParallel,
    gpus,
    members: prepared.map(({ run, tag }) => ({ expDir: run.expDir, name: run.name, tag })),
    warnings: [...new Set(prepared.flatMap((p) => p.run.warnings))],
    runnerLog,
  };
}

function queueRunnerScript(): string {
  return path.join(path.dirname(runnerScript()), 'expdesk_queue.py');
}

/** The queue of a sweep started on this machine, or null when Expdesk has none by that id. */
export function readSweepQueue(id: string): QueueFile | null {
  try {
    const parsed = QueueFile.safeParse(
      JSON.parse(readFileSync(path.join(sweepStateDir(id), 'queue.json'), 'utf8')),
    );
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The pid of the sweep's runner while runner.json proves it is still that process, else null. */
function liveRunner(id: string): number | null {
  try {
    const raw = RunnerFile.parse(
      JSON.parse(readFileSync(path.join(sweepStateDir(id), 'runner.json'), 'utf8')),
    );
    if (!raw.runner || raw.ended_at || raw.hostname !== os.hostname()) return null;
    const now = processIdentity(raw.runner.pid);
    return now && !now.zombie && now.start === raw.runner.start ? raw.runner.pid : null;
  } catch {
    return null;
  }
}

/** Record that a member never ran, and why (it keeps its sweep tag). */
async function markFailed(expDir: string, failure: string): Promise<void> {
  const now = pythonIsoNow();
  const next = { ...readStatusFile(expDir), state: 'failed', ended_at: now, updated_at: now, failure };
  await writeAtomic(path.join(expDir, LAYOUT.failed), `Failed at step 0\n${failure}\n`);
  await writeAtomic(path.join(expDir, LAYOUT.status), `${JSON.stringify(next, null, 2)}\n`);
}

/**
 * Stop a local sweep: no member starts any more, the queued ones are marked
 * stopped, the running ones are stopped (SIGINT, SIGTERM, SIGKILL through
 * their wrappers). Resolves with each member's final status, in order.
 */
export async function stopLocalSweep(
  id: string,
): Promise<{ expDir: string; name: string; status: RunStatus | null }[]> {
  const queue = readSweepQueue(id);
  if (!queue)
    throw new LaunchError(`no sweep ${id} was started on this machine (nothing in ${sweepStateDir(id)})`);
  const dir = sweepStateDir(id);
  await writeAtomic(path.join(dir, 'stop'), `${pythonIsoNow()}\n`);
  const pid = liveRunner(id);
  if (pid !== null) {
    process.kill(pid, 'SIGTERM');
    // It exits before starting another member (a start under way finishes first: at most 30 s).
    const deadline = Date.now() + 45_000;
    while (liveRunner(id) !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }
  return Promise.all(
    queue.members.map(async (m) => {
      const s = readStatusFile(m.exp_dir);
      if (s?.state === 'queued' || s?.state === 'running') await stopRun(m.exp_dir);
      return { expDir: m.exp_dir, name: m.name, status: readStatusFile(m.exp_dir) };
    }),
  );
}

/** The sweep id an experiment folder's status file names (untrusted: only a well-formed id is returned). */
export function sweepIdOf(expDir: string): string | null {
  const id = readStatusFile(expDir)?.sweep?.id;
  return id && SWEEP_ID.test(id) ? id : null;
}
