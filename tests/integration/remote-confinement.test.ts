/**
 * Issue 15 A, B and C on remote workspaces, against a real sshd on
 * 127.0.0.1: the remote helper refuses to follow a log linked out of its
 * experiment, a remote config's `defaults:` cannot pull in a file outside the
 * project (on either machine), and a remote export never carries what a
 * link leading out points to.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesUnder, unpackBundle } from '../helpers/bundle';
import { EXPDESK_BIN, REPO } from '../helpers/cli';
import { demoProject } from '../helpers/demo-project';
import { envOverrides } from '../helpers/env';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { tmpDir } from '../helpers/tmp';
import { recordingHost, SECRET, secretFile, streamed } from '../helpers/planted';

let sshd: TestSshd;
const env = envOverrides();

beforeAll(async () => {
  sshd = await startSshd();
  env.set(sshd.env);
});

afterAll(async () => {
  env.restore();
  await sshd?.stop();
});

describe('remote confinement (issue 15 A, B)', { timeout: 90_000 }, () => {
  it('log.subscribe on a remote experiment refuses a log linked out of it, and a folder that is not an experiment', async () => {
    const secret = secretFile();
    const workspace = tmpDir('expdesk-rconf-ws-');
    const expDir = path.join(workspace, 'exp001');
    mkdirSync(path.join(expDir, 'logs'), { recursive: true });
    writeFileSync(path.join(expDir, 'config.yaml'), 'training:\n  lr: 0.1\n');
    symlinkSync(secret, path.join(expDir, 'logs', 'train.log'));
    const notExp = path.join(workspace, 'loose');
    mkdirSync(path.join(notExp, 'logs'), { recursive: true });
    symlinkSync(secret, path.join(notExp, 'logs', 'train.log'));
    const { host, events } = recordingHost(sshd.url(workspace));
    try {
      await expect(host.dispatch('log.subscribe', { expDir: sshd.url(expDir) })).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringContaining(
          `${path.join(expDir, 'logs', 'train.log')} leads outside its experiment folder`,
        ) as unknown,
      });
      await expect(
        host.dispatch('log.subscribe', { expDir: sshd.url(notExp), file: 'train.log' }),
      ).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringContaining('not an experiment') as unknown,
      });
      await expect(
        host.dispatch('log.subscribe', { expDir: sshd.url(expDir), file: '../config.yaml' }),
      ).rejects.toMatchObject({ code: 'bad-request' });
      expect(streamed(events)).not.toContain(SECRET);
    } finally {
      host.dispose();
    }
  });

  it('config.compose on a remote project: a default leading out is an error at its line, never read', async () => {
    const secret = secretFile();
    const proj = demoProject('expdesk-rconf-proj-', null);
    const file = path.join(proj, 'configs', 'evil.yaml');
    // An absolute path: composed here from copies, it would name a file on this machine.
    writeFileSync(file, `defaults:\n  - base\n  - ${secret}\nx: 1\n`);
    const { host } = recordingHost(sshd.url(proj));
    try {
      const r = await host.dispatch('config.compose', { file: sshd.url(file) });
      expect(r).toMatchObject({ ok: false, error: { file: sshd.url(file), line: 3 } });
      expect((r as { error: { message: string } }).error.message).toMatch(/is refused: .* leads outside/);
      const climbing = await host.dispatch('config.compose', {
        file: sshd.url(file),
        text: `defaults: [../../../../../../../../..${secret.replace(/\.yaml$/, '')}]\n`,
      });
      expect(climbing).toMatchObject({ ok: false, error: { file: sshd.url(file), line: 1 } });
      expect(JSON.stringify([r, climbing])).not.toContain(SECRET);
      const ok = await host.dispatch('config.compose', {
        file: sshd.url(path.join(proj, 'configs', 'dpo_beta0.05.yaml')),
      });
      expect(ok).toMatchObject({ ok: true, config: { dpo: { beta: 0.05 } } });
    } finally {
      host.dispose();
    }
  });
});

describe('remote export (issue 15 C, H)', { timeout: 120_000 }, () => {
  it('`expdesk export ssh://… --with-logs --with-checkpoint` carries no link leading out, and says so', async () => {
    const secret = realpathSync(secretFile());
    const fixtures = tmpDir('expdesk-rconf-seed-');
    execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), fixtures], {
      stdio: 'ignore',
    });
    const exp = path.join(fixtures, 'experiments', 'exp001_dpo_llama-7b_beta0.1_0115_1430');
    for (const f of ['requirements.txt', 'metadata.json', 'logs/train_rank1.log']) {
      rmSync(path.join(exp, f));
      symlinkSync(secret, path.join(exp, f));
    }
    symlinkSync(secret, path.join(exp, 'checkpoints', 'final', 'weights.bin'));
    symlinkSync('.', path.join(exp, 'logs', 'loop'));
    const out = path.join(tmpDir(), 'remote.zip');
    const r = spawnSync(
      process.execPath,
      [EXPDESK_BIN, 'export', sshd.url(exp), '--with-logs', '--with-checkpoint', '-o', out],
      {
        encoding: 'utf8',
        env: { ...process.env, ...sshd.env, EXPDESK_CACHE_DIR: tmpDir() },
        timeout: 120_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const outside = `a link leading outside (to ${secret})`;
    for (const f of [
      'requirements.txt',
      'metadata.json',
      'logs/train_rank1.log',
      'checkpoints/final/weights.bin',
    ])
      expect(r.stdout).toContain(`warning: ${f} is left out of the bundle: ${outside}`);
    expect(r.stdout).toContain('warning: logs/loop is left out of the bundle: a link to a folder (.)');
    const dir = await unpackBundle(out, tmpDir());
    const files = filesUnder(dir);
    expect(files.filter((f) => !/^(README\.md|bundle\.json|reproduce\.sh|MANIFEST)$/.test(f))).toEqual(
      [
        'checkpoints/final/trainer_state.json',
        'config.yaml',
        'logs/metrics.jsonl',
        'logs/train_rank0.log',
        'reproduce.original.sh',
      ].sort(),
    );
    for (const f of files) expect(readFileSync(path.join(dir, f), 'latin1')).not.toContain(SECRET);
  });
});
