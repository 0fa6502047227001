/**
 * Browser mode's bundle downloads: a page cannot read the host's disk, so a
 * bundle this server exported (bundle.export over its WebSocket) is offered
 * at `download/<id>`. Only those files: the server keeps a map of random ids
 * to the paths it exported, for its own life, and a request names an id,
 * never a path. The token check of every HTTP request (server.ts) guards the
 * route like every page.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { RequestResult } from '../../shared/contract';
import { openRegular } from '../core/fs/safe-read';

export const DOWNLOAD_PREFIX = '/download/';
/** Exports remembered per server; the oldest are forgotten first. */
const MAX_DOWNLOADS = 1_000;

export class Downloads {
  private readonly files = new Map<string, string>();

  /** Remember an exported file; its id (24 random hex digits) is the only way to ask for it. */
  add(file: string): string {
    const id = randomBytes(12).toString('hex');
    this.files.set(id, file);
    if (this.files.size > MAX_DOWNLOADS) this.files.delete(this.files.keys().next().value!);
    return id;
  }

  /** The file behind a request path (`/download/<id>`), or null for anything this server did not export. */
  lookup(pathname: string): string | null {
    if (!pathname.startsWith(DOWNLOAD_PREFIX)) return null;
    return this.files.get(pathname.slice(DOWNLOAD_PREFIX.length)) ?? null;
  }

  /** A bundle.export answer, given the page's link to the file it wrote. */
  offer(result: RequestResult<'bundle.export'>): RequestResult<'bundle.export'> {
    return { ...result, download: `${DOWNLOAD_PREFIX.slice(1)}${this.add(result.path)}` };
  }
}

/**
 * Content-Disposition for a file name: a plain ASCII fallback (quotes,
 * backslashes, controls and non-ASCII replaced) and the exact name as RFC
 * 5987's UTF-8 `filename*`. The name is Expdesk's own (`<folder>-bundle.zip`
 * or the user's), but a folder's name is untrusted text.
 */
export function attachmentHeader(file: string): string {
  const name = path.basename(file);
  const ascii = name.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** Send an exported file as an attachment (a regular file only: it may have been replaced since). */
export async function sendDownload(
  res: ServerResponse,
  file: string,
  headers: Record<string, string>,
  headOnly: boolean,
): Promise<void> {
  const { fh, stat } = await openRegular(file, { noFollow: true });
  try {
    res.writeHead(200, {
      ...headers,
      'Content-Type': file.endsWith('.zip') ? 'application/zip' : 'application/gzip',
      'Content-Length': String(stat.size),
      'Content-Disposition': attachmentHeader(file),
      'Cache-Control': 'no-store',
    });
    if (headOnly || stat.size === 0) res.end();
    else
      await pipeline(
        fh.createReadStream({ start: 0, end: Math.max(0, stat.size - 1), autoClose: false }),
        res,
      );
  } finally {
    await fh.close().catch(() => undefined);
  }
}
