/**
 * Folders of past runs for the tests of kept listings: every file dated long
 * ago (a fresh file looks like a run still writing, and is too recent to be
 * trusted), the rows of a text listing, and a run whose status depends on a
 * live process.
 */
import { spawn } from 'node:child_process';
import { readdirSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { metricsLines, writeExperiment } from './experiments';

export const LONG_AGO = new Date('2026-01-01T00:00:00Z');

/** Date a folder's whole tree (and the folder) back to `when`, as a past run's files are. */
export function dateTree(dir: string, when: Date = LONG_AGO): void {
  for (const rel of readdirSync(dir, { recursive: true, encoding: 'utf8' }))
    utimesSync(path.join(dir, rel), when, when);
  utimesSync(dir, when, when);
}

/**
 * `count` past runs expNN in `exps`: dpo and ppo in turn, one loss record each, a
 * final checkpoint in every third from the second; all dated long ago.
 */
export function writePastRuns(exps: string, count: number): void {
  for (let i = 0; i < count; i++) {
    const exp = writeExperiment(path.join(exps, `exp${String(i).padStart(2, '0')}`), {
      algorithm: i % 2 ? 'ppo' : 'dpo',
      metrics: metricsLines([{ step: 5, prefix: 'train', 'train/loss': i + 0.5 }]),
      ...(i % 3 === 1 ? { final: true } : {}),
    });
    dateTree(exp);
  }
}

/** STATUS, EXPERIMENT and ALGORITHM of each row of a text listing. */
export function tableRows(out: string): string[][] {
  return out
    .split('\n')
    .filter((l) => /^\S+\s+exp\d\d/.test(l))
    .map((l) => l.split(/\s+/).slice(0, 3));
}

/**
 * Run `body` while expDir's status file says running, naming a live process
 * on this host (its status depends on that process); the process is killed
 * after, and gone when this resolves.
 */
export async function whileRunning(expDir: string, body: () => void): Promise<void> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    writeFileSync(
      path.join(expDir, 'expdesk_status.json'),
      JSON.stringify({
        schema: 'expdesk.status/1',
        state: 'running',
        pid: child.pid,
        hostname: os.hostname(),
      }),
    );
    dateTree(expDir);
    body();
  } finally {
    child.kill('SIGKILL');
  }
  await new Promise((resolve) => child.once('exit', resolve));
}
