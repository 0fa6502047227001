/**
 * Remote workspaces against a real OpenSSH server on 127.0.0.1 (generated
 * host and user keys, private known_hosts and config): a workspace of
 * seed-written folders lists, shows, summarizes and compares over SSH exactly
 * as it does locally, in one round trip, transferring only new bytes the
 * second time, without writing into the folders. Also: ~/.ssh/config-style
 * aliases with `host:/path`, ProxyJump, passphrase-protected keys and
 * ssh-agent.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsFeeds } from '../../src/main/core/metrics/metrics-feed';
import { SeriesStore } from '../../src/main/core/metrics/series-store';
import { SshConnection } from '../../src/main/core/remote/connection';
import { RemoteWorkspace } from '../../src/main/core/remote/remote-workspace';
import { RemotePool } from '../../src/main/core/remote/pool';
import { SshBackend } from '../../src/main/core/backend/ssh-backend';
import { SummaryStore } from '../../src/main/core/summary/summary-store';
import { listWorkspace } from '../../src/main/core/workspace/workspace';
import { parseRemoteLocation } from '../../src/shared/remote-location';
import { REPO, runCli } from '../helpers/cli';
import { treeSnapshot } from '../helpers/snapshot';
import { keygen, startSshd, type TestSshd } from '../helpers/sshd';
import { tmpDir } from '../helpers/tmp';

let sshd: TestSshd;
let root: string;
let cacheDir: string;
let env: Record<string, string>;
let prefix: string;

beforeAll(async () => {
  sshd = await startSshd();
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-remote-ws-'));
  execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), root], { stdio: 'ignore' });
  cacheDir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-remote-cache-'));
  env = { ...sshd.env, EXPDESK_CACHE_DIR: cacheDir };
  prefix = sshd.url('');
});

afterAll(async () => {
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
  rmSync(cacheDir, { recursive: true, force: true });
});

/** Remote output with the ssh:// prefix removed, and inferred "written Ns ago" made stable. */
function normalize(text: string): string {
  return text
    .split(prefix)
    .join('')
    .replace(/written \d+s ago/g, 'written Ns ago');
}

function conn(extra: ConstructorParameters<typeof SshConnection>[1] = {}, port = sshd.port): SshConnection {
  return new SshConnection(
    { host: '127.0.0.1', user: sshd.user, port },
    {
      configFile: sshd.sshConfig,
      knownHostsFiles: [sshd.knownHosts],
      identityFiles: [sshd.identity],
      agent: null,
      ...extra,
    },
  );
}

