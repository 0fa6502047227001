/**
 * The SLURM executor serving a location, decided once through
 * core/backend/resolve.ts: this machine's scheduler for a local folder, the
 * login node's through the SSH connection for ssh://… (loaded only then).
 * Commands that submit, follow or cancel SLURM jobs take a SlurmTarget and
 * never ask which one it is.
 */
import path from 'node:path';
import { byLocation } from '../main/core/backend/resolve';
import { SlurmExecutor } from '../main/core/runs/slurm-executor';
import { localSlurmSite } from '../main/core/runs/slurm-local';
import type { SlurmTarget } from './slurm';

/** The SLURM target of `location` (a workspace or an experiment), with these sbatch options. */
export async function slurmTargetFor(location: string, sbatch: readonly string[] = []): Promise<SlurmTarget> {
  return byLocation<() => Promise<SlurmTarget>>(location, {
    local: async () => ({
      executor: new SlurmExecutor(localSlurmSite(), { sbatch }),
      pathOf: (l) => path.resolve(l),
      where: (p) => p,
    }),
    ssh: async () => (await import('./remote')).remoteSlurmTarget(location, sbatch),
  })();
}
