/**
 * Sessions that clean up (issue 10): every WebSocket client of `expdesk
 * serve` owns what it subscribes to. 50 clients connect to a real server on
 * a real host, each follows the log of a run whose log keeps growing and
 * watches its folder; once they have all closed, the host has no log
 * follow, watch, poll timer or SSH channel left (its own counters, with
 * Node's list of active handles as a cross-check). The remote case does the
 * same against a real sshd: the follow channels close when the clients go.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { HostActivity } from '../../src/main/host/host';
import type { RunningServer } from '../../src/main/server/server';
import { cookieName } from '../../src/main/server/security';
import { envOverrides } from '../helpers/env';
import { serveHost as serve } from '../helpers/served-host';
import { startSshd, type TestSshd } from '../helpers/sshd';

const CLIENTS = 50;
const IDLE: HostActivity = {
  logFollows: 0,
  watches: 0,
  remoteWatches: 0,
  runWatches: 0,
  timers: 0,
  sshChannels: 0,
};

let tmp: string;
let expDir: string;
let logFile: string;
let grower: NodeJS.Timeout;

/** A run folder whose logs/train.log gets a line every 20 ms while the test runs. */
function growingRun(root: string): { dir: string; log: string } {
  const dir = path.join(root, 'experiments', 'exp001_dpo_tiny_0101_1200');
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  writeFileSync(path.join(dir, 'config.yaml'), 'experiment: {name: tiny}\nalgorithm: {name: dpo}\n');
  writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify({ experiment_name: 'tiny' }));
  const log = path.join(dir, 'logs', 'train.log');
  writeFileSync(log, 'step 0\n');
  return { dir, log };
}

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'expdesk-sessions-'));
  ({ dir: expDir, log: logFile } = growingRun(tmp));
  let step = 1;
  grower = setInterval(() => appendFileSync(logFile, `step ${step++}\n`), 20);
});

afterAll(() => {
  clearInterval(grower);
  rmSync(tmp, { recursive: true, force: true });
});