describe('remote workspace over a real sshd', () => {
  it('list, show and summarize over ssh match the local results for the same folders', () => {
    const local = runCli(['list', root, '--json'], env);
    const remote = runCli(['list', sshd.url(root), '--json'], env);
    expect(remote.code, remote.stderr).toBe(0);
    expect(normalize(remote.stdout)).toBe(normalize(local.stdout));
    const listed = JSON.parse(remote.stdout) as { experiments: Array<{ path: string }> };
    expect(listed.experiments).toHaveLength(5);
    expect(listed.experiments[0]!.path.startsWith(prefix)).toBe(true);

    const dirs = listed.experiments.map((e) => e.path);
    // Two ranks and outputs; failed with a traceback; a malformed line and a partial last line.
    for (const d of [dirs[0]!, dirs[2]!, dirs[3]!]) {
      const l = runCli(['show', d.slice(prefix.length), '--json'], env);
      const r = runCli(['show', d, '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(normalize(r.stdout)).toBe(normalize(l.stdout));
    }
    const textLocal = runCli(['show', dirs[2]!.slice(prefix.length)], env);
    const textRemote = runCli(['show', dirs[2]!], env);
    expect(normalize(textRemote.stdout)).toBe(normalize(textLocal.stdout));
    expect(textRemote.stdout).toContain('Traceback (most recent call last):');

    const sl = runCli(['summarize', ...dirs.map((d) => d.slice(prefix.length)), '--json'], env);
    const sr = runCli(['summarize', ...dirs, '--json'], env);
    expect(sr.code, sr.stderr).toBe(0);
    expect(normalize(sr.stdout)).toBe(normalize(sl.stdout));
  }, 90_000);

  it('compare mixes local and remote experiments', () => {
    const dirs = (
      JSON.parse(runCli(['list', root, '--json'], env).stdout) as { experiments: Array<{ path: string }> }
    ).experiments.map((e) => e.path);
    const mixed = [sshd.url(dirs[0]!), dirs[1]!, sshd.url(dirs[2]!)];
    for (const format of [[], ['--json'], ['--csv']]) {
      const l = runCli(['compare', dirs[0]!, dirs[1]!, dirs[2]!, ...format], env);
      const r = runCli(['compare', ...mixed, ...format], env);
      expect(r.code, r.stderr).toBe(0);
      expect(normalize(r.stdout)).toBe(normalize(l.stdout));
    }
  }, 60_000);

  it("the backend's listing of seed-written folders is one remote command too (no SLURM question)", async () => {
    const pool = new RemotePool({
      configFile: sshd.sshConfig,
      knownHostsFiles: [sshd.knownHosts],
      identityFiles: [sshd.identity],
      agent: null,
    });
    try {
      const backend = new SshBackend({
        pool,
        summaries: new SummaryStore({ cacheDir: tmpDir('expdesk-rc-') }),
      });
      const listing = await backend.list(sshd.url(root));
      expect(listing.experiments.length).toBeGreaterThanOrEqual(5);
      expect(listing.experiments.some((e) => e.status.source === 'inferred')).toBe(true);
      expect(pool.forLocation(sshd.url(root)).conn.stats.execs).toBe(1);
    } finally {
      pool.closeAll();
    }
  }, 60_000);

  it('a listing is one remote command; the next one transfers only the appended bytes', async () => {
    const store = new SummaryStore({ cacheDir: tmpDir('expdesk-rc-') });
    const c = conn();
    try {
      const ws = new RemoteWorkspace(c, parseRemoteLocation(sshd.url(root))!, store);
      const first = await ws.list(root);
      expect(c.stats.execs).toBe(1);
      const firstBytes = c.stats.bytesIn;
      const local = await listWorkspace(root, new SummaryStore({ cacheDir: false }));
      expect(first.experiments.map((e) => [e.name, e.total_steps, e.final_loss, e.records])).toEqual(
        local.experiments.map((e) => [e.name, e.total_steps, e.final_loss, e.records]),
      );

      const exp5 = local.experiments[4]!.path;
      appendFileSync(
        path.join(exp5, 'logs', 'metrics.jsonl'),
        '{"step": 51, "prefix": "train", "train/loss": 0.125}\n{"step": 52, "prefix": "train", "train/loss": 0.0625}\n',
      );
      const second = await ws.list(root);
      expect(c.stats.execs).toBe(2);
      const secondBytes = c.stats.bytesIn - firstBytes;
      expect(second.experiments[4]).toMatchObject({ total_steps: 52, final_loss: 0.0625 });
      expect(second.experiments[4]!.records).toBe(first.experiments[4]!.records + 2);
      // Only the metadata of 5 folders and 2 new lines: a small fraction of the first transfer.
      expect(secondBytes).toBeLessThan(firstBytes / 4);

      // A new process (new connection, same disk cache) also resumes at the cached offsets.
      const c2 = conn();
      try {
        const again = await new RemoteWorkspace(c2, parseRemoteLocation(sshd.url(root))!, store).list(root);
        expect(again.experiments[4]).toMatchObject({ total_steps: 52 });
        expect(c2.stats.bytesIn).toBeLessThan(firstBytes / 4);
      } finally {
        c2.close();
      }
    } finally {
      c.close();
    }
  });

  it('each metrics byte crosses the link once and is parsed once: listings, charts and appends share one mirror and feed', async () => {
    // Room for every experiment's columns: the budget's evictions (which re-read, locally) are not under test here.
    const feeds = new MetricsFeeds({ maxExperiments: 50, maxListedExperiments: 50 });
    const store = new SummaryStore({ cacheDir: tmpDir('expdesk-rc-'), feeds });
    const c = conn();
    try {
      const ws = new RemoteWorkspace(c, parseRemoteLocation(sshd.url(root))!, store);
      const series = new SeriesStore({ feeds });
      const chart = async (location: string): Promise<number> => {
        const [m] = await ws.mirror.sync(c, [{ location, remotePath: parseRemoteLocation(location)!.path }]);
        if (m instanceof Error) throw m;
        return (await series.query(m!.dir, { x: 'step', buckets: 100 })).records;
      };
      const first = await ws.list(root);
      for (const e of first.experiments) expect(await chart(e.path)).toBe(e.records);

      const exp5 = first.experiments[4]!;
      const file5 = path.join(parseRemoteLocation(exp5.path)!.path, 'logs', 'metrics.jsonl');
      appendFileSync(file5, '{"step": 60, "prefix": "train", "train/loss": 0.03125}\n');
      expect(await chart(exp5.path)).toBe(exp5.records + 1); // the chart brings the new line first…
      appendFileSync(file5, '{"step": 61, "prefix": "train", "train/loss": 0.015625}\n');
      const second = await ws.list(root); // …the listing the next one
      expect(second.experiments[4]).toMatchObject({ records: exp5.records + 2, final_loss: 0.015625 });
      expect(await chart(exp5.path)).toBe(exp5.records + 2);

      const texts = first.experiments.map((e) => {
        const f = path.join(parseRemoteLocation(e.path)!.path, 'logs', 'metrics.jsonl');
        return existsSync(f) ? readFileSync(f) : Buffer.alloc(0);
      });
      const size = texts.reduce((n, t) => n + t.length, 0);
      // A partial last line (one seed folder has one) crossed, but waits for its newline to be parsed.
      const complete = texts.reduce((n, t) => n + t.lastIndexOf(10) + 1, 0);
      const lines = texts.reduce(
        (n, t) =>
          n +
          t
            .subarray(0, t.lastIndexOf(10) + 1)
            .toString()
            .split('\n').length -
          1,
        0,
      );
      expect(ws.mirror.stats.bytes).toBe(size);
      expect(feeds.counters.bytes).toBe(complete);
      expect(feeds.counters.lines).toBe(lines);
    } finally {
      c.close();
    }
  }, 60_000);

  it('listing, showing and comparing over ssh never write into the folders', () => {
    const before = treeSnapshot(root);
    expect(runCli(['list', sshd.url(root)], env).code).toBe(0);
    const dirs = (
      JSON.parse(runCli(['list', root, '--json'], env).stdout) as { experiments: Array<{ path: string }> }
    ).experiments.map((e) => sshd.url(e.path));
    expect(runCli(['compare', ...dirs, '--csv'], env).code).toBe(0);
    expect(runCli(['show', dirs[0]!], env).code).toBe(0);
    expect(treeSnapshot(root)).toEqual(before);
  });

  it('a missing remote folder exits 3 with one line, like a local one', () => {
    const r = runCli(['list', sshd.url(path.join(root, 'nope'))], env);
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toBe(`expdesk: no such folder: ${path.join(root, 'nope')}`);
  });

  it('resolves host aliases from the ssh config (host:/path form) and connects through ProxyJump', () => {
    const config = path.join(sshd.dir, 'alias_config');
    writeFileSync(
      config,
      [
        'Host testbox',
        '  HostName 127.0.0.1',
        `  Port ${sshd.port}`,
        `  User ${sshd.user}`,
        `  IdentityFile ${sshd.identity}`,
        'Host jumped',
        '  HostName 127.0.0.1',
        `  Port ${sshd.port}`,
        `  User ${sshd.user}`,
        '  ProxyJump testbox',
        `  IdentityFile ${sshd.identity}`,
        '',
      ].join('\n'),
    );
    const aliasEnv = { ...env, EXPDESK_SSH_CONFIG: config, EXPDESK_SSH_IDENTITY: '' };
    const direct = runCli(['list', `testbox:${root}`], aliasEnv);
    expect(direct.code, direct.stderr).toBe(0);
    expect(direct.stdout).toContain(`5 experiment(s) in ssh://testbox${root}/experiments`);
    const jumped = runCli(['list', `ssh://jumped${root}`, '--json'], aliasEnv);
    expect(jumped.code, jumped.stderr).toBe(0);
    expect(JSON.parse(jumped.stdout).experiments).toHaveLength(5);
  });

  it('asks for the passphrase of an encrypted key (three tries), and uses ssh-agent', async () => {
    const encrypted = path.join(sshd.dir, 'id_encrypted');
    const pub = keygen(encrypted, 'correct horse');
    appendFileSync(path.join(sshd.dir, 'authorized_keys'), `${pub}\n`);
    const asked: number[] = [];
    const c = conn({
      identityFiles: [encrypted],
      passphrase: async (file, attempt) => {
        expect(file).toBe(encrypted);
        asked.push(attempt);
        return attempt === 1 ? 'wrong' : 'correct horse';
      },
    });
    try {
      await c.connect();
      expect(asked).toEqual([1, 2]);
    } finally {
      c.close();
    }

    const sock = path.join(sshd.dir, 'agent.sock');
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
      execFileSync('ssh-add', [sshd.identity], {
        env: { ...process.env, SSH_AUTH_SOCK: sock },
        stdio: 'ignore',
      });
      const viaAgent = conn({ identityFiles: [], agent: sock });
      try {
        await viaAgent.connect();
        expect(viaAgent.connected).toBe(true);
      } finally {
        viaAgent.close();
      }
    } finally {
      agent.kill();
    }
  });

  it('refuses to log in with no usable key, with a clear error', async () => {
    const c = conn({ identityFiles: [path.join(sshd.dir, 'nonexistent')] });
    await expect(c.connect()).rejects.toThrow(/could not log in to .*none of the keys/);
    c.close();
  });
});
