/**
 * `expdesk serve`: the built renderer over HTTP plus the API contract over a
 * WebSocket at /api, for browsers (a headless login node, a tunnel, tests).
 *
 * Defences, after Jupyter's (see security.ts):
 *  - loopback bind by default; another address only when passed explicitly;
 *  - every HTTP request and the WebSocket upgrade need the token, from
 *    `?token=` (answered with an HttpOnly SameSite=Strict cookie and a
 *    redirect to the same URL without it) or from that cookie;
 *  - the Host header must name this server (DNS rebinding);
 *  - the upgrade's Origin must be one of our own pages (cross-site WebSocket hijacking);
 *  - strict CSP, nosniff, no referrer, no framing;
 *  - bundles exported through this server are downloaded at `download/<id>`
 *    (downloads.ts): ids this server made, never a path from the request.
 */
import { createReadStream, existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { attachRpc, type RpcHost } from './rpc';
import {
  allowedHostNames,
  cookieName,
  generateToken,
  hostAllowed,
  hostLiteral,
  originAllowed,
  parseCookies,
  securityHeaders,
  tokenCookie,
  tokenMatches,
} from './security';
import { contentType, lookupStatic } from './static';
import { Downloads, sendDownload } from './downloads';
import { MAX_REQUEST_BYTES, type RequestResult } from '../../shared/contract';

/**
 * Frames larger than this close the connection (1009) before they are read.
 * Up to it a frame is read, and one over the contract's MAX_REQUEST_BYTES gets
 * an error answer saying so (rpc.ts): the slack lets a client that overshoots
 * a little hear why.
 */
export const MAX_PAYLOAD_BYTES = MAX_REQUEST_BYTES + 8 * 1024 * 1024;
export const WS_PATH = '/api';

export interface ServerOptions {
  host: RpcHost;
  /** 0 (the default) lets the OS pick a free port; the CLI asks for 7770 first. */
  port?: number;
  /** Default 127.0.0.1. Anything not loopback exposes the workspace to the network. */
  bindAddress?: string;
  /** The built renderer (out/renderer). */
  rendererDir: string;
  /** Default: 24 random bytes as hex. */
  token?: string;
  /** Extra host names a browser may use (e.g. behind an SSH tunnel with another name). */
  allowedHosts?: string[];
  /** Where warnings go; default stderr. */
  log?: (line: string) => void;
}

export interface RunningServer {
  /** http://HOST:PORT/ (no token). */
  url: string;
  port: number;
  token: string;
  /** The URL a user opens: `${url}?token=…`. */
  urlWithToken: string;
  close(): Promise<void>;
}

const FORBIDDEN_TOKEN =
  'Expdesk: forbidden. Open the URL with the token that `expdesk serve` printed ' +
  '(http://HOST:PORT/?token=...).\n';
const NO_DOWNLOAD =
  'Expdesk: no such download: this server offers only the bundles it exported since it started.\n';
const NOT_BUILT = 'Expdesk: the renderer is not built: run `npm run build`, then reload this page.\n';

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const bindAddress = opts.bindAddress ?? '127.0.0.1';
  const token = opts.token ?? generateToken();
  if (!token) throw new Error('startServer: the token must not be empty');
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const rendererDir = path.resolve(opts.rendererDir);
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    log(`expdesk: the renderer is not built (${rendererDir}/index.html is missing): run \`npm run build\``);
  }

  // Filled once listening: the checks need the real port.
  let port = 0;
  let allowed = new Set<string>();

  const server = http.createServer((req, res) => {
    handleHttp(req, res).catch((err: unknown) => {
      log(`expdesk: error serving ${req.url ?? '?'}: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) plain(res, 500, 'Expdesk: internal error\n', req.headers.host);
      else res.destroy();
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD_BYTES });
  const sockets = new Set<WebSocket>();
  // Bundles exported through this server, offered to the page as downloads (downloads.ts).
  const downloads = new Downloads();
  const offerDownloads = (method: string, result: unknown): unknown =>
    method === 'bundle.export' ? downloads.offer(result as RequestResult<'bundle.export'>) : result;

  function requestToken(req: IncomingMessage, url: URL): { ok: boolean; fromQuery: boolean } {
    const fromQuery = url.searchParams.get('token');
    if (tokenMatches(token, fromQuery)) return { ok: true, fromQuery: true };
    const fromCookie = parseCookies(req.headers.cookie).get(cookieName(port));
    return { ok: tokenMatches(token, fromCookie), fromQuery: false };
  }

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req.headers.host, allowed, port)) {
      plain(res, 403, 'Expdesk: forbidden: unexpected Host header.\n', undefined);
      return;
    }
    const host = req.headers.host!;
    const url = parseRequestUrl(req.url);
    if (!url) {
      plain(res, 400, 'Expdesk: bad request\n', host);
      return;
    }
    const auth = requestToken(req, url);
    if (!auth.ok) {
      plain(res, 403, FORBIDDEN_TOKEN, host);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      plain(res, 405, 'Expdesk: method not allowed\n', host);
      return;
    }
    if (auth.fromQuery) {
      // Keep the token out of the address bar, history and screenshots: the cookie carries it now.
      url.searchParams.delete('token');
      const rest = url.searchParams.toString();
      res.writeHead(302, {
        ...securityHeaders(host),
        'Set-Cookie': tokenCookie(port, token),
        Location: url.pathname + (rest ? `?${rest}` : ''),
        'Cache-Control': 'no-store',
      });
      res.end();
      return;
    }
    if (url.pathname.startsWith('/download/')) {
      const file = downloads.lookup(url.pathname);
      if (!file) return plain(res, 404, NO_DOWNLOAD, host);
      try {
        await sendDownload(res, file, securityHeaders(host), req.method === 'HEAD');
      } catch (err) {
        if (res.headersSent) throw err;
        plain(res, 404, `Expdesk: ${path.basename(file)} is no longer there (moved or deleted).\n`, host);
      }
      return;
    }
    if (!existsSync(path.join(rendererDir, 'index.html'))) {
      plain(res, 503, NOT_BUILT, host);
      return;
    }
    const root = await realpath(rendererDir);
    const found = await lookupStatic(root, rawPath(req.url ?? '/'));
    if (found.kind === 'forbidden') return plain(res, 403, 'Expdesk: forbidden path\n', host);
    if (found.kind === 'bad-request') return plain(res, 400, 'Expdesk: bad request\n', host);
    if (found.kind === 'not-found') return plain(res, 404, 'Expdesk: not found\n', host);
    const hashedAsset = found.file.startsWith(path.join(root, 'assets') + path.sep);
    res.writeHead(200, {
      ...securityHeaders(host),
      'Content-Type': contentType(found.file),
      'Content-Length': String(found.size),
      // Vite names assets by content hash; everything else (index.html) must never be stale.
      'Cache-Control': hashedAsset ? 'private, max-age=31536000, immutable' : 'no-store',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(found.file);
      stream.on('error', reject);
      res.on('close', resolve);
      stream.pipe(res);
    });
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = parseRequestUrl(req.url);
    if (!url || url.pathname !== WS_PATH) return refuseUpgrade(socket, 404, 'no WebSocket here');
    if (!hostAllowed(req.headers.host, allowed, port)) {
      return refuseUpgrade(socket, 403, 'unexpected Host header');
    }
    if (!originAllowed(req.headers.origin, allowed, port)) {
      return refuseUpgrade(socket, 403, 'cross-origin WebSocket refused');
    }
    if (!requestToken(req, url).ok) return refuseUpgrade(socket, 403, 'missing or wrong token');
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      attachRpc(ws, opts.host, offerDownloads);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  allowed = allowedHostNames(bindAddress, opts.allowedHosts);
  server.on('error', (err) => log(`expdesk: server error: ${err.message}`));

  const displayHost = bindAddress === '0.0.0.0' || bindAddress === '::' ? '127.0.0.1' : bindAddress;
  const url = `http://${hostLiteral(displayHost)}:${port}/`;
  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    token,
    urlWithToken: `${url}?token=${token}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const ws of sockets) ws.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Parse the request target relative to a dummy base; null for anything unparsable. */
function parseRequestUrl(target: string | undefined): URL | null {
  // '//x' would parse as a host name, not a path.
  if (!target || !target.startsWith('/') || target.startsWith('//')) return null;
  try {
    return new URL(target, 'http://expdesk.invalid');
  } catch {
    return null;
  }
}

/**
 * The path exactly as sent, before URL normalization: lookupStatic judges
 * `..` segments itself instead of trusting a normalizer to have removed them.
 */
function rawPath(target: string): string {
  const q = target.search(/[?#]/);
  return q === -1 ? target : target.slice(0, q);
}

function plain(res: ServerResponse, status: number, text: string, host: string | undefined): void {
  res.writeHead(status, {
    ...(host ? securityHeaders(host) : { 'X-Content-Type-Options': 'nosniff' }),
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

function refuseUpgrade(socket: Duplex, status: 403 | 404, reason: string): void {
  const body = `Expdesk: ${reason}\n`;
  const statusText = status === 403 ? 'Forbidden' : 'Not Found';
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
