/**
 * One SSH connection to a remote workspace's host, through ssh2.
 *
 * - Target resolved through ~/.ssh/config (ssh-config.ts): HostName, User,
 *   Port, IdentityFile, ProxyJump (each hop a forwarded stream of the
 *   previous one, each hop's host key checked).
 * - Host keys checked against known_hosts (known-hosts.ts), preferring in the
 *   key exchange the key types already recorded, as ssh does.
 * - Authentication: ssh-agent ($SSH_AUTH_SOCK), then each identity file; an
 *   encrypted key asks for its passphrase through a callback (the CLI prompts
 *   on the terminal, the host asks the interface), three tries like ssh.
 * - Keepalives detect a dead link; a lost connection is re-established with
 *   exponential backoff until a give-up deadline, then fails with a clear
 *   error. Authentication and host key failures are never retried.
 * - Every remote command is an exec channel; `stats.execs` counts them so
 *   tests and the benchmark can report round trips.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import ssh2, {
  type AnyAuthMethod,
  type AuthenticationType,
  type Client as SshClient,
  type ClientChannel,
  type ConnectConfig,
  type NextAuthHandler,
} from 'ssh2';
import { remoteEndpointLabel } from '../../../shared/remote-location';
import {
  defaultKnownHostsFiles,
  HostKeyChangedError,
  HostKeyUnknownError,
  knownKeyTypes,
  verifyHostKey,
  type HostKeyPolicy,
} from './known-hosts';
import { localUserName, resolveHost, type JumpHost, type ResolvedHost } from './ssh-config';
import { ExpdeskError } from '../../../shared/errors';

export type RemoteConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

export interface RemoteStatus {
  /** `[user@]host[:port]` as the user wrote it. */
  host: string;
  state: RemoteConnectionState;
  /** Reconnection attempt (1, 2, …); 0 for the first connection. */
  attempt: number;
  error?: string;
  /** Milliseconds until the next attempt, while reconnecting. */
  retryInMs?: number;
  /** Set when the host key stopped the connection: what to show the user. */
  hostKey?: {
    status: 'unknown' | 'changed';
    keyType: string;
    fingerprint: string;
    knownHostsFile: string;
    /** For a changed key: the line of the key on record. */
    line?: number;
  };
}

function hostKeyInfo(err: unknown): RemoteStatus['hostKey'] {
  if (err instanceof HostKeyUnknownError)
    return {
      status: 'unknown',
      keyType: err.keyType,
      fingerprint: err.fingerprint,
      knownHostsFile: err.knownHostsFile,
    };
  if (err instanceof HostKeyChangedError)
    return {
      status: 'changed',
      keyType: err.keyType,
      fingerprint: err.fingerprint,
      knownHostsFile: err.file,
      line: err.line,
    };
  return undefined;
}

export interface SshOptions {
  /** ssh_config file (default $EXPDESK_SSH_CONFIG, else ~/.ssh/config). */
  configFile?: string;
  /** known_hosts files (default $EXPDESK_KNOWN_HOSTS, else UserKnownHostsFile, else ~/.ssh/known_hosts). */
  knownHostsFiles?: string[];
  /** Identity files; when given (or $EXPDESK_SSH_IDENTITY), used instead of the default ~/.ssh/id_*. */
  identityFiles?: string[];
  /**
   * Record an unknown host's key and go on (OpenSSH's accept-new); a changed
   * key is still refused. A fingerprint accepts only that key.
   */
  acceptNewHostKey?: boolean | string;
  /** ssh-agent socket; default $SSH_AUTH_SOCK; null disables the agent. */
  agent?: string | null;
  /** Asked for an encrypted key's passphrase; null or undefined skips the key. */
  passphrase?: (keyFile: string, attempt: number) => Promise<string | null>;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Time for one connection attempt (TCP + handshake + authentication). */
  readyTimeoutMs?: number;
  /** Reconnection: first delay, longest delay, and when to give up. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  giveUpMs?: number;
  onStatus?: (status: RemoteStatus) => void;
  /** Home folder for ~ in the config (tests). */
  home?: string;
}

export interface SshTarget {
  host: string;
  user: string | null;
  port: number | null;
}

/** A failure that retrying cannot fix: authentication, host keys, configuration. */
export class SshPermanentError extends ExpdeskError {
  constructor(message: string) {
    super('ssh-refused', message);
    this.name = 'SshPermanentError';
  }
}

/** The connection was lost while a command ran; it may be retried after reconnecting. */
export class ConnectionLostError extends ExpdeskError {
  constructor(message: string) {
    super('ssh-unreachable', message);
    this.name = 'ConnectionLostError';
  }
}

