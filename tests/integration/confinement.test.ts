/**
 * Issue 15 A and B through the host's dispatch, as the WebSocket and IPC call
 * it: a hostile experiment folder or project plants symlinks (and `defaults:`
 * entries) leading to a secret file outside, and nothing of the secret comes
 * back — the request is refused with a message naming the file. And C and H
 * where the user meets them: `expdesk export --with-logs` on a folder with a
 * log linked to the secret and a symlink loop in logs/.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { filesUnder, unpackBundle } from '../helpers/bundle';
import { EXPDESK_BIN, REPO } from '../helpers/cli';
import { demoProject } from '../helpers/demo-project';
import { tmpDir } from '../helpers/tmp';
import { recordingHost, SECRET, secretFile, streamed } from '../helpers/planted';

/** An experiment folder (config.yaml, metadata.json, logs/) in a fresh workspace. */
function experiment(): { workspace: string; expDir: string } {
  const workspace = tmpDir('expdesk-conf-ws-');
  const expDir = path.join(workspace, 'exp001');
  mkdirSync(path.join(expDir, 'logs'), { recursive: true });
  writeFileSync(path.join(expDir, 'config.yaml'), 'training:\n  lr: 0.1\n');
  writeFileSync(path.join(expDir, 'metadata.json'), '{"name": "exp001"}\n');
  return { workspace, expDir };
}

async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('log.subscribe stays inside the experiment (issue 15 A)', { timeout: 60_000 }, () => {
  it('refuses logs/train.log linked to a secret outside, naming the file', async () => {
    const secret = secretFile();
    const { workspace, expDir } = experiment();
    symlinkSync(secret, path.join(expDir, 'logs', 'train.log'));
    const { host, events } = recordingHost(workspace);
    try {
      await expect(host.dispatch('log.subscribe', { expDir })).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringContaining(path.join(expDir, 'logs', 'train.log')) as unknown,
      });
      await expect(host.dispatch('log.subscribe', { expDir, file: 'train.log' })).rejects.toThrow(
        /leads outside its experiment folder/,
      );
      // A name climbing out of logs/ is no way around it.
      await expect(
        host.dispatch('log.subscribe', { expDir, file: `../../../${path.basename(secret)}` }),
      ).rejects.toMatchObject({ code: 'bad-request' });
      expect(streamed(events)).not.toContain(SECRET);
    } finally {
      host.dispose();
    }
  });

  it('expdesk tail refuses logs/train.log linked to a secret outside, and prints none of it', () => {
    const secret = secretFile();
    const { expDir } = experiment();
    symlinkSync(secret, path.join(expDir, 'logs', 'train.log'));
    for (const args of [
      ['tail', expDir],
      ['attach', expDir],
    ]) {
      const r = spawnSync(process.execPath, [EXPDESK_BIN, ...args], {
        encoding: 'utf8',
        env: { ...process.env, EXPDESK_CACHE_DIR: tmpDir() },
        timeout: 60_000,
      });
      expect(r.stdout + r.stderr).not.toContain(SECRET);
      expect(r.status, `${args[0]}: ${r.stderr}`).not.toBe(0);
      // attach on a folder Expdesk did not start says so before any log is read.
      expect(r.stderr).toMatch(
        args[0] === 'tail' ? /leads outside its experiment folder/ : /not started by Expdesk/,
      );
    }
  });

  it('refuses a folder that is not an experiment', async () => {
    const secret = secretFile();
    const folder = tmpDir('expdesk-conf-notexp-');
    mkdirSync(path.join(folder, 'logs'));
    symlinkSync(secret, path.join(folder, 'logs', 'train.log'));
    const { host, events } = recordingHost(folder);
    try {
      await expect(host.dispatch('log.subscribe', { expDir: folder })).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringContaining('is not an experiment folder') as unknown,
      });
      expect(streamed(events)).not.toContain(SECRET);
    } finally {
      host.dispose();
    }
  });

  it('a log swapped for a link after subscribing is not followed; a real log inside still streams', async () => {
    const secret = secretFile();
    const { workspace, expDir } = experiment();
    const log = path.join(expDir, 'logs', 'train.log');
    const { host, events } = recordingHost(workspace);
    try {
      // Not there yet: the subscription waits for it (a run about to start).
      const sub = (await host.dispatch('log.subscribe', { expDir, file: 'train.log' })) as {
        subscription: string;
      };
      symlinkSync(secret, log);
      // A log of its own, subscribed after the planted link: it streams, which shows polls went by.
      writeFileSync(path.join(expDir, 'logs', 'train_rank0.log'), 'step 1 loss 0.5\n');
      const other = (await host.dispatch('log.subscribe', { expDir, file: 'train_rank0.log' })) as {
        subscription: string;
      };
      await until(() => streamed(events).includes('step 1 loss 0.5'));
      expect(streamed(events)).not.toContain(SECRET);
      await host.dispatch('log.unsubscribe', { subscription: sub.subscription });
      await host.dispatch('log.unsubscribe', { subscription: other.subscription });
    } finally {
      host.dispose();
    }
  });
});

