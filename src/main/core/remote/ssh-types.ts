/**
 * What an SSH connection (connection.ts) reports and takes: its status, its
 * options, its errors and how they read in one line, and the host key
 * algorithms offered. Split from connection.ts, which re-exports it.
 */
import { HostKeyChangedError, HostKeyUnknownError } from './known-hosts';
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

export function hostKeyInfo(err: unknown): RemoteStatus['hostKey'] {
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
  /** ssh2's protocol trace, one line each (what was sent and received, in order). */
  debug?: (line: string) => void;
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
  /**
   * Take stdout as it arrives (ExecResult.stdout is then empty). A command
   * that dropped after some of it came is not re-run: its caller decides.
   */
  onStdout?: (chunk: Buffer) => void;
}

export function envNumber(name: string): number | undefined {
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

export function isPermanent(err: unknown): boolean {
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
