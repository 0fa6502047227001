/**
 * The options of `expdesk run` and the launch request they make, here or on
 * a remote: shared by run.ts and remote.ts, so neither imports the other's
 * module for them (run.ts loads remote.ts lazily, only for ssh://… targets).
 */
import type { RunStateReport } from '../main/core/runs/executor';
import type { RunRequest } from '../main/core/runs/plan';

export interface RunCliOptions {
  workspace?: string;
  config: string;
  set: string[];
  name?: string;
  seed?: number;
  python?: string;
  detach?: boolean;
  refuseDirty?: boolean;
  cwd?: string;
  systemInterval?: number;
}

/** What `expdesk run`'s options ask of a launch, here or on a remote. */
export function runRequestFields(command: string[], opts: RunCliOptions): Omit<RunRequest, 'workspace'> {
  return {
    configFile: opts.config,
    overrides: opts.set,
    command,
    name: opts.name,
    seed: opts.seed,
    python: opts.python,
    refuseDirty: opts.refuseDirty,
    cwd: opts.cwd,
    systemInterval: opts.systemInterval,
  };
}

/** What `expdesk stop` prints: the run's final state, with its signal or exit code. */
export function describeStopped(s: RunStateReport): string {
  return `${s.state}${s.signal ? ` (${s.signal})` : s.exitCode !== null ? ` (exit code ${s.exitCode})` : ''}`;
}
