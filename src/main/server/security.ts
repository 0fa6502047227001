/**
 * The browser mode's defences, after Jupyter's: a random token checked in
 * constant time, a Host allow-list against DNS rebinding, an Origin check on
 * the WebSocket against cross-site WebSocket hijacking, and strict headers.
 * Pure functions of the request's headers so they can be tested one by one.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import os from 'node:os';

/** 24 random bytes as hex, like Jupyter's token. */
export function generateToken(): string {
  return randomBytes(24).toString('hex');
}

/**
 * Constant-time token comparison. Both sides are hashed first so that the
 * comparison takes the same time whatever the length of the candidate.
 */
export function tokenMatches(expected: string, candidate: string | null | undefined): boolean {
  if (typeof candidate !== 'string' || candidate.length === 0) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(candidate).digest();
  return timingSafeEqual(a, b);
}

/** Cookies are not scoped by port, so the name carries it: two servers on one host keep their own. */
export function cookieName(port: number): string {
  return `expdesk-token-${port}`;
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    try {
      out.set(name, decodeURIComponent(raw));
    } catch {
      out.set(name, raw);
    }
  }
  return out;
}

export function tokenCookie(port: number, token: string): string {
  // HttpOnly: page scripts never see it; SameSite=Strict: no other site can make the browser send it.
  return `${cookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`;
}

export function isLoopback(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    a === 'localhost' ||
    a === '::1' ||
    a === '0:0:0:0:0:0:0:1' ||
    /^127\./.test(a) ||
    a === '::ffff:127.0.0.1'
  );
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '[::]';
}

/** An address as it appears in a Host header: IPv6 literals in brackets, lower case. */
export function hostLiteral(address: string): string {
  const a = address.toLowerCase();
  return isIP(a) === 6 ? `[${a}]` : a;
}

/**
 * The host names a browser may use to reach this server. Loopback names
 * always; the bound address; for a wildcard bind, this machine's addresses
 * and host name (the user asked to be reachable on all of them).
 */
export function allowedHostNames(bindAddress: string, extra: readonly string[] = []): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]']);
  if (!isWildcard(bindAddress)) names.add(hostLiteral(bindAddress));
  else {
    names.add(os.hostname().toLowerCase());
    for (const list of Object.values(os.networkInterfaces())) {
      for (const info of list ?? []) names.add(hostLiteral(info.address.split('%')[0]!));
    }
  }
  for (const e of extra) names.add(hostLiteral(e));
  return names;
}

/** Whether a Host header names this server: an allowed host name and exactly our port. */
export function hostAllowed(hostHeader: string | undefined, allowed: Set<string>, port: number): boolean {
  if (!hostHeader) return false;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d+)$/.exec(hostHeader.trim());
  if (!m) return false;
  return allowed.has(m[1]!.toLowerCase()) && Number(m[2]) === port;
}

/** Whether an Origin header is one of our own pages: `http://<allowed host>:<port>`. */
export function originAllowed(origin: string | undefined, allowed: Set<string>, port: number): boolean {
  if (!origin || !origin.startsWith('http://')) return false;
  return hostAllowed(origin.slice('http://'.length), allowed, port);
}

/**
 * The Content-Security-Policy for every response. connect-src names the
 * WebSocket endpoint explicitly (older engines do not let 'self' cover ws:).
 * Inline styles are allowed, as in the Electron shell's policy: the log
 * terminal (xterm.js) and the charts (plotly.js) inject <style> elements;
 * styles cannot run code, and scripts stay 'self' only.
 */
export function contentSecurityPolicy(host: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ws://${host}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function securityHeaders(host: string): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(host),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}
