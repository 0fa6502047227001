/**
 * `expdesk stop ssh://…` on a planted status file, against a real sshd: the
 * remote helper signals nothing its own record of the launch does not prove
 * (the "remote" is this machine, so the bystander is a real process there).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPDESK_BIN, REPO, runCli } from '../helpers/cli';
import { initRepo } from '../helpers/git';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { tmpDir } from '../helpers/tmp';
import { plantedRun, running } from '../helpers/planted';

let sshd: TestSshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

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

describe('a remote run whose wrapper dies', { timeout: 180_000 }, () => {
  it('a foreground `expdesk run` on ssh:// exits non-zero, with the run failed and FAILED.txt written there', async () => {
    const proj = tmpDir('expdesk-rproj-');
    cpSync(path.join(REPO, 'resources/demo/configs'), path.join(proj, 'configs'), { recursive: true });
    cpSync(path.join(REPO, 'resources/demo/train.py'), path.join(proj, 'train.py'));
    initRepo(proj);
    const cli = spawn(
      process.execPath,
      [
        EXPDESK_BIN,
        'run',
        '--workspace',
        sshd.url(proj),
        '--config',
        path.join(proj, 'configs', 'base.yaml'),
        '--set',
        'training.max_steps=100000',
        '--',
        'python3',
        'train.py',
        '{config}',
        '--step-delay',
        '0.05',
      ],
      {
        env: { ...process.env, ...sshd.env, EXPDESK_CACHE_DIR: tmpDir() },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    cli.stdout!.on('data', (d: Buffer) => (stdout += d.toString('latin1')));
    cli.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => cli.on('close', (code) => resolve(code)));
    try {
      const prefix = sshd.url('');
      const exp = (): string => stdout.split('\n')[0]!.slice(prefix.length);
      const deadline = Date.now() + 90_000;
      while (!/step 3\//.test(stdout)) {
        if (Date.now() > deadline) throw new Error(`the run did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const statusFile = path.join(exp(), 'expdesk_status.json');
      const status = JSON.parse(readFileSync(statusFile, 'utf8')) as { pid: number; child_pid: number };
      process.kill(status.pid, 'SIGKILL');
      const code = await Promise.race([
        exited,
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 120_000)),
      ]);
      expect(code, stderr).not.toBe('hung');
      expect(code).not.toBe(0);
      expect(stderr).toContain(`run wrapper (pid ${status.pid}) died`);
      expect(JSON.parse(readFileSync(statusFile, 'utf8'))).toMatchObject({ state: 'failed' });
      expect(existsSync(path.join(exp(), 'FAILED.txt'))).toBe(true);
      expect(readFileSync(path.join(exp(), 'FAILED.txt'), 'utf8')).toMatch(
        /^Failed at step \d+\nExpdesk's run wrapper/,
      );
      expect(running(status.child_pid)).toBe(false);
    } finally {
      cli.kill('SIGKILL');
    }
  });
});
