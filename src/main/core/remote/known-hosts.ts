/**
 * Host keys checked against OpenSSH known_hosts files, as `ssh` does:
 * plain and hashed (`|1|salt|hash`) host names, `[host]:port` for other
 * ports, pattern lists with `*`, `?` and `!`, `@revoked` markers
 * (`@cert-authority` lines are skipped: ssh2 does not do host certificates).
 *
 * - known key → accepted;
 * - a key of the same type but different → refused, naming the file and line
 *   of the key on record (OpenSSH's "REMOTE HOST IDENTIFICATION HAS CHANGED");
 * - no key of that type → HostKeyUnknownError carrying the SHA256
 *   fingerprint, so the interface or the CLI can ask the user; with
 *   accept-new (OpenSSH's StrictHostKeyChecking=accept-new, the CLI's
 *   --accept-new-host-key) the key is appended and accepted instead.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { matchPattern } from './ssh-config';
import { ExpdeskError } from '../../../shared/errors';

export interface KnownHostEntry {
  file: string;
  line: number;
  marker: '@revoked' | '@cert-authority' | null;
  hosts: string;
  keyType: string;
  key: Buffer;
}

/** `host` for port 22, `[host]:port` otherwise: the name OpenSSH records. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The SHA256 fingerprint OpenSSH prints: `SHA256:` + unpadded base64. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written at the start of an SSH public key blob (`ssh-ed25519`, `ssh-rsa`, …). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  if (len > 64 || 4 + len > keyBlob.length) return 'unknown';
  return keyBlob.toString('ascii', 4, 4 + len);
}

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    let marker: KnownHostEntry['marker'] = null;
    if (parts[0] === '@revoked' || parts[0] === '@cert-authority') {
      marker = parts.shift() as KnownHostEntry['marker'];
    } else if (parts[0]?.startsWith('@')) return; // an unknown marker: ignore the line, as ssh does
    const [hosts, keyType, b64] = parts;
    if (!hosts || !keyType || !b64) return;
    out.push({ file, line: i + 1, marker, hosts, keyType, key: Buffer.from(b64, 'base64') });
  });
  return out;
}

function hashedMatches(entry: string, name: string): boolean {
  const m = /^\|1\|([^|]+)\|([^|]+)$/.exec(entry);
  if (!m) return false;
  const salt = Buffer.from(m[1]!, 'base64');
  const expected = Buffer.from(m[2]!, 'base64');
  const actual = createHmac('sha1', salt).update(name).digest();
  return actual.equals(expected);
}

/** Whether an entry's host field names `name` (the `host` or `[host]:port` form). */
export function hostsFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) return hashedMatches(hosts, name);
  let matched = false;
  for (const p of hosts.split(',')) {
    if (p.startsWith('!')) {
      if (matchPattern(name, p.slice(1))) return false;
    } else if (matchPattern(name, p)) matched = true;
  }
  return matched;
}

export type HostKeyVerdict =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'changed'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'unknown'; otherTypes: string[] };

export function lookupHostKey(entries: KnownHostEntry[], name: string, keyBlob: Buffer): HostKeyVerdict {
  const type = keyTypeOf(keyBlob);
  const forHost = entries.filter((e) => e.marker !== '@cert-authority' && hostsFieldMatches(e.hosts, name));
  const revoked = forHost.find((e) => e.marker === '@revoked' && e.key.equals(keyBlob));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = forHost.filter((e) => e.marker === null);
  const known = plain.find((e) => e.key.equals(keyBlob));
  if (known) return { status: 'known', entry: known };
  const sameType = plain.find((e) => keyTypeOf(e.key) === type || e.keyType === type);
  if (sameType) return { status: 'changed', entry: sameType };
  return { status: 'unknown', otherTypes: [...new Set(plain.map((e) => e.keyType))] };
}

export class HostKeyUnknownError extends ExpdeskError {
  readonly kind = 'host-key-unknown';
  constructor(
    readonly host: string,
    readonly keyType: string,
    readonly fingerprint: string,
    readonly knownHostsFile: string,
    otherTypes: string[] = [],
  ) {
    super(
      'ssh-refused',
      `the authenticity of host ${host} can't be established: its ${keyType} key fingerprint is ${fingerprint}` +
        (otherTypes.length ? ` (keys of other types are known for it: ${otherTypes.join(', ')})` : '') +
        `. If you trust it, run again with --accept-new-host-key (the key is then added to ${knownHostsFile})`,
    );
    this.name = 'HostKeyUnknownError';
  }

