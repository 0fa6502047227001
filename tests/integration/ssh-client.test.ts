/**
 * Connecting (core/remote/ssh-client.ts). The TCP connection is opened while
 * ssh2 loads: a refusal met before ssh2 takes the socket is reported as
 * ssh2 would have (no unhandled error). Public-key authentication signs at once: with a
 * key in hand, the client sends its signed request without first asking the
 * server whether it would take the key — one round trip fewer on every
 * connection, as OpenSSH's client does. Against the real sshd: ed25519 and
 * RSA keys (whose signature hash follows the negotiated rsa-sha2-* name) log
 * in without a query, and a key the server does not know leads on to the next
 * key, as after a refused query.
 */
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  RemoteUnreachableError,
  SshConnection,
  SshPermanentError,
} from '../../src/main/core/remote/connection';
import { fastAuth } from '../../src/main/core/remote/ssh-client';
import { freePort, keygen, startSshd, type TestSshd } from '../helpers/sshd';

let sshd: TestSshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

/** Log in with these keys in turn; whether it worked and the auth requests ssh2 sent. */
function login(keys: string[]): Promise<{ ok: boolean; sent: string[] }> {
  return new Promise((resolve) => {
    const sent: string[] = [];
    const client = new ssh2.Client();
    let i = 0;
    const done = (ok: boolean): void => {
      client.end();
      resolve({ ok, sent });
    };
    client.once('ready', () => done(true));
    client.once('error', () => done(false));
    client.connect({
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.user,
      hostVerifier: () => true,
      readyTimeout: 60_000,
      debug: (m: string) => {
        const r = /Sending USERAUTH_REQUEST \(([^)]*)\)/.exec(m);
        if (r) sent.push(r[1]!);
      },
      authHandler: (_left, _partial, next) =>
        i < keys.length
          ? next({ type: 'publickey', username: sshd.user, key: readFileSync(keys[i++]!) })
          : next(false as unknown as ssh2.AuthenticationType),
    });
    fastAuth(client);
  });
}

describe('public-key authentication', () => {
  it('sends a signed request at once for ed25519 and RSA keys, and moves on from an unknown key', async () => {
    expect(await login([sshd.identity])).toEqual({ ok: true, sent: ['publickey'] });

    const rsa = path.join(sshd.dir, 'id_rsa_test');
    appendFileSync(path.join(sshd.dir, 'authorized_keys'), `${keygen(rsa, '', 'rsa')}\n`);
    expect(await login([rsa])).toEqual({ ok: true, sent: ['publickey'] });

    const stranger = path.join(sshd.dir, 'id_stranger');
    keygen(stranger);
    expect(await login([stranger, sshd.identity])).toEqual({ ok: true, sent: ['publickey', 'publickey'] });
    expect(await login([stranger])).toEqual({ ok: false, sent: ['publickey'] });
  }, 90_000);
});

describe('the TCP connection opened before ssh2 loads', () => {
  it('a port nobody listens on: a clear refusal, as before', async () => {
    const conn = new SshConnection(
      { host: '127.0.0.1', user: sshd.user, port: await freePort() },
      {
        configFile: sshd.sshConfig,
        knownHostsFiles: [sshd.knownHosts],
        identityFiles: [sshd.identity],
        agent: null,
      },
    );
    const err = await conn.connect().then(
      () => null,
      (e: unknown) => e,
    );
    conn.close();
    expect(err).toBeInstanceOf(RemoteUnreachableError);
    expect((err as Error).message).toMatch(/connection refused/);
  });
});

/** A connection to `server` whose ssh2 protocol trace is kept. */
function traced(
  server: TestSshd,
  options: { identityFiles?: string[]; agent?: string | null } = {},
): { conn: SshConnection; trace: string[] } {
  const trace: string[] = [];
  const conn = new SshConnection(
    { host: '127.0.0.1', user: server.user, port: server.port },
    {
      configFile: server.sshConfig,
      knownHostsFiles: [server.knownHosts],
      identityFiles: options.identityFiles ?? [server.identity],
      agent: options.agent ?? null,
      debug: (line) => trace.push(line),
    },
  );
  return { conn, trace };
}

const at = (trace: string[], text: string): number => trace.findIndex((l) => l.includes(text));

describe('a new connection’s first command, in fewer round trips', () => {
  it('sends its key’s signed request before the service is accepted, and opens its channel before the key is', async () => {
    const { conn, trace } = traced(sshd);
    try {
      const r = await conn.exec('echo ran');
      expect(r.stdout.toString()).toBe('ran\n');
    } finally {
      conn.close();
    }
    const request = at(trace, 'Sending USERAUTH_REQUEST (publickey)');
    const channel = at(trace, 'Sending CHANNEL_OPEN (r:0, session)');
    expect(request).toBeGreaterThan(-1);
    expect(request).toBeLessThan(at(trace, 'Received SERVICE_ACCEPT'));
    expect(channel).toBeGreaterThan(request);
    expect(channel).toBeLessThan(at(trace, 'Received USERAUTH_SUCCESS'));
    expect(at(trace, 'publickey -- check')).toBe(-1);
  });

  it('a key the server refuses, where no other could follow: the command fails with the refusal, no hang', async () => {
    const stranger = path.join(sshd.dir, 'id_stranger_only');
    keygen(stranger);
    const { conn, trace } = traced(sshd, { identityFiles: [stranger] });
    const err = await conn.exec('echo ran').then(
      () => null,
      (e: unknown) => e,
    );
    conn.close();
    expect(err).toBeInstanceOf(SshPermanentError);
    expect(at(trace, 'Sending CHANNEL_OPEN')).toBeGreaterThan(at(trace, 'Sending USERAUTH_REQUEST'));
  });

  it('a signed request refused after its channel went ahead (a second key required): made again without, the command runs once', async () => {
    // Two keys required in turn: the first one's signed request is answered with a partial success, a
    // refusal for the channel that went ahead of it (OpenSSH answers the channel with UNIMPLEMENTED).
    const strict = await startSshd({ extraConfig: ['AuthenticationMethods publickey,publickey'] });
    const second = path.join(strict.dir, 'id_second');
    appendFileSync(path.join(strict.dir, 'authorized_keys'), `${keygen(second)}\n`);
    const sock = path.join(strict.dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    // Stopped by pid when the test ends, however it ends (a hung exec times out, and its finally never runs).
    onTestFinished(async () => {
      agent.kill();
      await strict.stop();
    });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    const env = { ...process.env, SSH_AUTH_SOCK: sock };
    execFileSync('ssh-add', [strict.identity, second], { env, stdio: 'ignore' });
    const counter = path.join(strict.dir, 'ran');
    const { conn, trace } = traced(strict, { identityFiles: [], agent: sock });
    try {
      const r = await conn.exec(`echo once >> ${counter}; wc -l < ${counter}`);
      expect(r.stdout.toString().trim()).toBe('1');
    } finally {
      conn.close();
    }
    expect(readFileSync(counter, 'utf8')).toBe('once\n');
    // The path was taken: a channel went ahead of a refused request, and a second one after success.
    const opens = trace.filter((l) => l.includes('Sending CHANNEL_OPEN (r:0, session)'));
    expect(opens).toHaveLength(2);
    expect(at(trace, 'Sending CHANNEL_OPEN')).toBeLessThan(at(trace, 'Received USERAUTH_FAILURE'));
  }, 60_000);
});
