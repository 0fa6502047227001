/**
 * Remote workspace locations: `ssh://[user@]host[:port]/path` and the scp-like
 * `[user@]host:path`. Pure, so the CLI, the host and the UI agree on what is
 * remote and print the same canonical form.
 *
 * The scp-like rule is git's: a colon counts only when no slash comes before
 * it. On top of that a single letter before the colon is a Windows drive
 * (`C:/x`, `C:\x`, `c:x` are local), so a one-letter host must be written as
 * `ssh://c/path`. A path starting with `./`, `/` or `~/` is always local.
 *
 * A path that is not absolute (`host:proj`, `host:~/proj`, `ssh://host/~/proj`)
 * is relative to the remote user's home folder and kept as written here; the
 * remote side resolves it (the gatherer returns absolute paths).
 */
import { ExpdeskError } from './errors';

export interface RemoteLocation {
  /** The user, when given; else the SSH config's User, else the local user. */
  user: string | null;
  /** The host as written: an alias from ~/.ssh/config, a name or an address (IPv6 without brackets). */
  host: string;
  /** The port, when given; else the SSH config's Port, else 22. */
  port: number | null;
  /** The remote path: absolute (`/x`), or relative to the home folder (`~`, `~/x`, `x`). */
  path: string;
}

const HOST_RE = /^[A-Za-z0-9_.-]+$/;
const USER_RE = /^[^@/:\s]+$/;

function parsePort(text: string, original: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new RemoteLocationError(`bad port ${JSON.stringify(text)} in ${original}`);
  }
  return port;
}

export class RemoteLocationError extends ExpdeskError {
  constructor(message: string) {
    super('bad-request', message);
    this.name = 'RemoteLocationError';
  }
}

/** True when `text` names a remote workspace (by the rules above). */
export function isRemoteLocation(text: string): boolean {
  return parseRemoteLocation(text) !== null;
}

function splitUserHost(text: string, original: string): { user: string | null; host: string } {
  const at = text.lastIndexOf('@');
  const user = at >= 0 ? text.slice(0, at) : null;
  let host = at >= 0 ? text.slice(at + 1) : text;
  if (user !== null && !USER_RE.test(user)) throw new RemoteLocationError(`bad user name in ${original}`);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (!HOST_RE.test(host)) throw new RemoteLocationError(`bad host name in ${original}`);
  if (!host) throw new RemoteLocationError(`no host in ${original}`);
  return { user, host };
}

/**
 * Parse a remote location, or return null when `text` is a local path.
 * Throws RemoteLocationError for an `ssh://` URL that is malformed.
 */
export function parseRemoteLocation(text: string): RemoteLocation | null {
  if (/^ssh:\/\//i.test(text)) {
    const rest = text.slice('ssh://'.length);
    const slash = rest.indexOf('/');
    const authority = slash < 0 ? rest : rest.slice(0, slash);
    let rawPath = slash < 0 ? '' : rest.slice(slash);
    let hostPort = authority;
    let port: number | null = null;
    const at = authority.lastIndexOf('@');
    const hostPart = at >= 0 ? authority.slice(at + 1) : authority;
    const portMatch = /^(\[[^\]]*\]|[^:]*):(\d*)$/.exec(hostPart);
    if (portMatch) {
      port = portMatch[2] ? parsePort(portMatch[2], text) : null;
      hostPort = (at >= 0 ? authority.slice(0, at + 1) : '') + portMatch[1];
    }
    const { user, host } = splitUserHost(hostPort, text);
    // ssh://host/~/x and ssh://host/~ are relative to the home folder (git's convention).
    if (rawPath === '' || rawPath === '/~') rawPath = '~';
    else if (rawPath.startsWith('/~/')) rawPath = rawPath.slice(1);
    return { user, host, port, path: decodeURIComponentSafe(rawPath) };
  }
  if (text.startsWith('/') || text.startsWith('./') || text.startsWith('../') || text.startsWith('~'))
    return null;
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  const before = text.slice(0, colon);
  if (before.includes('/') || before.includes('\\')) return null;
  if (/^[A-Za-z]$/.test(before)) return null; // a Windows drive letter
  let userHost = before;
  let pathPart = text.slice(colon + 1);
  // [v6addr]:path and user@[v6addr]:path: the first colon is inside the brackets.
  const bracket = /^((?:[^@/]+@)?\[[^\]]+\]):(.*)$/.exec(text);
  if (bracket) {
    userHost = bracket[1]!;
    pathPart = bracket[2]!;
  } else if (text.indexOf('[') >= 0 && text.indexOf('[') < colon) return null;
  let parsed: { user: string | null; host: string };
  try {
    parsed = splitUserHost(userHost, text);
  } catch {
    return null; // not shaped like a host: a local name that happens to hold a colon
  }
  return { ...parsed, port: null, path: pathPart === '' ? '~' : pathPart };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The connection part: `[user@]host[:port]`, for messages and as a key. */
export function remoteEndpointLabel(loc: Pick<RemoteLocation, 'user' | 'host' | 'port'>): string {
  const host = loc.host.includes(':') ? `[${loc.host}]` : loc.host;
  return `${loc.user ? `${loc.user}@` : ''}${host}${loc.port ? `:${loc.port}` : ''}`;
}

/** The canonical text of a location: `ssh://[user@]host[:port]/path` (`/~/x` for home-relative paths). */
export function formatRemoteLocation(loc: RemoteLocation): string {
  const p = loc.path.startsWith('/')
    ? loc.path
    : `/${loc.path === '~' ? '~' : loc.path.startsWith('~/') ? loc.path : `~/${loc.path}`}`;
  return `ssh://${remoteEndpointLabel(loc)}${encodePath(p)}`;
}

function encodePath(p: string): string {
  // Keep paths readable: only characters that would break the URL are escaped.
  return p.replace(/[%\s?#]/g, (c) => encodeURIComponent(c));
}

/** The same endpoint with another path. */
export function withRemotePath(loc: RemoteLocation, path: string): RemoteLocation {
  return { ...loc, path };
}

/** POSIX join for remote paths (the remote is a POSIX machine whatever the local OS is). */
export function remoteJoin(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  const abs = joined.startsWith('/');
  const out: string[] = [];
  for (const seg of joined.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else if (!abs) out.push('..');
    } else out.push(seg);
  }
  return (abs ? '/' : '') + out.join('/') || (abs ? '/' : '.');
}

export function remoteBasename(p: string): string {
  const trimmed = p.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

export function remoteDirname(p: string): string {
  const trimmed = p.replace(/\/+$/, '');
  const i = trimmed.lastIndexOf('/');
  if (i < 0) return '.';
  return i === 0 ? '/' : trimmed.slice(0, i);
}

// The schema of a host's connection state lives in ./remote-status.ts (zod), apart from this parser:
// resolving a location (every listing, local ones too) then loads no schema library.
export type { RemoteStatusPayload } from './remote-status';
