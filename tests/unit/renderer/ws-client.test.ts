/** The WebSocket client against a fake socket: ids, errors, events, queueing, reconnect. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { wsUrlFor } from '../../../src/renderer/api/client';
import { WsClient, type SocketLike } from '../../../src/renderer/api/ws-client';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: string[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.drop();
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.({});
  }
  reply(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  lastFrame(): { id: number; method: string; params: unknown } {
    return JSON.parse(this.sent.at(-1)!) as { id: number; method: string; params: unknown };
  }
}

let sockets: FakeSocket[];
const make = (opts: Partial<ConstructorParameters<typeof WsClient>[0]> = {}): WsClient =>
  new WsClient({
    url: 'ws://127.0.0.1:1/api',
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    ...opts,
  });

beforeEach(() => {
  sockets = [];
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('WsClient', () => {
  it('sends {id, method, params} and resolves with the matching result', async () => {
    const c = make();
    sockets[0]!.open();
    const a = c.invoke('app.info', {});
    const b = c.invoke('workspace.list', {});
    const fa = JSON.parse(sockets[0]!.sent[0]!) as { id: number; method: string };
    const fb = sockets[0]!.lastFrame();
    expect(fa.method).toBe('app.info');
    expect(fb).toMatchObject({ method: 'workspace.list', params: {} });
    expect(fa.id).not.toBe(fb.id);
    sockets[0]!.reply({ id: fb.id, result: 'B' });
    sockets[0]!.reply({ id: fa.id, result: 'A' });
    expect(await a).toBe('A');
    expect(await b).toBe('B');
  });

  it('rejects with the ApiError code and message', async () => {
    const c = make();
    sockets[0]!.open();
    const p = c.invoke('experiment.get', { path: '/x' });
    sockets[0]!.reply({
      id: sockets[0]!.lastFrame().id,
      error: { code: 'not-found', message: 'no such folder' },
    });
    await expect(p).rejects.toMatchObject({ code: 'not-found', message: 'no such folder' });
  });

  it('queues requests until the socket opens', async () => {
    const c = make();
    const p = c.invoke('app.info', {});
    expect(sockets[0]!.sent).toHaveLength(0);
    sockets[0]!.open();
    expect(sockets[0]!.sent).toHaveLength(1);
    sockets[0]!.reply({ id: sockets[0]!.lastFrame().id, result: 1 });
    expect(await p).toBe(1);
  });

  it('delivers events to their listeners until unsubscribed', () => {
    const c = make();
    sockets[0]!.open();
    const seen: unknown[] = [];
    const off = c.on('workspace.changed', (p) => seen.push(p));
    sockets[0]!.reply({ event: 'workspace.changed', payload: { root: '/a' } });
    off();
    sockets[0]!.reply({ event: 'workspace.changed', payload: { root: '/b' } });
    expect(seen).toEqual([{ root: '/a' }]);
  });

  it('rejects sent requests on close, then reconnects with backoff and resends queued ones', async () => {
    const states: string[] = [];
    const c = make({ initialDelayMs: 100, maxDelayMs: 400 });
    c.onConnection((s) => states.push(s));
    sockets[0]!.open();
    const sent = c.invoke('app.info', {});
    sockets[0]!.drop();
    await expect(sent).rejects.toMatchObject({ code: 'disconnected' });
    const queued = c.invoke('workspace.list', {});
    vi.advanceTimersByTime(99);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    sockets[1]!.drop(); // the server is still down: wait twice as long
    vi.advanceTimersByTime(199);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);
    sockets[2]!.open();
    expect(sockets[2]!.lastFrame().method).toBe('workspace.list');
    sockets[2]!.reply({ id: sockets[2]!.lastFrame().id, result: 'ok' });
    expect(await queued).toBe('ok');
    expect(states).toEqual(['open', 'closed', 'connecting', 'closed', 'connecting', 'open']);
  });

  it('gives up on a queued request when no connection comes', async () => {
    const c = make({ queueTimeoutMs: 1000 });
    const p = c.invoke('app.info', {});
    vi.advanceTimersByTime(1000);
    await expect(p).rejects.toMatchObject({ code: 'disconnected' });
  });

  it('ignores garbage frames and stops for good on dispose', async () => {
    const c = make();
    sockets[0]!.open();
    sockets[0]!.onmessage?.({ data: 'not json' });
    sockets[0]!.onmessage?.({ data: JSON.stringify({ id: 999, result: 1 }) });
    const p = c.invoke('app.info', {});
    c.dispose();
    await expect(p).rejects.toMatchObject({ code: 'disconnected' });
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
  });
});

describe('wsUrlFor', () => {
  it('points at /api on the page host, passing ?token= along', () => {
    expect(wsUrlFor({ protocol: 'http:', host: '127.0.0.1:7770', search: '' })).toBe(
      'ws://127.0.0.1:7770/api',
    );
    expect(wsUrlFor({ protocol: 'http:', host: 'localhost:1', search: '?token=a b' })).toBe(
      'ws://localhost:1/api?token=a%20b',
    );
    expect(wsUrlFor({ protocol: 'https:', host: 'x', search: '' })).toBe('wss://x/api');
  });
});
