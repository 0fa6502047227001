/**
 * The contract's side of remote workspaces, against a real sshd: the host
 * lists and reads ssh:// folders, follows a remote log by byte offset with
 * `log.data` events, reports connection state with `remote.status` events,
 * lets the interface trust an unknown host key it showed (by fingerprint),
 * and asks the interface for a key's passphrase.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type EventName, type EventPayload } from '../../src/shared/contract';
import { ExpdeskHost } from '../../src/main/host/host';
import { REPO } from '../helpers/cli';
import { envOverrides } from '../helpers/env';
import { initRepo } from '../helpers/git';
import { keygen, startSshd, type TestSshd } from '../helpers/sshd';
import { tmpDir } from '../helpers/tmp';

let sshd: TestSshd;
let root: string;
const env = envOverrides();

beforeAll(async () => {
  sshd = await startSshd();
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-remote-host-'));
  execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), root], { stdio: 'ignore' });
  env.set(sshd.env);
});

afterAll(async () => {
  env.restore();
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
});

function host(): { host: ExpdeskHost; events: Array<{ event: EventName; payload: unknown }> } {
  const h = new ExpdeskHost({
    mode: 'browser',
    version: 'test',
    workspace: sshd.url(root),
    demoWorkspace: null,
    cacheDir: tmpDir('expdesk-rh-cache-'),
  });
  const events: Array<{ event: EventName; payload: unknown }> = [];
  h.onEvent((event, payload) => events.push({ event, payload }));
  return { host: h, events };
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the host on a remote workspace', () => {
  it('lists, reads and follows a remote log by offset, announcing the connection', async () => {
    const { host: h, events } = host();
    try {
      const listing = (await h.dispatch('workspace.list', {})) as {
        root: string;
        experiments: Array<{ path: string }>;
      };
      expect(listing.root).toBe(sshd.url(root));
      expect(listing.experiments).toHaveLength(5);
      const states = events
        .filter((e) => e.event === 'remote.status')
        .map((e) => (e.payload as { state: string }).state);
      expect(states).toEqual(['connecting', 'connected']);

      const exp = listing.experiments[0]!.path;
      const detail = (await h.dispatch('experiment.get', { path: exp })) as { logs: Array<{ name: string }> };
      expect(detail.logs.map((l) => l.name)).toEqual(['train_rank0.log', 'train_rank1.log']);

      const local = path.join(root, 'experiments', path.basename(exp));
      const log = path.join(local, 'logs', 'train_rank0.log');
      const sub = (await h.dispatch('log.subscribe', { expDir: exp, fromOffset: 0 })) as {
        subscription: string;
        file: string;
        size: number;
      };
      expect(sub.file).toBe('train_rank0.log');
      expect(sub.size).toBe(readFileSync(log).length);
      appendFileSync(log, 'appended after subscribing\n');
      const bytes = (): Buffer =>
        Buffer.concat(
          events
            .filter((e) => e.event === 'log.data')
            .map((e) => e.payload as EventPayload<'log.data'>)
            .filter((p) => p.subscription === sub.subscription)
            .map((p) => Buffer.from(p.data, 'base64')),
        );
      await until(() => bytes().length === readFileSync(log).length, 20_000);
      expect(bytes().equals(readFileSync(log))).toBe(true);
      await h.dispatch('log.unsubscribe', { subscription: sub.subscription });
    } finally {
      h.dispose();
    }
  }, 60_000);

  it('an unknown host is refused with its fingerprint; remote.trustHostKey records only the key shown', async () => {
    const kh = path.join(sshd.dir, 'host-test-known-hosts');
    writeFileSync(kh, '');
    env.set({ EXPDESK_KNOWN_HOSTS: kh });
    const { host: h, events } = host();
    try {
      const err = await h.dispatch('workspace.list', {}).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe('forbidden');
      const failed = events.map((e) => e.payload as EventPayload<'remote.status'>).find((p) => p.hostKey);
      expect(failed).toMatchObject({ state: 'failed', hostKey: { status: 'unknown', knownHostsFile: kh } });
      const fingerprint = failed!.hostKey!.fingerprint;
      expect((err as ApiError).message).toContain(fingerprint);

      const wrong = await h
        .dispatch('remote.trustHostKey', { location: sshd.url(root), fingerprint: 'SHA256:not-the-key' })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect((wrong as ApiError).code).toBe('forbidden');
      expect(readFileSync(kh, 'utf8')).toBe('');

      await h.dispatch('remote.trustHostKey', { location: sshd.url(root), fingerprint });
      expect(readFileSync(kh, 'utf8')).toContain(sshd.hostKeyPub);
      const listing = (await h.dispatch('workspace.list', {})) as { experiments: unknown[] };
      expect(listing.experiments).toHaveLength(5);
    } finally {
      h.dispose();
      env.set({ EXPDESK_KNOWN_HOSTS: sshd.knownHosts });
    }
  }, 60_000);

  it('launches a run on the remote and announces its state changes', async () => {
    const proj = tmpDir('expdesk-rh-proj-');
    cpSync(path.join(REPO, 'resources/demo/configs'), path.join(proj, 'configs'), { recursive: true });
    cpSync(path.join(REPO, 'resources/demo/train.py'), path.join(proj, 'train.py'));
    initRepo(proj);
    const { host: h, events } = host();
    try {
      const started = (await h.dispatch('run.start', {
        workspace: sshd.url(proj),
        configFile: path.join(proj, 'configs', 'dpo_beta0.05.yaml'),
        overrides: ['training.max_steps=60'],
        command: ['python3', 'train.py', '{config}', '--step-delay', '0.05'],
      })) as { expDir: string; diesWithExpdesk: boolean; tmuxSession: string | null };
      expect(started.expDir.startsWith(sshd.url(proj))).toBe(true);
      expect(started.diesWithExpdesk).toBe(false);
      expect(started.tmuxSession).toMatch(/^expdesk-exp001_/);
      const states = (): string[] =>
        events
          .filter((e) => e.event === 'run.status')
          .map((e) => e.payload as EventPayload<'run.status'>)
          .filter((p) => p.expDir === started.expDir)
          .map((p) => p.state);
      await until(() => states().includes('completed'), 60_000);
      expect(states()[0]).toBe('running');
      const detail = (await h.dispatch('experiment.get', { path: started.expDir })) as {
        summary: { total_steps: number; status: { state: string } };
      };
      expect(detail.summary).toMatchObject({ total_steps: 60, status: { state: 'completed' } });
    } finally {
      h.dispose();
    }
  }, 90_000);

  it('the config editor and launch work on a remote project: composed with its defaults, errors at remote lines', async () => {
    const proj = tmpDir('expdesk-rh-proj-');
    cpSync(path.join(REPO, 'resources/demo/configs'), path.join(proj, 'configs'), { recursive: true });
    cpSync(path.join(REPO, 'resources/demo/train.py'), path.join(proj, 'train.py'));
    initRepo(proj);
    const h = new ExpdeskHost({
      mode: 'browser',
      version: 'test',
      workspace: sshd.url(proj),
      demoWorkspace: null,
      cacheDir: tmpDir('expdesk-rh-cache-'),
    });
    const events: Array<{ event: EventName; payload: unknown }> = [];
    h.onEvent((event, payload) => events.push({ event, payload }));
    const localFile = path.join(proj, 'configs', 'dpo_beta0.05.yaml');
    const file = sshd.url(localFile);
    try {
      const ok = (await h.dispatch('config.compose', { file, overrides: ['training.lr=0.5'] })) as {
        ok: true;
        config: { dpo: { beta: number }; training: { lr: number } };
        files: string[];
      };
      expect(ok).toMatchObject({ ok: true, config: { dpo: { beta: 0.05 }, training: { lr: 0.5 } } });
      expect(ok.files).toEqual([sshd.url(path.join(proj, 'configs', 'base.yaml')), file]);
      // The editor's unsaved text: the error is at its line in the remote file.
      const saved = readFileSync(localFile, 'utf8');
      const bad = await h.dispatch('config.compose', { file, text: `${saved}note: \${training.nope}\n` });
      expect(bad).toMatchObject({ ok: false, error: { file, line: saved.split('\n').length, column: 1 } });
      expect(JSON.stringify(bad)).not.toContain('expdesk-remote-configs-'); // no local copy's path leaks

      const started = (await h.dispatch('run.start', {
        configFile: file,
        overrides: ['training.max_steps=20'],
        command: ['python3', 'train.py', '{config}', '--step-delay', '0'],
      })) as { expDir: string };
      expect(started.expDir.startsWith(sshd.url(proj))).toBe(true);
      await until(
        () =>
          events.some(
            (e) =>
              e.event === 'run.status' &&
              (e.payload as EventPayload<'run.status'>).expDir === started.expDir &&
              (e.payload as EventPayload<'run.status'>).state === 'completed',
          ),
        60_000,
      );
      const remoteDir = started.expDir.slice(sshd.url('').length);
      const meta = JSON.parse(readFileSync(path.join(remoteDir, 'metadata.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(meta.config_source).toBe(localFile);
      expect(readFileSync(path.join(remoteDir, 'config.yaml'), 'utf8')).toContain('beta: 0.05');
    } finally {
      h.dispose();
    }
  }, 90_000);

  it('asks the interface for the passphrase of an encrypted key', async () => {
    const key = path.join(sshd.dir, 'id_host_encrypted');
    appendFileSync(path.join(sshd.dir, 'authorized_keys'), `${keygen(key, 'hunter2')}\n`);
    env.set({ EXPDESK_SSH_IDENTITY: key });
    const { host: h, events } = host();
    h.onEvent((event, payload) => {
      if (event === 'remote.passphrase') {
        const q = payload as EventPayload<'remote.passphrase'>;
        expect(q.keyFile).toBe(key);
        void h.dispatch('remote.answerPassphrase', { request: q.request, passphrase: 'hunter2' });
      }
    });
    try {
      const listing = (await h.dispatch('workspace.list', {})) as { experiments: unknown[] };
      expect(listing.experiments).toHaveLength(5);
      expect(events.filter((e) => e.event === 'remote.passphrase')).toHaveLength(1);
    } finally {
      h.dispose();
      env.set({ EXPDESK_SSH_IDENTITY: sshd.identity });
    }
  }, 60_000);
});
