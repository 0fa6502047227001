/**
 * A WebSocket that closes ends the subscriptions it opened (log tails,
 * experiment watches), so a closed browser tab leaves nothing polling.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { attachRpc, type RpcHost } from '../../../src/main/server/rpc';

/** Just what attachRpc uses of a ws WebSocket. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  sent: unknown[] = [];
  send(text: string): void {
    this.sent.push(JSON.parse(text));
  }
  request(id: number, method: string, params: unknown): void {
    this.emit('message', Buffer.from(JSON.stringify({ id, method, params })), false);
  }
  close(): void {
    this.readyState = 3;
    this.emit('close');
  }
}

function fakeHost(): RpcHost & { calls: Array<[string, unknown]>; listeners: number } {
  let n = 0;
  const host = {
    calls: [] as Array<[string, unknown]>,
    listeners: 0,
    async dispatch(method: unknown, params: unknown): Promise<unknown> {
      host.calls.push([String(method), params]);
      if (method === 'log.subscribe' || method === 'experiments.watch') return { subscription: `s${++n}` };
      return {};
    },
    onEvent(): () => boolean {
      host.listeners++;
      return () => {
        host.listeners--;
        return true;
      };
    },
  };
  return host;
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('rpc connection cleanup', () => {
  it('unsubscribes what a closed connection left open, and only that', async () => {
    const host = fakeHost();
    const ws = new FakeSocket();
    // The fake has the part of WebSocket that attachRpc touches; the cast says so.
    attachRpc(ws as unknown as WebSocket, host);
    expect(host.listeners).toBe(1);
    ws.request(1, 'log.subscribe', { expDir: '/x' }); // s1
    ws.request(2, 'experiments.watch', { paths: ['/x'] }); // s2
    ws.request(3, 'experiments.watch', { paths: ['/y'] }); // s3
    await settle();
    ws.request(4, 'experiments.unwatch', { subscription: 's2' }); // ended by the client itself
    await settle();
    host.calls.length = 0;
    ws.close();
    await settle();
    expect(host.calls).toEqual([
      ['log.unsubscribe', { subscription: 's1' }],
      ['experiments.unwatch', { subscription: 's3' }],
    ]);
    expect(host.listeners).toBe(0);
  });

  it('ends a subscription whose answer arrives after the connection closed', async () => {
    const host = fakeHost();
    const ws = new FakeSocket();
    attachRpc(ws as unknown as WebSocket, host);
    ws.request(1, 'experiments.watch', { paths: ['/x'] });
    ws.close();
    await settle();
    expect(host.calls).toEqual([
      ['experiments.watch', { paths: ['/x'] }],
      ['experiments.unwatch', { subscription: 's1' }],
    ]);
  });
});
