/**
 * The built renderer's files, served read-only from one folder. A request path
 * is decoded once, refused if any segment is `..` (or holds a NUL or a
 * backslash), resolved, and must still lie inside the folder after symlinks
 * are resolved: no way out of rendererDir, encoded or not.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { contentTypeFor } from '../../shared/content-types';

/** Kept under its old name for the server's callers. */
export const contentType = contentTypeFor;

export type StaticLookup =
  | { kind: 'file'; file: string; size: number }
  | { kind: 'forbidden' }
  | { kind: 'not-found' }
  | { kind: 'bad-request' };

/**
 * Map a URL path (without query) to a file under root. `/` is index.html.
 * `root` must be an absolute, real (symlink-free) path.
 */
export async function lookupStatic(root: string, urlPath: string): Promise<StaticLookup> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return { kind: 'bad-request' };
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) {
    return { kind: 'forbidden' };
  }
  const segments = decoded.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return { kind: 'forbidden' };
  const rel = decoded === '/' ? 'index.html' : decoded.slice(1);
  const candidate = path.resolve(root, rel);
  if (!isInside(root, candidate)) return { kind: 'forbidden' };
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    return { kind: 'not-found' };
  }
  if (!isInside(root, real)) return { kind: 'forbidden' };
  const st = await stat(real).catch(() => null);
  if (!st || !st.isFile()) return { kind: 'not-found' };
  return { kind: 'file', file: real, size: st.size };
}

function isInside(root: string, p: string): boolean {
  return p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}
