/**
 * `expdesk serve`'s server against a real ExpdeskHost over a temporary
 * workspace: the token, the cookie flow, Host and Origin checks, the
 * WebSocket RPC and the static file jail.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ExpdeskHost } from '../../../src/main/host/host';
import { MAX_PAYLOAD_BYTES, startServer, type RunningServer } from '../../../src/main/server/server';
import { MAX_REQUEST_BYTES } from '../../../src/shared/contract';
import { cookieName, tokenMatches } from '../../../src/main/server/security';

const INDEX_HTML = '<!doctype html><title>fake renderer</title><div id="root"></div>';

let tmp: string;
let workspace: string;
let server: RunningServer;
let base: string;
let hostHeader: string;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP GET: the path is sent exactly as given (no normalization), headers as given. */
function get(pathAndQuery: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: pathAndQuery,
        method,
        headers: { host: hostHeader, ...headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const cookie = (): Record<string, string> => ({ cookie: `${cookieName(server.port)}=${server.token}` });

/** Open a WebSocket; resolves with the socket or with the HTTP status the upgrade was refused with. */
function connect(
  query: string,
  headers: Record<string, string>,
): Promise<{ ws: WebSocket } | { refused: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api${query}`, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ refused: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

async function openWs(): Promise<WebSocket> {
  const r = await connect('', { ...cookie(), origin: `http://${hostHeader}`, host: hostHeader });
  if (!('ws' in r)) throw new Error(`refused with ${r.refused}`);
  return r.ws;
}

/** Send one frame and wait for the next message. */
function roundTrip(ws: WebSocket, frame: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    ws.once('message', (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>));
    ws.send(frame);
  });
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'expdesk-server-test-'));
  workspace = path.join(tmp, 'experiments');
  const exp = path.join(workspace, 'exp001_dpo');
  mkdirSync(path.join(exp, 'logs'), { recursive: true });
  writeFileSync(path.join(exp, 'config.yaml'), 'experiment: {name: x}\nalgorithm: {name: dpo}\n');
  writeFileSync(
    path.join(exp, 'logs', 'metrics.jsonl'),
    [
      { step: 1, prefix: 'train', timestamp: '2024-01-01T00:00:00', 'train/loss': 0.5 },
      { step: 2, prefix: 'train', timestamp: '2024-01-01T00:00:01', 'train/loss': 0.25 },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  const rendererDir = path.join(tmp, 'renderer');
  mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(path.join(rendererDir, 'index.html'), INDEX_HTML);
  writeFileSync(path.join(rendererDir, 'assets', 'index-abc.js'), 'console.log("hi");\n');
  writeFileSync(path.join(tmp, 'secret.txt'), 'outside the renderer folder');

  const host = new ExpdeskHost({
    mode: 'browser',
    version: '0.0.0-test',
    workspace,
    demoWorkspace: null,
    cacheDir: path.join(tmp, 'cache'),
  });
  server = await startServer({ host, port: 0, rendererDir, log: () => undefined });
  hostHeader = `127.0.0.1:${server.port}`;
  base = server.url;
});

