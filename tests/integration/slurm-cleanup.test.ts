/**
 * The test cluster's stop() leaves nothing behind: a job still running when a
 * test ends (one that failed half-way) is cancelled before the daemons stop,
 * so its processes do not go on into the next tests (on a 2-core machine they
 * would take a core from them).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { slurmSkipReason, startSlurm } from '../helpers/slurm';

const skip = slurmSkipReason();
if (skip) console.log(skip);

/** Pids of processes whose command line holds `marker` (this test's own pgrep aside). */
function processesWith(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe.skipIf(skip !== null)('the test SLURM cluster', () => {
  it("cancels a still-running job's processes when it stops", async () => {
    const slurm = await startSlurm();
    const marker = `expdesk-cleanup-${process.pid}-${Date.now()}`;
    try {
      // The job's process carries the marker in its command line.
      slurm.cmd([
        'sbatch',
        '--wrap',
        `python3 -c 'import time; time.sleep(300)' ${marker}`,
        '-o',
        '/dev/null',
      ]);
      const deadline = Date.now() + 30_000;
      while (processesWith(marker).length === 0) {
        if (Date.now() > deadline) throw new Error(`the job did not start\n${slurm.logs()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await slurm.stop();
    }
    const deadline = Date.now() + 10_000;
    while (processesWith(marker).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(processesWith(marker)).toEqual([]);
  }, 120_000);
});
