/**
 * `expdesk stop ssh://…` on a planted status file, against a real sshd: the
 * remote helper signals nothing its own record of the launch does not prove
 * (the "remote" is this machine, so the bystander is a real process there).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { tmpDir } from '../helpers/tmp';

let sshd: TestSshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function plantedRun(fields: Record<string, unknown>): string {
  const dir = path.join(tmpDir('expdesk-rplanted-'), 'exp001_planted');
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  writeFileSync(path.join(dir, 'config.yaml'), 'training:\n  lr: 0.1\n');
  writeFileSync(path.join(dir, 'metadata.json'), '{"name": "exp001_planted"}\n');
  writeFileSync(
    path.join(dir, 'expdesk_status.json'),
    JSON.stringify({ schema: 'expdesk.status/1', state: 'running', pid: null, hostname: null, ...fields }),
  );
  return dir;
}

describe('remote stop', { timeout: 120_000 }, () => {
  it('refuses a planted status file naming an unrelated process group, or pid 1', () => {
    const sleeper = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    const pid = sleeper.pid!;
    try {
      for (const [fields, named] of [
        [{ child_pid: pid }, pid],
        [{ pid }, pid],
        [{ child_pid: 1 }, 1],
      ] as const) {
        const dir = plantedRun(fields);
        const r = runCli(['stop', sshd.url(dir)], { ...sshd.env, EXPDESK_CACHE_DIR: tmpDir() });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain(
          `was not started by Expdesk on this machine; refusing to signal pid ${named}`,
        );
        expect(running(pid)).toBe(true);
        expect(JSON.parse(readFileSync(path.join(dir, 'expdesk_status.json'), 'utf8')).state).toBe('running');
      }
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});
