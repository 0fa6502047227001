/**
 * ssh2 itself, loaded on the first connection while its TCP connection is
 * already under way (openEarly), a forwarded stream to the next ProxyJump
 * hop, and public-key authentication in one round trip, not two. For a key in hand
 * ssh2 first asks whether the server would accept it (a USERAUTH_REQUEST
 * without a signature, answered by PK_OK) and only then signs; RFC 4252 §7
 * lets a client send the signed request at once, and OpenSSH's client does
 * so for a private key it has loaded. At 100 ms a round trip that is 100 ms
 * of every connection. ssh2 has no option for it, so the protocol object's
 * authPK is wrapped to sign when ssh2 would only ask; keys it cannot sign
 * with here (an agent's: the agent signs) are asked about as before, and
 * where ssh2's internals are not as expected nothing is changed. A key the
 * server refuses costs what it cost before: the failure leads ssh2 on to the
 * next method, as after a refused query.
 */
import net from 'node:net';
import type { Readable } from 'node:stream';
import type { Client } from 'ssh2';

type Ssh2 = typeof import('ssh2');
let ssh2: Promise<Ssh2> | null = null;

/** ssh2 (CommonJS: Node's ESM loader gives its exports as the default), loaded once, when first needed. */
export function loadSsh2(): Promise<Ssh2> {
  ssh2 ??= import('ssh2').then((m) => ((m as { default?: Ssh2 }).default ?? m) as Ssh2);
  return ssh2;
}

/**
 * The software version this client names in its identification string
 * (RFC 4253 §4.2: printable ASCII, no spaces or minus signs), given to ssh2
 * as its `ident`, so the string openEarly sends is byte for byte ssh2's own.
 */
export const CLIENT_IDENT = 'Expdesk_ssh2js';

/**
 * A TCP connection to an SSH server, opened before ssh2 has loaded (~50 ms
 * of CPU), its identification string sent at once: the server answers it
 * with its KEXINIT, which is then waiting when ssh2 starts, a round trip
 * sooner than if ssh2 sent the string. ssh2's own first write, the same
 * string, is dropped (another first write goes through: a changed ssh2
 * fails the real-server tests, it is never silently mangled). take() hands
 * the socket over, or what went wrong before (kept here, never an
 * unhandled 'error' event), in the words ssh2 would have reported.
 */
export function openEarly(
  host: string,
  port: number,
): { take(): net.Socket | Error; started: Promise<void> } {
  const socket = net.connect({ host, port });
  const ident = Buffer.from(`SSH-2.0-${CLIENT_IDENT}\r\n`, 'latin1');
  socket.write(ident); // sent as soon as the connection is up
  // A connection that is up at once (a LAN, a tunnel) is seen before ssh2's ~60 ms of loading, which
  // would hold its 'connect' event, and so the string, back; a far one is not waited for.
  const started = new Promise<void>((resolve) => {
    socket.once('connect', resolve);
    socket.once('error', () => resolve());
    setImmediate(() => setImmediate(resolve));
  });
  let failed: Error | null = null;
  const onError = (err: Error): void => {
    failed ??= err;
  };
  socket.on('error', onError);
  return {
    started,
    take() {
      socket.off('error', onError);
      if (failed || socket.destroyed) {
        socket.destroy();
        return failed ?? new Error(`the connection to ${host}:${port} closed`);
      }
      const write = socket.write;
      socket.write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]): boolean {
        socket.write = write;
        if (Buffer.isBuffer(chunk) && chunk.equals(ident)) return true;
        return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
      } as typeof socket.write;
      return socket;
    },
  };
}

type Sign = (data: Buffer, done: (signature: Buffer) => void) => void;
type AuthPK = (username: string, key: unknown, keyAlgo?: string, cbSign?: Sign) => void;

interface PrivateKey {
  isPrivateKey(): boolean;
  sign(data: Buffer, hash?: string): Buffer | Error;
}

function isPrivateKey(key: unknown): key is PrivateKey {
  const k = key as Partial<PrivateKey> | null;
  return typeof k?.isPrivateKey === 'function' && typeof k.sign === 'function' && k.isPrivateKey() === true;
}

/** The hash a signature algorithm names (ssh2's getKeyAlgos pairs); the key type's default otherwise. */
function hashOf(keyAlgo: string | undefined): string | undefined {
  return keyAlgo === 'rsa-sha2-256' ? 'sha256' : keyAlgo === 'rsa-sha2-512' ? 'sha512' : undefined;
}

/** Make `client` (just after connect()) send signed public-key requests without asking first. */
export function signKeysAtOnce(client: Client): void {
  // ssh2's protocol object is internal: reached through its field, checked before use.
  const proto = (client as unknown as { _protocol?: { authPK?: AuthPK } })._protocol;
  const authPK = proto?.authPK;
  if (!proto || typeof authPK !== 'function') return;
  proto.authPK = function (this: unknown, username, key, keyAlgo, cbSign) {
    if (cbSign || !isPrivateKey(key) || typeof keyAlgo === 'function')
      return authPK.call(this, username, key, keyAlgo, cbSign);
    const signature = key.sign(Buffer.alloc(0), hashOf(keyAlgo));
    if (signature instanceof Error) return authPK.call(this, username, key, keyAlgo);
    return authPK.call(this, username, key, keyAlgo, (data, done) => {
      const signed = key.sign(data, hashOf(keyAlgo));
      // Cannot happen once a test signature worked; ssh2 would throw on it, so fail the key cleanly.
      done(signed instanceof Error ? Buffer.alloc(0) : signed);
    });
  };
}

/** A stream to host:port through `client` (the next ProxyJump hop). */
export function forwardOut(client: Client, host: string, port: number): Promise<Readable> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
      if (err) reject(new Error(`ProxyJump: cannot open a channel to ${host}:${port}: ${err.message}`));
      else resolve(stream);
    });
  });
}
