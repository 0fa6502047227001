/**
 * ssh2 itself, loaded on the first connection while its TCP connection is
 * already under way (openEarly), a forwarded stream to the next ProxyJump
 * hop, and authentication in fewer round trips (fastAuth):
 * - For a key in hand ssh2 first asks whether the server would accept it (a
 *   USERAUTH_REQUEST without a signature, answered by PK_OK) and only then
 *   signs; RFC 4252 §7 lets a client send the signed request at once, and
 *   OpenSSH's client does so for a private key it has loaded. Keys it cannot
 *   sign with here (an agent's: the agent signs) are asked about as before.
 *   A key the server refuses costs what it cost before: the failure leads
 *   ssh2 on to the next method, as after a refused query.
 * - The userauth service's acceptance is not waited for, and a channel may
 *   be opened ahead of the key's answer (AheadHooks).
 * At 100 ms a round trip, each is 100 ms of every connection. ssh2 has no
 * option for any of these, so its protocol object's authPK, service and
 * message handlers are wrapped; where ssh2's internals are not as expected
 * nothing is changed.
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
type Handler = (...args: unknown[]) => void;

/** The parts of ssh2's (internal) protocol object used here, each checked before use. */
interface Proto {
  authPK?: AuthPK;
  service?: (name: string) => void;
  _handlers?: Record<string, Handler | undefined>;
}

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

/**
 * What a connection does with a channel asked for ahead of the answer to its
 * key (RFC 4252 §5.1: the messages a client sends after the request that
 * succeeds go to the service; OpenSSH's sshd keeps them across its privilege
 * separation). A signed request is taken as one that will succeed when it
 * follows the server's PK_OK, or when no other method could follow it (its
 * refusal ends the connection anyway, so nothing asked for ahead can run).
 */
export interface AheadHooks {
  /** Whether no other method (agent, key file) could follow the one ssh2 is about to use. */
  isLastMethod(): boolean;
  /** A signed request that should succeed is out: a channel opened now follows it. */
  openable(): void;
  /**
   * That request was refused where other methods could follow. True: the
   * connection gives this attempt up (a channel asked for ahead must never
   * open after a later method's success), and ssh2 is not told. False: ssh2
   * goes on to its next method, and nothing is opened ahead any more.
   */
  refused(): boolean;
}

/**
 * Make `client` (just after connect()) authenticate in fewer round trips:
 * - The userauth service's acceptance is not waited for (RFC 4253 §10): the
 *   server answers messages in order, and one that refuses the service
 *   disconnects. The first request goes out once the server's EXT_INFO is in
 *   (OpenSSH sends it with its NEWKEYS: its server-sig-algs choose an RSA
 *   key's signature); a server that sends none is waited for, as before.
 * - A key in hand is signed at once (see the module's note).
 * - With `ahead`, the connection is told when a channel may be opened before
 *   the server's answer (AheadHooks).
 */
export function fastAuth(client: Client, ahead?: AheadHooks): void {
  // ssh2's protocol object is internal: reached through its field, checked before use.
  const proto = (client as unknown as { _protocol?: Proto })._protocol;
  if (!proto) return;
  acceptServiceAtOnce(proto);
  const authPK = proto.authPK;
  if (typeof authPK !== 'function') return;
  const handlers = proto._handlers;
  const failure = handlers?.USERAUTH_FAILURE;
  const success = handlers?.USERAUTH_SUCCESS;
  // Where ssh2's handlers are not as expected, nothing is opened ahead.
  const hooks =
    ahead && handlers && typeof failure === 'function' && typeof success === 'function' ? ahead : undefined;
  // The state of the one request a channel may follow: none yet, out, or done with (answered, refused).
  let signed: 'none' | 'out' | 'done' = 'none';
  let wasLast = false;
  const sent = (last: boolean): void => {
    if (!hooks || signed !== 'none') return;
    signed = 'out';
    wasLast = last;
    hooks.openable();
  };
  if (hooks && handlers && failure && success) {
    handlers.USERAUTH_FAILURE = (...args) => {
      if (signed === 'out') {
        signed = 'done';
        if (!wasLast && hooks.refused()) return;
      }
      failure(...args);
    };
    handlers.USERAUTH_SUCCESS = (...args) => {
      signed = 'done';
      success(...args);
    };
  }
  proto.authPK = function (this: unknown, username, key, keyAlgo, cbSign) {
    if (typeof keyAlgo === 'function') return authPK.call(this, username, key, keyAlgo, cbSign);
    if (cbSign) {
      // ssh2 signs after the server's PK_OK (an agent's key): that request should succeed.
      const sign = cbSign;
      return authPK.call(this, username, key, keyAlgo, (data, done) =>
        sign(data, (signature) => {
          done(signature);
          sent(false);
        }),
      );
    }
    if (!isPrivateKey(key)) return authPK.call(this, username, key, keyAlgo);
    const signature = key.sign(Buffer.alloc(0), hashOf(keyAlgo));
    if (signature instanceof Error) return authPK.call(this, username, key, keyAlgo);
    const last = hooks?.isLastMethod() ?? false;
    authPK.call(this, username, key, keyAlgo, (data, done) => {
      const sig = key.sign(data, hashOf(keyAlgo));
      // Cannot happen once a test signature worked; ssh2 would throw on it, so fail the key cleanly.
      done(sig instanceof Error ? Buffer.alloc(0) : sig);
    });
    if (last) sent(true);
  };
}

/** The userauth service's SERVICE_ACCEPT taken as given once the server's EXT_INFO is in (fastAuth). */
function acceptServiceAtOnce(proto: Proto): void {
  const service = proto.service;
  const handlers = proto._handlers;
  const accept = handlers?.SERVICE_ACCEPT;
  const extInfo = handlers?.EXT_INFO;
  if (
    typeof service !== 'function' ||
    !handlers ||
    typeof accept !== 'function' ||
    typeof extInfo !== 'function'
  )
    return;
  let state: 'idle' | 'asked' | 'assumed' | 'done' = 'idle';
  proto.service = function (this: unknown, name: string) {
    service.call(this, name);
    if (name === 'ssh-userauth' && state === 'idle') state = 'asked';
  };
  handlers.EXT_INFO = (...args) => {
    extInfo(...args);
    if (state !== 'asked') return;
    state = 'assumed';
    accept(proto, 'ssh-userauth');
  };
  handlers.SERVICE_ACCEPT = (p, name) => {
    const assumed = state === 'assumed';
    if (name === 'ssh-userauth') state = 'done';
    if (assumed && name === 'ssh-userauth') return; // already acted on
    accept(p, name);
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
