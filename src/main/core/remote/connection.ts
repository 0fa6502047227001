/**
 * One SSH connection to a remote workspace's host, through ssh2.
 *
 * - Target resolved through ~/.ssh/config (ssh-config.ts): HostName, User,
 *   Port, IdentityFile, ProxyJump (each hop a forwarded stream of the
 *   previous one, each hop's host key checked).
 * - Host keys checked against known_hosts (known-hosts.ts), preferring in the
 *   key exchange the key types already recorded, as ssh does.
 * - Authentication (ssh-auth.ts): ssh-agent ($SSH_AUTH_SOCK), then each
 *   identity file (its signature sent at once, ssh-client.ts); an encrypted
 *   key asks for its passphrase through a callback (the CLI prompts on the
 *   terminal, the host asks the interface), three tries like ssh.
 * - Keepalives detect a dead link; a lost connection is re-established with
 *   exponential backoff until a give-up deadline, then fails with a clear
 *   error. Authentication and host key failures are never retried.
 * - Every remote command is an exec channel; `stats.execs` counts them so
 *   tests and the benchmark can report round trips.
 * - Round trips saved while connecting (ssh-client.ts fastAuth, ssh-ahead.ts): the
 *   userauth service is not waited for, a key in hand is signed at once,
 *   and a command asked for while the key's signed request is out opens its
 *   channel then, ahead of the answer. Where that request is refused and
 *   another method could follow, the attempt is given up and made again
 *   without, so a channel asked for ahead never opens after another key.
 */
import os from 'node:os';
import type { Readable } from 'node:stream';
import type { Client as SshClient, ClientChannel, ConnectConfig } from 'ssh2';
import { remoteEndpointLabel } from '../../../shared/remote-location';
import {
  defaultKnownHostsFiles,
  HostKeyChangedError,
  HostKeyUnknownError,
  knownKeyTypes,
  verifyHostKey,
  type HostKeyPolicy,
} from './known-hosts';
import { authHandler } from './ssh-auth';
import { localUserName, resolveHost, type JumpHost, type ResolvedHost } from './ssh-config';
import { AheadChannels, AheadRefused } from './ssh-ahead';
import { CLIENT_IDENT, fastAuth, forwardOut, loadSsh2, openEarly } from './ssh-client';
import {
  describeSshError,
  envNumber,
  hostKeyInfo,
  isPermanent,
  preferredHostKeyAlgorithms,
  RemoteUnreachableError,
  ConnectionLostError,
  SshPermanentError,
  type ExecOptions,
  type ExecResult,
  type RemoteStatus,
  type SshOptions,
  type SshTarget,
} from './ssh-types';

export * from './ssh-types';

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
  /** Channels asked for ahead of the key's answer (ssh-ahead.ts). */
  private readonly ahead = new AheadChannels();
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
      this.ahead.begin();
      this.connecting = (this.everConnected ? this.reconnectLoop() : this.firstConnect()).finally(() => {
        this.connecting = null;
        this.ahead.end();
      });
    }
    return this.connecting;
  }

  /** The client for a new channel: the live one, else the attempt's (ahead of its key's answer where it may). */
  private channelClient(): Promise<{ client: Client; attempt?: Promise<Client> }> {
    return this.client ? Promise.resolve({ client: this.client }) : this.ahead.pick(this.ensureConnected());
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
        const target = i === hops.length - 1;
        let client: Client;
        try {
          client = await this.handshake(hop, sock, target);
        } catch (err) {
          if (!(err instanceof AheadRefused)) throw err;
          // Again, nothing asked for ahead: a new stream (the previous hop's, or a new TCP connection).
          const prev = opened[i - 1];
          sock = prev ? await forwardOut(prev, hop.resolved.hostName, hop.port) : undefined;
          client = await this.handshake(hop, sock, false);
        }
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

  private async handshake(hop: Hop, sock: Readable | undefined, allowAhead: boolean): Promise<Client> {
    // The first hop's TCP connection is under way while ssh2 loads (ssh-client.ts).
    const early = sock ? null : openEarly(hop.resolved.hostName, hop.port);
    await early?.started;
    const { Client, utils } = await loadSsh2();
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
      ident: CLIENT_IDENT, // the string openEarly sent already
      debug: this.options.debug,
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
    };
    const auth = authHandler(
      { options: this.options, home: this.home, resolved: hop.resolved, user: hop.user },
      utils.parseKey,
    );
    config.authHandler = auth.handler;
    return new Promise<Client>((resolve, reject) => {
      const client = new Client();
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        this.ahead.settled(client);
        client.removeAllListeners('ready');
        client.on('error', () => undefined); // late errors of a failed attempt are not ours to throw
        client.end();
        reject(hostKeyError ?? err);
      };
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        this.ahead.settled(client);
        client.on('error', () => undefined); // 'close' follows every error; onConnectionLost handles it
        resolve(client);
      });
      client.on('error', fail);
      client.once('close', () =>
        fail(new ConnectionLostError(`the connection to ${hop.resolved.alias} closed`)),
      );
      try {
        const socket = early?.take() ?? sock;
        if (socket instanceof Error) return fail(socket);
        client.connect({ ...config, sock: socket });
        const giveUp = (): void => fail(new AheadRefused(`${hop.resolved.alias}: the key was refused`));
        fastAuth(client, allowAhead ? this.ahead.hooks(client, auth.isLastMethod, giveUp) : undefined);
      } catch (err) {
        fail(err as Error);
      }
    });
  }

  /** Run a command; stdout as bytes. Rejects with ConnectionLostError if the link dropped under it. */
  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    // A link that comes back but drops every time under this command is a failure too, not a loop.
    let delivered = false;
    const onStdout = opts.onStdout;
    const tracked: ExecOptions = onStdout
      ? {
          ...opts,
          onStdout: (chunk) => {
            delivered = true;
            onStdout(chunk);
          },
        }
      : opts;
    for (let attempt = 1; ; attempt++) {
      const { client, attempt: connecting } = await this.channelClient();
      try {
        return await this.execOn(client, command, tracked);
      } catch (err) {
        // A channel asked for ahead of the key's answer opens only after the key's success: on a client
        // the attempt gave up (a refused key) the command did not run, so it goes to the attempt's next
        // client; an attempt that failed throws its own error here.
        if (connecting && (await connecting) !== client) continue;
        // Output already handed on cannot be taken back: a re-run would hand it on twice.
        const again = opts.retry && !delivered && !this.closed && attempt < 5;
        if (err instanceof ConnectionLostError && again) continue;
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
            if (opts.onStdout) opts.onStdout(d);
            else out.push(d);
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
