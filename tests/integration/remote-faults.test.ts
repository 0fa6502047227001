/**
 * A fault-injecting TCP proxy between the SSH client and a real sshd: latency
 * on every byte, connections cut mid-tail, a link that hangs without closing,
 * and a remote gone for good. A live tail must resume from its byte offset
 * with no byte lost or doubled; a remote that never comes back must end in a
 * clear error within a bounded time, never a hang.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RemoteUnreachableError,
  SshConnection,
  type SshOptions,
} from '../../src/main/core/remote/connection';
import { RemoteLogFollower, remoteRunEnded } from '../../src/main/core/remote/remote-runs';
import { EXPDESK_BIN } from '../helpers/cli';
import { FaultProxy } from '../helpers/fault-proxy';
import { startSshd, type TestSshd } from '../helpers/sshd';

let sshd: TestSshd;
let root: string;

beforeAll(async () => {
  sshd = await startSshd();
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-faults-'));
});

afterAll(async () => {
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The CLI without blocking this process: the proxy lives in it and must keep serving. */
function runCliAsync(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [EXPDESK_BIN, ...args], {
      env: { ...process.env, EXPDESK_CACHE_DIR: path.join(root, 'cache'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * An experiment whose log a local Python process appends to (lines of varied
 * length, multi-byte UTF-8, a 100 kB line), recording "running" with its pid
 * and then "completed" in the status file, as the run wrapper does.
 */
function liveRun(
  name: string,
  lines: number,
  delayMs: number,
): { dir: string; log: string; writer: ChildProcess } {
  const dir = path.join(root, name);
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  writeFileSync(path.join(dir, 'config.yaml'), `experiment:\n  name: ${name}\n`);
  const log = path.join(dir, 'logs', 'train.log');
  writeFileSync(log, '');
  const script = `
import json, os, socket, sys, time
d, n, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) / 1000
def status(state):
    tmp = os.path.join(d, "expdesk_status.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"schema": "expdesk.status/1", "state": state, "pid": os.getpid(),
                   "hostname": socket.gethostname(), "exit_code": 0 if state == "completed" else None}, f)
    os.replace(tmp, os.path.join(d, "expdesk_status.json"))
status("running")
with open(os.path.join(d, "logs", "train.log"), "ab", buffering=0) as f:
    for i in range(n):
        text = "step %d | loss %.4f | \\u00e9t\\u00e9 \\u2713 %s\\n" % (i, 1.0 / (i + 1), "x" * (i % 97))
        if i == n // 2:
            text = "long line " + "y" * 100000 + "\\n"
        f.write(text.encode("utf-8"))
        time.sleep(delay)
status("completed")
`;
  const writer = spawn('python3', ['-c', script, dir, String(lines), String(delayMs)], { stdio: 'ignore' });
  return { dir, log, writer };
}

function connOptions(extra: Partial<SshOptions> = {}): SshOptions {
  return {
    configFile: sshd.sshConfig,
    knownHostsFiles: [sshd.knownHosts],
    identityFiles: [sshd.identity],
    agent: null,
    retryInitialMs: 100,
    retryMaxMs: 1000,
    giveUpMs: 30_000,
    keepaliveIntervalMs: 500,
    keepaliveCountMax: 3,
    readyTimeoutMs: 3000,
    ...extra,
  };
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('through a fault-injecting proxy', () => {
  it('a live tail survives cut connections and a hung link: every byte once, in order', async () => {
    const proxy = new FaultProxy(sshd.port, { latencyMs: 25 });
    sshd.trustPort(await proxy.listen());
    const run = liveRun('exp001_cut', 900, 12);
    const statuses: string[] = [];
    const conn = new SshConnection(
      { host: '127.0.0.1', user: sshd.user, port: proxy.port },
      connOptions({ onStatus: (s) => statuses.push(s.state) }),
    );
    const chunks: Buffer[] = [];
    let expected = 0;
    let received = 0;
    const follower = new RemoteLogFollower(conn, run.dir, {
      fromOffset: 0,
      heartbeatMs: 500,
      onData: (offset, data) => {
        expect(offset).toBe(expected); // contiguous: no gap, no overlap
        expected = offset + data.length;
        received += data.length;
        chunks.push(data);
      },
      onState: (s) => {
        if (remoteRunEnded(s, 120_000)) follower.stop();
      },
    });
    // Settled into a value at once, so a failure is reported by the assertion below, not as unhandled.
    const done = follower.run().then(
      () => null,
      (e: unknown) => e,
    );
    try {
      await until(() => received > 2_000, 20_000, 'the first bytes');
      proxy.cut();
      const atCut = received;
      await until(() => received > atCut + 2_000, 20_000, 'bytes after the first cut');
      proxy.cut();
      const atSecond = received;
      await until(() => received > atSecond + 1_000, 20_000, 'bytes after the second cut');
      // A link that hangs without closing: keepalives notice, the link is re-made.
      const before = statuses.length;
      proxy.stalled = true;
      await until(() => statuses.slice(before).includes('reconnecting'), 20_000, 'the stall to be noticed');
      proxy.stalled = false;
      await until(() => conn.stats.reconnects >= 3, 20_000, 'the third reconnection');
      expect(await done).toBeNull();
    } finally {
      follower.stop();
      conn.close();
      await proxy.close();
      run.writer.kill();
    }
    expect(Buffer.concat(chunks).equals(readFileSync(run.log))).toBe(true);
    expect(conn.stats.reconnects).toBeGreaterThanOrEqual(3);
    expect(statuses).toContain('reconnecting');
  }, 90_000);

  it('`expdesk tail --follow` through the proxy resumes after a cut and prints the log exactly', async () => {
    const proxy = new FaultProxy(sshd.port, { latencyMs: 10 });
    sshd.trustPort(await proxy.listen());
    const run = liveRun('exp002_cli', 300, 10);
    const child = spawn(process.execPath, [EXPDESK_BIN, 'tail', '--follow', sshd.url(run.dir, proxy.port)], {
      env: {
        ...process.env,
        ...sshd.env,
        EXPDESK_CACHE_DIR: path.join(root, 'cache'),
        EXPDESK_SSH_RETRY_INITIAL_MS: '100',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      await until(() => Buffer.concat(out).length > 3_000, 30_000, 'the tail to print');
      proxy.cut();
      const code = await Promise.race([exited, sleep(60_000).then(() => 'timeout' as const)]);
      expect(code, stderr).toBe(0);
    } finally {
      child.kill();
      await proxy.close();
      run.writer.kill();
    }
    expect(stderr).toContain('connection lost');
    // Exactly the log's end: `tail` starts 64 KiB before the end, so on a loaded machine, where the
    // command starts after the run's 100 kB line is written, it begins mid-file; from there on
    // every byte must be printed once, in order, across the cut.
    const printed = Buffer.concat(out);
    const log = readFileSync(run.log);
    expect(printed.length).toBeGreaterThan(3_000);
    expect(log.subarray(log.length - printed.length).equals(printed)).toBe(true);
  }, 90_000);

  it('a remote gone for good ends in a clear error within the give-up time, not a hang', async () => {
    const proxy = new FaultProxy(sshd.port);
    sshd.trustPort(await proxy.listen());
    const run = liveRun('exp003_gone', 100000, 50);
    const conn = new SshConnection(
      { host: '127.0.0.1', user: sshd.user, port: proxy.port },
      connOptions({ giveUpMs: 3000 }),
    );
    let received = 0;
    const follower = new RemoteLogFollower(conn, run.dir, { onData: (_o, d) => (received += d.length) });
    const done = follower.run().then(
      () => null,
      (e: unknown) => e,
    );
    try {
      await until(() => received > 0, 20_000, 'the first bytes');
      proxy.refuse = true;
      proxy.cut();
      const t0 = Date.now();
      const err = await done;
      expect(err).toBeInstanceOf(RemoteUnreachableError);
      expect((err as Error).message).toMatch(
        /lost the connection to .* could not reconnect in \d+ s \(\d+ attempts?\)/,
      );
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      follower.stop();
      conn.close();
      await proxy.close();
      run.writer.kill();
    }

    // The CLI says so in one line and exits 4, quickly, for a refused or a silent host.
    const dead = new FaultProxy(sshd.port);
    sshd.trustPort(await dead.listen());
    dead.refuse = true;
    let t = Date.now();
    const refused = await runCliAsync(['list', sshd.url(root, dead.port)], sshd.env);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/^expdesk: .*127\.0\.0\.1/);
    expect(Date.now() - t).toBeLessThan(15_000);
    dead.refuse = false;
    dead.stalled = true;
    t = Date.now();
    const silent = await runCliAsync(['list', sshd.url(root, dead.port)], {
      ...sshd.env,
      EXPDESK_SSH_READY_TIMEOUT_MS: '2000',
    });
    expect(silent.code).toBe(4);
    expect(silent.stderr).toContain('timed out');
    expect(Date.now() - t).toBeLessThan(15_000);
    await dead.close();
  }, 90_000);
});
