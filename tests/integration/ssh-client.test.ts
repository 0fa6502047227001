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
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteUnreachableError, SshConnection } from '../../src/main/core/remote/connection';
import { signKeysAtOnce } from '../../src/main/core/remote/ssh-client';
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
    signKeysAtOnce(client);
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