  /** The interface asks through its host-key dialog (remote.status carries the key), not a CLI flag. */
  override get interfaceMessage(): string {
    return (
      `the authenticity of host ${this.host} can't be established: its ${this.keyType} key fingerprint is ` +
      `${this.fingerprint}. Compare it with the one the host's administrator gave you, and trust it if it matches.`
    );
  }
}

export class HostKeyChangedError extends ExpdeskError {
  readonly kind = 'host-key-changed';
  constructor(
    readonly host: string,
    readonly keyType: string,
    readonly fingerprint: string,
    readonly file: string,
    readonly line: number,
    readonly revoked = false,
  ) {
    super(
      'ssh-refused',
      revoked
        ? `the ${keyType} key of ${host} (${fingerprint}) is marked @revoked in ${file}:${line}: connection refused`
        : `WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for ${host}! Someone could be eavesdropping on you ` +
            `(man-in-the-middle), or the host key has just been changed. The ${keyType} key it sent has fingerprint ` +
            `${fingerprint}, which does not match the key recorded in ${file}:${line}. Connection refused. ` +
            `If the change is expected, remove the old key with: ssh-keygen -R '${host}' -f ${file}`,
    );
    this.name = 'HostKeyChangedError';
  }
}

export interface HostKeyPolicy {
  /** known_hosts files read, in order; new keys are appended to the first. */
  files: string[];
  /**
   * OpenSSH's accept-new: an unknown host's key is recorded and accepted (a
   * changed one never is). A fingerprint instead of true accepts only the key
   * the user was shown (the interface's "trust this host").
   */
  acceptNew: boolean | string;
}

/** The default files: $EXPDESK_KNOWN_HOSTS, else ~/.ssh/known_hosts, plus the system-wide file to read. */
export function defaultKnownHostsFiles(configured: string[] = [], home = os.homedir()): string[] {
  if (process.env.EXPDESK_KNOWN_HOSTS) return [path.resolve(process.env.EXPDESK_KNOWN_HOSTS)];
  const user = configured.length ? configured : [path.join(home, '.ssh', 'known_hosts')];
  return [...user, '/etc/ssh/ssh_known_hosts'];
}

function readEntries(files: string[]): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const f of files) {
    try {
      out.push(...parseKnownHosts(readFileSync(f, 'utf8'), f));
    } catch {
      // a missing known_hosts file knows no host
    }
  }
  return out;
}

/** Key types recorded for a host, to prefer them in the key exchange (as ssh does). */
export function knownKeyTypes(policy: HostKeyPolicy, host: string, port: number): string[] {
  const name = knownHostName(host, port);
  return [
    ...new Set(
      readEntries(policy.files)
        .filter((e) => e.marker === null && hostsFieldMatches(e.hosts, name))
        .map((e) => e.keyType),
    ),
  ];
}

/** Append a host key in OpenSSH's format (plain host name, readable by ssh and ssh-keygen). */
export function addKnownHost(file: string, host: string, port: number, keyBlob: Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    if (text.length && !text.endsWith('\n')) prefix = '\n';
  }
  appendFileSync(
    file,
    `${prefix}${knownHostName(host, port)} ${keyTypeOf(keyBlob)} ${keyBlob.toString('base64')}\n`,
    {
      mode: 0o600,
    },
  );
}

/**
 * Check a server's host key; throws HostKeyUnknownError / HostKeyChangedError,
 * or returns 'added' when accept-new recorded it.
 */
export function verifyHostKey(
  policy: HostKeyPolicy,
  host: string,
  port: number,
  keyBlob: Buffer,
): 'known' | 'added' {
  const name = knownHostName(host, port);
  const verdict = lookupHostKey(readEntries(policy.files), name, keyBlob);
  const fp = fingerprintOf(keyBlob);
  const type = keyTypeOf(keyBlob);
  switch (verdict.status) {
    case 'known':
      return 'known';
    case 'revoked':
      throw new HostKeyChangedError(name, type, fp, verdict.entry.file, verdict.entry.line, true);
    case 'changed':
      throw new HostKeyChangedError(name, type, fp, verdict.entry.file, verdict.entry.line);
    case 'unknown': {
      const target = policy.files[0] ?? path.join(os.homedir(), '.ssh', 'known_hosts');
      if (!policy.acceptNew || (typeof policy.acceptNew === 'string' && policy.acceptNew !== fp))
        throw new HostKeyUnknownError(name, type, fp, target, verdict.otherTypes);
      addKnownHost(target, host, port, keyBlob);
      return 'added';
    }
  }
}