afterAll(async () => {
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('startServer', () => {
  it('reports a loopback URL with a 48-hex-digit token', () => {
    expect(base).toBe(`http://127.0.0.1:${server.port}/`);
    expect(server.token).toMatch(/^[0-9a-f]{48}$/);
    expect(server.urlWithToken).toBe(`${base}?token=${server.token}`);
  });

  it('refuses a request without the token, telling the user what to do', async () => {
    const r = await get('/');
    expect(r.status).toBe(403);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.body).toMatch(/token/);
    expect(r.body).toMatch(/expdesk serve/);
    expect(r.body).not.toContain('fake renderer');
  });

  it('refuses a wrong token, in the query or in the cookie', async () => {
    expect((await get('/?token=0123')).status).toBe(403);
    expect((await get(`/?token=${server.token.slice(0, -1)}x`)).status).toBe(403);
    expect((await get('/', { cookie: `${cookieName(server.port)}=nope` })).status).toBe(403);
    // A cookie of another port's server does not count.
    expect((await get('/', { cookie: `${cookieName(server.port + 1)}=${server.token}` })).status).toBe(403);
  });

  it('trades ?token= for an HttpOnly SameSite=Strict cookie and a redirect without it', async () => {
    const r = await get(`/?token=${server.token}&view=x`);
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('/?view=x');
    const setCookie = r.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toContain(`${cookieName(server.port)}=${server.token}`);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const page = await get('/', cookie());
    expect(page.status).toBe(200);
    expect(page.body).toBe(INDEX_HTML);
  });

  it('serves index.html and assets with their types and strict headers', async () => {
    const page = await get('/', cookie());
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const csp = String(page.headers['content-security-policy']);
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
      `connect-src 'self' ws://${hostHeader}`,
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain('unsafe-eval');
    const js = await get('/assets/index-abc.js', cookie());
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await get('/index.html', cookie())).body).toBe(INDEX_HTML);
    expect((await get('/missing.js', cookie())).status).toBe(404);
    expect((await get('/', cookie(), 'POST')).status).toBe(405);
  });

  it('refuses a Host header that is not this server (DNS rebinding)', async () => {
    for (const host of ['evil.example:' + server.port, `127.0.0.1:${server.port + 1}`, 'localhost']) {
      const r = await get(`/?token=${server.token}`, { host });
      expect(r.status, host).toBe(403);
    }
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, `[::1]:${server.port}`]) {
      expect((await get('/', { ...cookie(), host })).status, host).toBe(200);
    }
    // No Host header at all (HTTP/1.0), sent by hand: Node's client always adds one.
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(server.port, '127.0.0.1', () =>
        sock.end(`GET /?token=${server.token} HTTP/1.0\r\n\r\n`),
      );
      let text = '';
      sock.on('data', (c: Buffer) => (text += String(c)));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.[01] 403/);
  });

  it('keeps every path inside the renderer folder, encoded or not', async () => {
    for (const p of [
      '/../package.json',
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%5csecret.txt',
      '/%00index.html',
      '//etc/passwd',
    ]) {
      const r = await get(p, cookie());
      expect([400, 403, 404], p).toContain(r.status);
      expect(r.body, p).not.toContain('outside the renderer folder');
      expect(r.body, p).not.toContain('"name"');
    }
  });

  it('refuses a WebSocket without the token', async () => {
    const r = await connect('', { origin: `http://${hostHeader}` });
    expect(r).toEqual({ refused: 403 });
  });

  it('refuses a WebSocket from another origin, even with the token', async () => {
    for (const origin of [
      'http://evil.example',
      `http://evil.example:${server.port}`,
      'null',
      `https://${hostHeader}`,
    ]) {
      const r = await connect('', { ...cookie(), origin });
      expect(r, origin).toEqual({ refused: 403 });
    }
    const noOrigin = await connect('', cookie());
    expect(noOrigin).toEqual({ refused: 403 });
  });

  it('refuses a WebSocket with a foreign Host header', async () => {
    const r = await connect('', { ...cookie(), origin: `http://${hostHeader}`, host: 'evil.example:80' });
    expect(r).toEqual({ refused: 403 });
  });

  it('accepts the token as a query parameter on the WebSocket too', async () => {
    const r = await connect(`?token=${server.token}`, { origin: `http://localhost:${server.port}` });
    expect('ws' in r).toBe(true);
    if ('ws' in r) r.ws.close();
  });

  it('answers workspace.list with the workspace experiment over the WebSocket', async () => {
    const ws = await openWs();
    try {
      const reply = await roundTrip(ws, JSON.stringify({ id: 7, method: 'workspace.list', params: {} }));
      expect(reply.id).toBe(7);
      expect(reply.error).toBeUndefined();
      const listing = reply.result as { experiments: Array<Record<string, unknown>> };
      expect(listing.experiments).toHaveLength(1);
      expect(listing.experiments[0]).toMatchObject({
        name: 'x',
        algorithm: 'dpo',
        total_steps: 2,
        final_loss: 0.25,
      });
    } finally {
      ws.close();
    }
  });

  it('answers bad requests with bad-request errors and stays usable', async () => {
    const ws = await openWs();
    try {
      const invalid = await roundTrip(
        ws,
        JSON.stringify({ id: 1, method: 'experiment.get', params: { path: 3 } }),
      );
      expect(invalid).toMatchObject({ id: 1, error: { code: 'bad-request' } });
      const unknown = await roundTrip(ws, JSON.stringify({ id: 2, method: 'nope', params: {} }));
      expect(unknown).toMatchObject({ id: 2, error: { code: 'bad-request' } });
      const notJson = await roundTrip(ws, '{not json');
      expect(notJson).toMatchObject({ id: -1, error: { code: 'bad-request' } });
      const noMethod = await roundTrip(ws, JSON.stringify({ id: 3 }));
      expect(noMethod).toMatchObject({ id: 3, error: { code: 'bad-request' } });
      const badId = await roundTrip(ws, JSON.stringify({ id: 'x', method: 'app.info', params: {} }));
      expect(badId).toMatchObject({ id: -1, error: { code: 'bad-request' } });
      const missing = await roundTrip(
        ws,
        JSON.stringify({ id: 4, method: 'experiment.get', params: { path: path.join(tmp, 'nowhere') } }),
      );
      expect(missing).toMatchObject({ id: 4, error: { code: 'not-found' } });
      // Still alive and answering.
      const info = await roundTrip(ws, JSON.stringify({ id: 5, method: 'app.info', params: {} }));
      expect(info).toMatchObject({ id: 5, result: { mode: 'browser', version: '0.0.0-test', workspace } });
    } finally {
      ws.close();
    }
  });

  it('pushes host events to connected clients', async () => {
    const ws = await openWs();
    try {
      const event = new Promise<Record<string, unknown>>((resolve) => {
        ws.on('message', (data) => {
          const msg = JSON.parse(String(data)) as Record<string, unknown>;
          if ('event' in msg) resolve(msg);
        });
      });
      ws.send(JSON.stringify({ id: 9, method: 'workspace.open', params: { root: workspace } }));
      expect(await event).toEqual({ event: 'workspace.changed', payload: { root: workspace } });
    } finally {
      ws.close();
    }
  });

  it('answers a 2 MB config.compose draft (the contract allows 4 MiB of config text)', async () => {
    const configs = path.join(tmp, 'configs');
    mkdirSync(configs, { recursive: true });
    const file = path.join(configs, 'big.yaml');
    writeFileSync(file, 'training:\n  lr: 0.1\n');
    const ws = await openWs();
    try {
      const text = `training:\n  lr: 0.1\nnotes: "${'a'.repeat(2_000_000)}"\n`;
      const reply = await roundTrip(
        ws,
        JSON.stringify({ id: 11, method: 'config.compose', params: { file, text } }),
      );
      expect(reply.error).toBeUndefined();
      expect(reply).toMatchObject({ id: 11, result: { ok: true, config: { training: { lr: 0.1 } } } });
      expect((reply.result as { config: { notes: string } }).config.notes.length).toBe(2_000_000);
      expect(ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      ws.close();
    }
  });

  it('answers a frame over the largest request the contract allows with an error naming the limit', async () => {
    const ws = await openWs();
    try {
      const frame = `{"id":12,"method":"app.info","params":{"pad":"${'x'.repeat(MAX_REQUEST_BYTES)}"}}`;
      const reply = await roundTrip(ws, frame);
      expect(reply).toMatchObject({ id: 12, error: { code: 'bad-request' } });
      expect((reply.error as { message: string }).message).toContain(
        `request too large: ${frame.length} bytes; a request may take at most ${MAX_REQUEST_BYTES} bytes`,
      );
      // Still usable.
      const info = await roundTrip(ws, JSON.stringify({ id: 13, method: 'app.info', params: {} }));
      expect(info).toMatchObject({ id: 13, result: { mode: 'browser' } });
    } finally {
      ws.close();
    }
  });

  it('closes the connection on a frame far over any request, without crashing', async () => {
    const ws = await openWs();
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.send(Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x78), { binary: false });
    expect(await closed).toBe(1009);
    const again = await openWs();
    const info = await roundTrip(again, JSON.stringify({ id: 1, method: 'app.info', params: {} }));
    expect(info).toMatchObject({ id: 1, result: { mode: 'browser' } });
    again.close();
  });
});

describe('startServer without a built renderer', () => {
  it('answers 503 telling the user to build, and logs it once', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-server-empty-'));
    const lines: string[] = [];
    const host = new ExpdeskHost({
      mode: 'browser',
      version: 't',
      workspace: null,
      demoWorkspace: null,
      cacheDir: path.join(dir, 'cache'),
    });
    const s = await startServer({
      host,
      rendererDir: path.join(dir, 'nothing'),
      token: 'abc',
      log: (l) => lines.push(l),
    });
    try {
      const r = await new Promise<Reply>((resolve, reject) => {
        http
          .get(
            { host: '127.0.0.1', port: s.port, path: '/', headers: { cookie: `${cookieName(s.port)}=abc` } },
            (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += String(c)));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
            },
          )
          .on('error', reject);
      });
      expect(r.status).toBe(503);
      expect(r.body).toContain('npm run build');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('npm run build');
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tokenMatches', () => {
  it('compares whole tokens only', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abc', 'ab')).toBe(false);
    expect(tokenMatches('abc', 'abcd')).toBe(false);
    expect(tokenMatches('abc', '')).toBe(false);
    expect(tokenMatches('abc', undefined)).toBe(false);
  });
});
