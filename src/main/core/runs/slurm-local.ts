/**
 * The SLURM site of this machine: folders on this disk (prepared by
 * ./prepare.ts exactly as a local launch), sbatch/squeue/scancel on PATH.
 * Reads go through the safe reader (regular files only, bounded), writes
 * are atomic.
 */
import fs from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { SLURM_RECORD, SlurmRecord } from '../../../shared/slurm';
import { runnerScript, systemSamplerScript } from '../app/paths';
import { readRegularFileSync } from '../fs/safe-read';
import { writeAtomic } from '../workspace/fs-batch';
import { LAYOUT } from '../workspace/layout';
import { readStatusFile } from './control';
import { prepareLocally } from './prepare';
import type { SlurmFolderState, SlurmSite } from './slurm-executor';
import { LocalSchedulerShell } from './slurm-scheduler';

/** A folder's SLURM record, or null (missing, not a regular file, not Expdesk's format). */
export function readSlurmRecord(expDir: string): SlurmRecord | null {
  try {
    const raw: unknown = JSON.parse(
      readRegularFileSync(fs, path.join(expDir, SLURM_RECORD), 1024 * 1024, SLURM_RECORD).toString('utf8'),
    );
    const parsed = SlurmRecord.safeParse(raw);
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function localSlurmSite(shell = new LocalSchedulerShell()): SlurmSite {
  return {
    shell,
    host: null,
    join: (...p) => path.join(...p),
    prepare: prepareLocally,
    async write(file, text, mode = 0o644) {
      await writeAtomic(file, text);
      if (mode !== 0o644) await fs.promises.chmod(file, mode);
    },
    folders(expDirs): Promise<SlurmFolderState[]> {
      return Promise.resolve(
        expDirs.map((d) => ({
          status: readStatusFile(d),
          failed: fs.existsSync(path.join(d, LAYOUT.failed)),
          record: readSlurmRecord(d),
        })),
      );
    },
    removeFolder: (expDir) => rm(expDir, { recursive: true, force: true }),
    runnerSource: () => readFile(runnerScript(), 'utf8'),
    systemSource: () => readFile(systemSamplerScript(), 'utf8'),
    runnerPython: process.env.EXPDESK_RUNNER_PYTHON || 'python3',
  };
}
