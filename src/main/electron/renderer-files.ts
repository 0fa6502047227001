/**
 * How an expdesk://app/… request maps to a file of the built renderer, and
 * the headers it is served with. Pure (no fs, no electron) so that the
 * traversal rules are unit-tested; protocol.ts does the reading.
 */
import path from 'node:path';
import { contentTypeFor } from '../../shared/content-types';
import { APP_HOST, APP_SCHEME } from './origin-policy';

/**
 * The page's Content-Security-Policy, sent as a header with every response.
 * Only our own files run; no inline or eval'd script; nothing is fetched from
 * anywhere but expdesk://app (the renderer talks to the host through the
 * preload, not the network). Inline styles stay allowed because React style
 * props, xterm.js and chart libraries inject them; styles cannot run code.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "media-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "frame-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export { contentTypeFor };

export function responseHeadersFor(file: string | null): Record<string, string> {
  return {
    'Content-Type': file ? contentTypeFor(file) : 'text/plain; charset=utf-8',
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
  };
}

export type RendererFileResolution =
  { ok: true; file: string } | { ok: false; status: 400 | 403 | 404 | 405; reason: string };

/**
 * The file under `root` that `url` names, or why it is refused. Refuses other
 * hosts, methods other than GET/HEAD, and any segment that is `.`/`..` or
 * hides a separator once percent-decoded (`%2e%2e`, `..%2f`, `%5c`), so no
 * request can leave `root` however it is spelled.
 */
export function resolveRendererFile(root: string, url: string, method = 'GET'): RendererFileResolution {
  if (method !== 'GET' && method !== 'HEAD')
    return { ok: false, status: 405, reason: `method ${method} not allowed` };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, status: 400, reason: 'malformed URL' };
  }
  if (
    parsed.protocol !== `${APP_SCHEME}:` ||
    parsed.host !== APP_HOST ||
    parsed.username ||
    parsed.password
  ) {
    return { ok: false, status: 403, reason: `not an ${APP_SCHEME}://${APP_HOST}/ URL` };
  }
  const segments: string[] = [];
  for (const raw of parsed.pathname.split('/')) {
    if (raw === '') continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return { ok: false, status: 400, reason: 'malformed percent-encoding' };
    }
    // ':' catches Windows drive letters and alternate data streams; NUL truncates paths in C APIs.
    if (segment === '.' || segment === '..' || /[/\\:\0]/.test(segment)) {
      return { ok: false, status: 403, reason: 'path traversal refused' };
    }
    segments.push(segment);
  }
  if (segments.length === 0 || parsed.pathname.endsWith('/')) segments.push('index.html');
  const base = path.resolve(root);
  const file = path.resolve(base, ...segments);
  if (!isInside(base, file)) return { ok: false, status: 403, reason: 'path traversal refused' };
  return { ok: true, file };
}

/** True when `file` (already resolved, e.g. by realpath) lies inside `root`. */
export function isInside(root: string, file: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(file));
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