describe('config.compose stays inside the open project (issue 15 B)', { timeout: 60_000 }, () => {
  it('refuses a file outside the project, as config.read does', async () => {
    const secret = secretFile();
    const proj = demoProject('expdesk-conf-proj-', null);
    const { host } = recordingHost(proj);
    try {
      const refused = host.dispatch('config.compose', { file: secret });
      await expect(refused).rejects.toMatchObject({ code: 'forbidden' });
      await expect(host.dispatch('config.compose', { file: secret })).rejects.toThrow(
        new RegExp(`${secret.replace(/[.]/g, '\\.')} leads outside the open project`),
      );
      await expect(host.dispatch('config.read', { file: secret })).rejects.toMatchObject({
        code: 'forbidden',
      });
      // A link inside configs/ to the secret is refused the same way.
      const link = path.join(proj, 'configs', 'linked.yaml');
      symlinkSync(secret, link);
      await expect(host.dispatch('config.compose', { file: link })).rejects.toMatchObject({
        code: 'forbidden',
      });
      // And launching with it: nothing is created.
      await expect(
        host.dispatch('run.start', { configFile: secret, command: ['python3', 'train.py', '{config}'] }),
      ).rejects.toMatchObject({ code: 'bad-request', message: expect.stringContaining(secret) as unknown });
      // Naming another workspace in the request does not widen it.
      await expect(
        host.dispatch('run.start', {
          workspace: path.dirname(secret),
          configFile: secret,
          command: ['python3', 'train.py', '{config}'],
        }),
      ).rejects.toThrow(/leads outside the open project/);
    } finally {
      host.dispose();
    }
  });

  it('a default leading out of the project is an error at its line, in a draft and on disk', async () => {
    const secret = secretFile();
    const proj = demoProject('expdesk-conf-proj-', null);
    const { host } = recordingHost(proj);
    const file = path.join(proj, 'configs', 'evil.yaml');
    try {
      // An absolute path, and a relative one climbing out.
      const rel = path.relative(path.dirname(file), secret);
      writeFileSync(file, `defaults:\n  - base\n  - ${secret}\nx: 1\n`);
      const onDisk = await host.dispatch('config.compose', { file });
      expect(onDisk).toMatchObject({ ok: false, error: { file, line: 3 } });
      expect((onDisk as { error: { message: string } }).error.message).toMatch(
        /default '.*shadow\.yaml' is refused: .* leads outside the project/,
      );
      const draft = await host.dispatch('config.compose', {
        file,
        text: `x: 1\ndefaults: [${rel}]\n`,
      });
      expect(draft).toMatchObject({ ok: false, error: { file, line: 2 } });
      expect(JSON.stringify(draft)).not.toContain(SECRET);
      // A link among the configs leading out is refused as a default too.
      symlinkSync(secret, path.join(proj, 'configs', 'shared.yaml'));
      const viaLink = await host.dispatch('config.compose', { file, text: 'defaults: [shared]\n' });
      expect(viaLink).toMatchObject({ ok: false, error: { file, line: 1 } });
      expect(JSON.stringify(viaLink)).not.toContain(SECRET);
      // The project's own defaults still compose.
      const ok = await host.dispatch('config.compose', {
        file: path.join(proj, 'configs', 'dpo_beta0.05.yaml'),
      });
      expect(ok).toMatchObject({ ok: true, config: { dpo: { beta: 0.05 } } });
    } finally {
      host.dispose();
    }
  });
});