/** The remote stayed unreachable until the give-up deadline. */
export class RemoteUnreachableError extends ExpdeskError {
  constructor(message: string) {
    super('ssh-unreachable', message);
    this.name = 'RemoteUnreachableError';
  }
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: string;
}

export interface ExecOptions {
  stdin?: Buffer | string;
  /** Kill the command's channel after this long (the command may go on remotely). */
  timeoutMs?: number;
  /** Re-run the command after a reconnection if the connection dropped under it (only for idempotent reads). */
  retry?: boolean;
}

function envNumber(name: string): number | undefined {
  const v = process.env[name];
  return v && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** ssh2's host key algorithms, best first; the ones known for a host move to the front. */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const;
type HostKeyAlgorithm = (typeof HOST_KEY_ALGORITHMS)[number];

export function preferredHostKeyAlgorithms(knownTypes: string[]): HostKeyAlgorithm[] {
  const wanted = new Set<string>();
  for (const t of knownTypes) {
    if (t === 'ssh-rsa') ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'].forEach((a) => wanted.add(a));
    else wanted.add(t);
  }
  return [
    ...HOST_KEY_ALGORITHMS.filter((a) => wanted.has(a)),
    ...HOST_KEY_ALGORITHMS.filter((a) => !wanted.has(a)),
  ];
}

function isPermanent(err: unknown): boolean {
  if (err instanceof SshPermanentError || err instanceof HostKeyUnknownError) return true;
  if (err instanceof HostKeyChangedError) return true;
  const level = (err as { level?: string }).level;
  return level === 'client-authentication';
}

/** One line for an error from ssh2 or the socket. */
export function describeSshError(err: unknown, label: string): string {
  const e = err as NodeJS.ErrnoException & { level?: string };
  if (e instanceof HostKeyUnknownError || e instanceof HostKeyChangedError) return e.message;
  if (e.level === 'client-authentication')
    return `could not log in to ${label}: the server accepted none of the keys tried (ssh-agent and identity files)`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `cannot connect to ${label}: connection refused (is sshd running, is the port right?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot connect to ${label}: unknown host name`;
    case 'ETIMEDOUT':
      return `cannot connect to ${label}: timed out`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot connect to ${label}: host unreachable`;
    case 'ECONNRESET':
      return `the connection to ${label} was reset`;
  }
  const msg = e.message || String(err);
  if (/Timed out while waiting for handshake/i.test(msg))
    return `cannot connect to ${label}: no SSH handshake (timed out)`;
  return `${label}: ${msg}`;
}

function defaultIdentityFiles(home: string): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((n) => path.join(home, '.ssh', n));
}

// ssh2 is CommonJS: Node's ESM loader sees only its default export.
const { Client, utils: sshUtils } = ssh2;
type Client = SshClient;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Hop {
  resolved: ResolvedHost;
  user: string;
  port: number;
}

export class SshConnection {
  readonly label: string;
  /** `channels`: exec channels open now (closed ones subtracted), so tests can show none is left. */
  readonly stats = { execs: 0, connects: 0, reconnects: 0, bytesIn: 0, channels: 0 };
  private client: Client | null = null;
  private jumps: Client[] = [];
  private connecting: Promise<Client> | null = null;
  private closed = false;
  private everConnected = false;
  private readonly pending = new Set<(err: Error) => void>();
  private readonly resolved: ResolvedHost;
  private readonly home: string;

  constructor(
    readonly target: SshTarget,
    private readonly options: SshOptions = {},
  ) {
    this.label = remoteEndpointLabel(target);
    this.home = options.home ?? os.homedir();
    this.resolved = resolveHost(target.host, { file: options.configFile, home: this.home });
  }

  /** The user and port actually used (command line, else config, else defaults). */
  get endpoint(): { host: string; user: string; port: number } {
    return {
      host: this.resolved.hostName,
      user: this.target.user ?? this.resolved.user ?? localUserName(),
      port: this.target.port ?? this.resolved.port ?? 22,
    };
  }

  private status(s: Omit<RemoteStatus, 'host'>): void {
    this.options.onStatus?.({ host: this.label, ...s });
  }

  private get giveUpMs(): number {
    return this.options.giveUpMs ?? envNumber('EXPDESK_SSH_GIVE_UP_MS') ?? 60_000;
  }

  /** Connect once; fails fast with a clear message (no retry before the first success). */
  async connect(): Promise<void> {
    await this.ensureConnected();
  }

  /** The live client, reconnecting with backoff when the link was lost. */
  ensureConnected(): Promise<Client> {
    if (this.closed) return Promise.reject(new Error(`the connection to ${this.label} was closed`));
    if (this.client) return Promise.resolve(this.client);
    if (!this.connecting) {
      this.connecting = (this.everConnected ? this.reconnectLoop() : this.firstConnect()).finally(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  private async firstConnect(): Promise<Client> {
    this.status({ state: 'connecting', attempt: 0 });
    try {
      const client = await this.openChain();
      this.everConnected = true;
      this.status({ state: 'connected', attempt: 0 });
      return client;
    } catch (err) {
      const message = describeSshError(err, this.label);
      this.status({ state: 'failed', attempt: 0, error: message, hostKey: hostKeyInfo(err) });
      if (err instanceof HostKeyUnknownError || err instanceof HostKeyChangedError) throw err;
      throw isPermanent(err) ? new SshPermanentError(message) : new RemoteUnreachableError(message);
    }
  }

  private async reconnectLoop(): Promise<Client> {
    const start = Date.now();
    const initial = this.options.retryInitialMs ?? envNumber('EXPDESK_SSH_RETRY_INITIAL_MS') ?? 500;
    const max = this.options.retryMaxMs ?? envNumber('EXPDESK_SSH_RETRY_MAX_MS') ?? 8000;
    let delay = initial;
    let lastError = '';
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new Error(`the connection to ${this.label} was closed`);
      this.status({ state: 'reconnecting', attempt, error: lastError || undefined });
      try {
        const client = await this.openChain();
        this.stats.reconnects++;
        this.status({ state: 'connected', attempt });
        return client;
      } catch (err) {
        lastError = describeSshError(err, this.label);
        if (isPermanent(err)) {
          this.status({ state: 'failed', attempt, error: lastError, hostKey: hostKeyInfo(err) });
          if (err instanceof HostKeyUnknownError || err instanceof HostKeyChangedError) throw err;
          throw new SshPermanentError(lastError);
        }
        const elapsed = Date.now() - start;
        if (elapsed + delay > this.giveUpMs) {
          const message =
            `lost the connection to ${this.label} and could not reconnect in ${Math.round(elapsed / 1000)} s ` +
            `(${attempt} attempt${attempt > 1 ? 's' : ''}): ${lastError}`;
          this.status({ state: 'failed', attempt, error: message });
          throw new RemoteUnreachableError(message);
        }
        this.status({ state: 'reconnecting', attempt, error: lastError, retryInMs: delay });
        await sleep(delay);
        delay = Math.min(delay * 2, max);
      }
    }
  }

  private hostKeyPolicy(resolved: ResolvedHost): HostKeyPolicy {
    return {
      files: this.options.knownHostsFiles ?? defaultKnownHostsFiles(resolved.userKnownHostsFiles, this.home),
      acceptNew:
        this.options.acceptNewHostKey ?? resolved.strictHostKeyChecking?.toLowerCase() === 'accept-new',
    };
  }

  /** Connect through every ProxyJump hop, then to the target. */
  private async openChain(): Promise<Client> {
    const hops: Hop[] = [];
    const addHop = (jump: JumpHost): void => {
      const r = resolveHost(jump.host, { file: this.options.configFile, home: this.home });
      hops.push({
        resolved: r,
        user: jump.user ?? r.user ?? localUserName(),
        port: jump.port ?? r.port ?? 22,
      });
    };
    for (const j of this.resolved.proxyJump) addHop(j);
    const ep = this.endpoint;
    hops.push({ resolved: this.resolved, user: ep.user, port: ep.port });

    const opened: Client[] = [];
    try {
      let sock: Readable | undefined;
      for (let i = 0; i < hops.length; i++) {
        const hop = hops[i]!;
        const client = await this.handshake(hop, sock);
        opened.push(client);
        const next = hops[i + 1];
        if (next) sock = await forwardOut(client, next.resolved.hostName, next.port);
      }
      const client = opened[opened.length - 1]!;
      this.jumps = opened.slice(0, -1);
      this.client = client;
      this.stats.connects++;
      const onGone = (): void => this.onConnectionLost(client);
      client.once('close', onGone);
      client.once('end', onGone);
      return client;
    } catch (err) {
      for (const c of opened) c.end();
      throw err;
    }
  }

  private onConnectionLost(client: Client): void {
    if (this.client !== client) return;
    this.client = null;
    for (const j of this.jumps) j.end();
    this.jumps = [];
    const err = new ConnectionLostError(`the connection to ${this.label} was lost`);
    for (const reject of [...this.pending]) reject(err);
    this.pending.clear();
    if (!this.closed) this.status({ state: 'reconnecting', attempt: 0, error: err.message });
  }

  private handshake(hop: Hop, sock: Readable | undefined): Promise<Client> {
    const policy = this.hostKeyPolicy(hop.resolved);
    const host = hop.resolved.hostName;
    let hostKeyError: Error | null = null;
    const keepaliveMs =
      this.options.keepaliveIntervalMs ??
      envNumber('EXPDESK_SSH_KEEPALIVE_MS') ??
      (hop.resolved.serverAliveIntervalSec ? hop.resolved.serverAliveIntervalSec * 1000 : 5000);
    const config: ConnectConfig = {
      host,
      port: hop.port,
      username: hop.user,
      sock,
      readyTimeout:
        this.options.readyTimeoutMs ??
        envNumber('EXPDESK_SSH_READY_TIMEOUT_MS') ??
        (hop.resolved.connectTimeoutSec ? hop.resolved.connectTimeoutSec * 1000 : 20_000),
      keepaliveInterval: keepaliveMs,
      keepaliveCountMax: this.options.keepaliveCountMax ?? hop.resolved.serverAliveCountMax ?? 3,
      algorithms: { serverHostKey: preferredHostKeyAlgorithms(knownKeyTypes(policy, host, hop.port)) },
      hostVerifier: (key: Buffer): boolean => {
        try {
          verifyHostKey(policy, host, hop.port, key);
          return true;
        } catch (err) {
          hostKeyError = err as Error;
          return false;
        }
      },
      authHandler: this.authHandler(hop),
    };
    return new Promise<Client>((resolve, reject) => {
      const client = new Client();
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        client.removeAllListeners('ready');
        client.on('error', () => undefined); // late errors of a failed attempt are not ours to throw
        client.end();
        reject(hostKeyError ?? err);
      };
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        client.on('error', () => undefined); // 'close' follows every error; onConnectionLost handles it
        resolve(client);
      });
      client.on('error', fail);
      client.once('close', () =>
        fail(new ConnectionLostError(`the connection to ${hop.resolved.alias} closed`)),
      );
      try {
        client.connect(config);
      } catch (err) {
        fail(err as Error);
      }
    });
  }

  private authHandler(
    hop: Hop,
  ): (left: AuthenticationType[], partial: boolean, next: NextAuthHandler) => void {
    const agent = this.options.agent === undefined ? process.env.SSH_AUTH_SOCK || null : this.options.agent;
    const explicit =
      this.options.identityFiles ??
      (process.env.EXPDESK_SSH_IDENTITY ? process.env.EXPDESK_SSH_IDENTITY.split(path.delimiter) : undefined);
    const files =
      explicit ??
      (hop.resolved.identityFiles.length ? hop.resolved.identityFiles : defaultIdentityFiles(this.home));
    const methods: Array<{ kind: 'agent' } | { kind: 'key'; file: string }> = [];
    if (agent && !(hop.resolved.identitiesOnly && hop.resolved.identityFiles.length))
      methods.push({ kind: 'agent' });
    for (const f of files) methods.push({ kind: 'key', file: f });
    let i = 0;
    const user = hop.user;
    const passphrase = this.options.passphrase;
    return (_left, _partial, next) => {
      const tryNext = async (): Promise<void> => {
        while (i < methods.length) {
          const m = methods[i++]!;
          if (m.kind === 'agent') return next({ type: 'agent', username: user, agent: agent! });
          let data: Buffer;
          try {
            data = readFileSync(m.file);
          } catch {
            continue; // a missing default key is normal
          }
          let parsed = sshUtils.parseKey(data);
          if (!(parsed instanceof Error)) return next({ type: 'publickey', username: user, key: data });
          if (!/passphrase|encrypted/i.test(parsed.message)) continue; // not a private key we can use
          if (!passphrase) continue;
          for (let attempt = 1; attempt <= 3; attempt++) {
            const phrase = await passphrase(m.file, attempt);
            if (phrase === null || phrase === undefined) break;
            parsed = sshUtils.parseKey(data, phrase);
            if (!(parsed instanceof Error)) {
              const method: AnyAuthMethod = {
                type: 'publickey',
                username: user,
                key: data,
                passphrase: phrase,
              };
              return next(method);
            }
          }
        }
        // ssh2 takes `false` for "no more methods"; its typings omit it.
        next(false as unknown as AuthenticationType);
      };
      void tryNext().catch(() => next(false as unknown as AuthenticationType));
    };
  }

  /** Run a command; stdout as bytes. Rejects with ConnectionLostError if the link dropped under it. */
  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    // A link that comes back but drops every time under this command is a failure too, not a loop.
    for (let attempt = 1; ; attempt++) {
      const client = await this.ensureConnected();
      try {
        return await this.execOn(client, command, opts);
      } catch (err) {
        if (err instanceof ConnectionLostError && opts.retry && !this.closed && attempt < 5) continue;
        throw err;
      }
    }
  }

  private execOn(client: Client, command: string, opts: ExecOptions): Promise<ExecResult> {
    this.stats.execs++;
    return new Promise<ExecResult>((resolve, reject) => {
      let done = false;
      const out: Buffer[] = [];
      let err = '';
      let code: number | null = null;
      let signal: string | null = null;
      let timer: NodeJS.Timeout | undefined;
      let channel: ClientChannel | null = null;
      const finish = (e: Error | null): void => {
        if (done) return;
        done = true;
        this.pending.delete(onLost);
        if (timer) clearTimeout(timer);
        if (e) reject(e);
        else resolve({ code, signal, stdout: Buffer.concat(out), stderr: err });
      };
      const onLost = (e: Error): void => finish(e);
      this.pending.add(onLost);
      if (opts.timeoutMs) {
        timer = setTimeout(() => {
          channel?.close();
          finish(new Error(`${this.label}: the remote command timed out after ${opts.timeoutMs} ms`));
        }, opts.timeoutMs);
      }
      try {
        client.exec(command, (e, stream) => {
          if (e) return finish(this.client === client ? e : new ConnectionLostError(e.message));
          channel = stream;
          this.countChannel(stream);
          stream.on('data', (d: Buffer) => {
            this.stats.bytesIn += d.length;
            out.push(d);
          });
          stream.stderr.on('data', (d: Buffer) => {
            if (err.length < 256 * 1024) err += d.toString('utf8');
          });
          stream.on('exit', (c: number | null, sig?: string) => {
            code = c;
            signal = sig ?? null;
          });
          stream.on('close', () => {
            if (code === null && signal === null && this.client !== client)
              finish(new ConnectionLostError(`the connection to ${this.label} was lost`));
            else finish(null);
          });
          if (opts.stdin !== undefined) stream.end(opts.stdin);
          else stream.end();
        });
      } catch (e) {
        finish(new ConnectionLostError((e as Error).message));
      }
    });
  }

  /**
   * Start a long-running command and hand its channel to the caller (followers).
   * The caller reads stdout and ends stdin to stop it; a lost link closes it.
   */
  async openStream(command: string, stdin?: Buffer | string): Promise<ClientChannel> {
    const client = await this.ensureConnected();
    this.stats.execs++;
    return new Promise<ClientChannel>((resolve, reject) => {
      try {
        client.exec(command, (e, stream) => {
          if (e) return reject(this.client === client ? e : new ConnectionLostError(e.message));
          this.countChannel(stream);
          if (stdin !== undefined) stream.write(stdin);
          resolve(stream);
        });
      } catch (e) {
        reject(new ConnectionLostError((e as Error).message));
      }
    });
  }

  /** Run a command in a remote pseudo-terminal (re-attaching to a run's tmux session). */
  async openTerminal(
    command: string,
    size: { rows: number; cols: number; term: string },
  ): Promise<ClientChannel> {
    const client = await this.ensureConnected();
    this.stats.execs++;
    return new Promise<ClientChannel>((resolve, reject) => {
      client.exec(command, { pty: { rows: size.rows, cols: size.cols, term: size.term } }, (e, stream) => {
        if (e) return reject(e);
        this.countChannel(stream);
        resolve(stream);
      });
    });
  }

  private countChannel(stream: ClientChannel): void {
    this.stats.channels++;
    stream.once('close', () => this.stats.channels--);
  }

  /** True while connected (for status displays). */
  get connected(): boolean {
    return this.client !== null;
  }

  /**
   * Drop the link without closing the object: a reconnect follows on next use.
   * For a link that stalls without failing (no frame within the heartbeat), and tests.
   */
  dropLink(): void {
    this.client?.destroy();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const client = this.client;
    this.client = null;
    client?.end();
    for (const j of this.jumps) j.end();
    this.jumps = [];
    for (const reject of [...this.pending]) reject(new Error(`the connection to ${this.label} was closed`));
    this.pending.clear();
    this.status({ state: 'closed', attempt: 0 });
  }
}

function forwardOut(client: Client, host: string, port: number): Promise<Readable> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
      if (err) reject(new Error(`ProxyJump: cannot open a channel to ${host}:${port}: ${err.message}`));
      else resolve(stream);
    });
  });
}
