/**
 * `expdesk run --slurm --sweep KEY=v1,v2,… [--max-parallel N] [--detach]`
 * and `expdesk stop --sweep` for SLURM sweeps, on whichever SLURM target the
 * workspace resolves to (./slurm-target.ts: this machine's scheduler, or the
 * login node through SSH): the sweep as one job array (`%N`; default: all
 * members at once), one folder per member. Without --detach the command
 * follows the array to its end — one line per member state change, one
 * scheduler query per poll for all members — and exits 1 if any member did
 * not complete (./sweep-follow.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ExperimentStatus } from '../shared/model';
import { planContext } from '../main/core/runs/plan';
import { expandSweep, parseSweepAxis, SWEEP_ID } from '../main/core/runs/sweep';
import { sweepStateDir } from '../main/core/runs/sweep-queue';
import { printErr } from './output';
import { describeStopped, runRequestFields } from './run-options';
import type { SlurmCliOptions } from './slurm';
import { slurmTargetFor } from './slurm-target';
import { followSweep, type SweepMemberState } from './sweep-follow';

/** Seconds between the follower's scheduler queries (one squeue for the whole array each time). */
const FOLLOW_INTERVAL_MS = 3000;

/** A member's line: queued with the scheduler's reason, an end with its exit code or signal. */
function memberLine(name: string, s: ExperimentStatus): SweepMemberState {
  const ended = ['completed', 'failed', 'stopped'].includes(s.state);
  const line =
    s.state === 'queued'
      ? `queued: ${s.reason}`
      : ended && s.state !== 'completed'
        ? describeStopped({
            state: s.state,
            exitCode: s.exitCode ?? null,
            signal: s.signal ?? null,
            error: null,
          })
        : s.state;
  return { name, line, ended, completed: s.state === 'completed' };
}

export async function slurmSweepCommand(
  command: string[],
  opts: SlurmCliOptions & { sweep: string[]; maxParallel?: number },
): Promise<number> {
  const workspace = opts.workspace ?? process.cwd();
  const target = await slurmTargetFor(workspace, opts.sbatch);
  const request = { workspace: target.pathOf(workspace), ...runRequestFields(command, opts) };
  const sweep = expandSweep(request, opts.sweep.map(parseSweepAxis), planContext(request));
  const max = opts.maxParallel ?? sweep.members.length;
  const { executor } = target;
  const runs = await executor.submitArray(sweep.members, max);
  for (const w of new Set(runs.flatMap((r) => r.warnings))) printErr(`${w}\n`);
  for (const r of runs) process.stdout.write(`${target.where(r.expDir)}\n`);
  // Where `expdesk stop --sweep ID` finds the members (Expdesk's state folder, never an experiment's).
  const state = sweepStateDir(sweep.id);
  mkdirSync(state, { recursive: true, mode: 0o700 });
  writeFileSync(
    path.join(state, 'slurm.json'),
    JSON.stringify({ schema: 'expdesk.slurm-sweep/1', members: runs.map((r) => target.where(r.expDir)) }),
    { mode: 0o600 },
  );
  printErr(
    `expdesk: sweep ${sweep.id}: SLURM job array ${runs[0]!.jobId.split('_')[0]} of ${runs.length} run(s), ${max} at a time; stop it with: expdesk stop --sweep ${sweep.id}\n`,
  );
  if (opts.detach) return 0;
  const dirs = runs.map((r) => r.expDir);
  return followSweep({
    id: sweep.id,
    intervalMs: FOLLOW_INTERVAL_MS,
    stop: () => executor.cancelArray(dirs),
    poll: async () => (await executor.judge(dirs)).map((j, i) => memberLine(runs[i]!.name, j.status)),
  });
}

/** The member locations of a SLURM sweep (by its id, or any member's location), or null when it is not one. */
async function slurmSweepMembers(target: string): Promise<string[] | null> {
  let id = SWEEP_ID.test(target) ? target : null;
  let record: { job_id: string } | null = null;
  if (!id) {
    const t = await slurmTargetFor(target);
    const [folder] = await t.executor.site.folders([t.pathOf(target)]);
    const own = folder?.status?.sweep?.id;
    id = own && SWEEP_ID.test(own) ? own : null;
    record = folder?.record ?? null;
    if (!id) return null;
  }
  try {
    const raw = JSON.parse(readFileSync(path.join(sweepStateDir(id), 'slurm.json'), 'utf8')) as {
      members?: unknown;
    };
    if (Array.isArray(raw.members) && raw.members.every((m) => typeof m === 'string'))
      return raw.members as string[];
  } catch {
    // Submitted elsewhere (another machine's state folder): the member itself must say.
  }
  return record?.job_id.includes('_') ? [target] : null;
}

/** `expdesk stop --sweep` for a SLURM sweep: the job array is cancelled; null when `target` is no SLURM sweep. */
export async function slurmSweepStop(target: string): Promise<string | null> {
  const members = await slurmSweepMembers(target);
  if (!members) return null;
  const t = await slurmTargetFor(members[0]!);
  const stopped = await t.executor.cancelArray(members.map((m) => t.pathOf(m)));
  return members.map((m, i) => `${path.basename(m)}: ${describeStopped(stopped[i]!)}`).join('\n');
}