/** A browser tab: a WebSocket with the token cookie, requests by id, events collected. */
class Client {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly logData = new Map<string, number>();
  private constructor(private readonly ws: WebSocket) {
    ws.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('closed before the answer'));
      this.pending.clear();
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
        event?: string;
        payload?: { subscription?: string };
      };
      if (msg.event === 'log.data' && msg.payload?.subscription) {
        const id = msg.payload.subscription;
        this.logData.set(id, (this.logData.get(id) ?? 0) + 1);
      } else if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message));
        else p?.resolve(msg.result);
      }
    });
  }

  static open(server: RunningServer): Promise<Client> {
    const hostHeader = `127.0.0.1:${server.port}`;
    const ws = new WebSocket(`ws://${hostHeader}/api`, {
      headers: { cookie: `${cookieName(server.port)}=${server.token}`, origin: `http://${hostHeader}` },
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('error', reject);
    });
  }

  request<T>(method: string, params: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Follow the run's log (from its last bytes, as the Log tab does) and watch its folder. */
  async follow(dir: string): Promise<string> {
    const { subscription } = await this.request<{ subscription: string }>('log.subscribe', {
      expDir: dir,
      fromOffset: -256,
    });
    await this.request('experiments.watch', { paths: [dir] });
    return subscription;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Node's own view: open sockets (TCP) and timers, by kind. */
function resources(): { sockets: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return {
    sockets: info.filter((r) => r === 'TCPSocketWrap' || r === 'TCPWRAP').length,
    timers: info.filter((r) => r === 'Timeout').length,
  };
}

describe('client sessions', () => {
  it(`${CLIENTS} WebSocket clients, each following a growing log and watching it, leave nothing behind`, async () => {
    const served = await serve(path.join(tmp, 'experiments'));
    try {
      const baseline = resources();
      expect(served.host.activity()).toEqual(IDLE);
      for (let batch = 0; batch < CLIENTS; batch += 10) {
        const clients = await Promise.all(Array.from({ length: 10 }, () => Client.open(served.server)));
        const subs = await Promise.all(clients.map((c) => c.follow(expDir)));
        expect(served.host.activity()).toMatchObject({ logFollows: 10, watches: 10 });
        expect(served.host.activity().timers).toBeGreaterThan(0);
        // Each follow is live: the log's new lines reach every client.
        await until('log lines for every client', () =>
          clients.every((c, i) => (c.logData.get(subs[i]!) ?? 0) >= 2),
        );
        expect(resources().sockets).toBeGreaterThan(baseline.sockets);
        await Promise.all(clients.map((c) => c.close()));
        await until(`batch ${batch / 10 + 1}'s subscriptions to end`, () => {
          const a = served.host.activity();
          return a.logFollows === 0 && a.watches === 0;
        });
      }
      await until('no timer left', () => served.host.activity().timers === 0);
      expect(served.host.activity()).toEqual(IDLE);
      // Cross-check with Node: the clients' sockets are closed, and no timer was added.
      await until('the sockets to close', () => resources().sockets <= baseline.sockets);
      expect(resources().timers).toBeLessThanOrEqual(baseline.timers);
    } finally {
      await served.close();
    }
  }, 300_000);

  it('a client that closes before its subscribe is answered leaves nothing either', async () => {
    const served = await serve(null);
    // Record what reaches the host (the session calls host.dispatch for the client and for its cleanup).
    const seen: string[] = [];
    const dispatch = served.host.dispatch.bind(served.host);
    served.host.dispatch = (name: unknown, params: unknown) => {
      seen.push(String(name));
      return dispatch(name, params);
    };
    try {
      const client = await Client.open(served.server);
      // Both requests leave at once; the socket closes before either answer arrives.
      const answers = [
        client.request('log.subscribe', { expDir, fromOffset: -256 }).catch(() => null),
        client.request('experiments.watch', { paths: [expDir] }).catch(() => null),
      ];
      await client.close();
      await Promise.all(answers);
      // The host opened both, and the server ended both on the closed client's behalf.
      await until(
        'the server to end both',
        () => seen.includes('log.unsubscribe') && seen.includes('experiments.unwatch'),
      );
      expect(seen.slice(0, 2).sort()).toEqual(['experiments.watch', 'log.subscribe']);
      await until('the late subscriptions to end', () => {
        const a = served.host.activity();
        return a.logFollows === 0 && a.watches === 0 && a.timers === 0;
      });
      expect(served.host.activity()).toEqual(IDLE);
    } finally {
      await served.close();
    }
  }, 120_000);
});

describe('client sessions on a remote experiment', () => {
  let sshd: TestSshd;
  const env = envOverrides();
  beforeAll(async () => {
    sshd = await startSshd();
    env.set(sshd.env);
  }, 120_000);
  afterAll(async () => {
    env.restore();
    await sshd?.stop();
  });

  it('closing the clients closes their SSH follow channels and stops the remote pollers', async () => {
    const served = await serve(null);
    try {
      const remoteDir = sshd.url(expDir);
      const clients = await Promise.all(Array.from({ length: 4 }, () => Client.open(served.server)));
      const subs: string[] = [];
      for (const c of clients) subs.push(await c.follow(remoteDir)); // one by one: sshd allows few channels
      await until('remote log lines for every client', () =>
        clients.every((c, i) => (c.logData.get(subs[i]!) ?? 0) >= 2),
      );
      const open = served.host.activity();
      expect(open).toMatchObject({ logFollows: 4, remoteWatches: 4 });
      expect(open.sshChannels).toBeGreaterThanOrEqual(4); // one follow channel per client
      await Promise.all(clients.map((c) => c.close()));
      await until('the SSH channels to close', () => {
        const a = served.host.activity();
        return a.sshChannels === 0 && a.logFollows === 0 && a.timers === 0;
      });
      expect(served.host.activity()).toEqual(IDLE);
    } finally {
      await served.close();
    }
  }, 300_000);
});