describe('expdesk export on a hostile folder (issue 15 C, H)', { timeout: 120_000 }, () => {
  /** The seed's exp001 with logs/train_rank1.log linked to the secret and `ln -s . logs/loop`. */
  function hostileExperiment(secret: string): string {
    const fixtures = tmpDir('expdesk-conf-seed-');
    execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), fixtures], {
      stdio: 'ignore',
    });
    const exp = path.join(fixtures, 'experiments', 'exp001_dpo_llama-7b_beta0.1_0115_1430');
    rmSync(path.join(exp, 'logs', 'train_rank1.log'));
    symlinkSync(secret, path.join(exp, 'logs', 'train_rank1.log'));
    symlinkSync('.', path.join(exp, 'logs', 'loop'));
    return exp;
  }

  it('--with-logs says what it left out, carries none of the secret, and ends', async () => {
    const secret = realpathSync(secretFile());
    const exp = hostileExperiment(secret);
    const out = path.join(tmpDir(), 'hostile.zip');
    const r = spawnSync(process.execPath, [EXPDESK_BIN, 'export', exp, '--with-logs', '-o', out], {
      encoding: 'utf8',
      env: { ...process.env, EXPDESK_CACHE_DIR: tmpDir() },
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `warning: logs/train_rank1.log is left out of the bundle: a link leading outside (to ${secret})`,
    );
    expect(r.stdout).toContain(
      'warning: logs/loop is left out of the bundle: a link to a folder (.): links to folders are not followed',
    );
    expect(r.stdout.trimEnd().split('\n').pop()).toBe(out);
    const dir = await unpackBundle(out, tmpDir());
    const files = filesUnder(dir);
    expect(files.filter((f) => f.startsWith('logs/'))).toEqual([
      'logs/metrics.jsonl',
      'logs/train_rank0.log',
    ]);
    for (const f of files) expect(readFileSync(path.join(dir, f), 'latin1')).not.toContain(SECRET);
  });

  it('through the host: bundle.export names what it left out and carries none of the secret', async () => {
    const secret = realpathSync(secretFile());
    const exp = hostileExperiment(secret);
    const out = path.join(tmpDir(), 'host.tar.gz');
    const { host } = recordingHost(path.dirname(exp));
    try {
      const r = (await host.dispatch('bundle.export', { expDir: exp, out, withLogs: true })) as {
        warnings: string[];
      };
      expect(r.warnings).toContain(
        `logs/train_rank1.log is left out of the bundle: a link leading outside (to ${secret})`,
      );
      const dir = await unpackBundle(out, tmpDir());
      for (const f of filesUnder(dir))
        expect(readFileSync(path.join(dir, f), 'latin1')).not.toContain(SECRET);
    } finally {
      host.dispose();
    }
  });

  it('SIGTERM stops it and leaves no bundle', async () => {
    const exp = hostileExperiment(secretFile());
    const outDir = tmpDir();
    const out = path.join(outDir, 'stopped.zip');
    const child = spawn(process.execPath, [EXPDESK_BIN, 'export', exp, '--with-logs', '-o', out], {
      env: { ...process.env, EXPDESK_CACHE_DIR: tmpDir(), EXPDESK_TEST_STALL_EXPORT_AFTER: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Waits in the middle of packing (the stall hook) until it is stopped.
    await until(
      () => stderr.includes('packing') && readdirSync(outDir).some((f) => f.includes('.partial-')),
      60_000,
    );
    child.kill('SIGTERM');
    expect(await closed).toBe(130);
    expect(stderr).toContain(`export interrupted: no bundle was written at ${out}`);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(outDir)).toEqual([]);
  });
});
