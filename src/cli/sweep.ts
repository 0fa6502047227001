/**
 * `expdesk run --sweep KEY=v1,v2,… [--max-parallel N] [--detach] -- COMMAND`
 * and `expdesk stop --sweep SWEEP`: a local sweep (core/runs/sweep.ts plans
 * it, core/runs/sweep-queue.ts queues it). Every member's folder is printed
 * on a line of its own as soon as it exists; the queue goes on after this
 * command exits.
 */
import path from 'node:path';
import { byLocation } from '../main/core/backend/resolve';
import { readStatusFile } from '../main/core/runs/control';
import { planContext } from '../main/core/runs/plan';
import { expandSweep, parseSweepAxis, SWEEP_ID } from '../main/core/runs/sweep';
import { startLocalSweep, stopLocalSweep, sweepIdOf } from '../main/core/runs/sweep-queue';
import { CliError } from './errors';
import { printErr } from './output';
import { followSweep } from './sweep-follow';
import { runRequestFields, type RunCliOptions } from './run-options';

export interface SweepCliOptions extends RunCliOptions {
  sweep: string[];
  maxParallel?: number;
}

const ENDED = new Set(['completed', 'failed', 'stopped']);

export async function sweepRunCommand(command: string[], opts: SweepCliOptions): Promise<number> {
  const workspace = opts.workspace ?? process.cwd();
  byLocation<() => void>(workspace, {
    local: () => undefined,
    ssh: () => {
      throw new CliError(
        '--sweep runs the queue on this machine; an ssh:// workspace cannot take a sweep yet',
      );
    },
  })();
  const axes = opts.sweep.map(parseSweepAxis);
  const request = { workspace, ...runRequestFields(command, opts) };
  const sweep = expandSweep(request, axes, planContext(request));
  const started = await startLocalSweep(sweep, { maxParallel: opts.maxParallel });
  for (const w of started.warnings) printErr(`${w}\n`);
  for (const m of started.members) process.stdout.write(`${m.expDir}\n`);
  printErr(
    `expdesk: sweep ${started.id}: ${started.members.length} run(s), ${started.maxParallel} at a time${
      started.gpus ? ` (one GPU each: ${started.gpus.join(', ')})` : ''
    }; stop it with: expdesk stop --sweep ${started.id}\n`,
  );
  if (opts.detach) return 0;
  return followSweep({
    id: started.id,
    intervalMs: 300,
    stop: () => stopLocalSweep(started.id),
    poll: async () =>
      started.members.map((m) => {
        const state = readStatusFile(m.expDir)?.state ?? 'unknown';
        return { name: m.name, line: state, ended: ENDED.has(state), completed: state === 'completed' };
      }),
  });
}

/** `expdesk stop --sweep SWEEP`: SWEEP is a sweep id or any member's folder. */
export async function stopSweepCommand(target: string): Promise<string> {
  const { slurmSweepStop } = await import('./slurm-sweep');
  const slurm = await slurmSweepStop(target);
  if (slurm !== null) return slurm;
  const id = SWEEP_ID.test(target) ? target : sweepIdOf(path.resolve(target));
  if (!id) throw new CliError(`${target} is neither a sweep id nor a member of a sweep`);
  const members = await stopLocalSweep(id);
  return members.map((m) => `${m.name}: ${m.status?.state ?? 'unknown'}`).join('\n');
}
