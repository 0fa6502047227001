import { describe, expect, it, vi } from 'vitest';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../../src/shared/contract';
import { createRawBridge, EventHub } from '../../../src/preload/bridge';
import { lossyBridge } from '../../../src/preload/main-world';
import { FakeIpc } from './fake-ipc';

describe('raw bridge: invoke', () => {
  it('sends contract requests on the invoke channel and returns the envelope', async () => {
    const ipc = new FakeIpc();
    ipc.answer = () => Promise.resolve({ ok: true, result: { version: '0.1.0' } });
    const bridge = createRawBridge(ipc, () => '');
    await expect(bridge.invoke('app.info', {})).resolves.toEqual({ ok: true, result: { version: '0.1.0' } });
    expect(ipc.invoked).toEqual([[IPC_INVOKE_CHANNEL, 'app.info', {}]]);
  });

  it('refuses names outside the contract without sending anything', async () => {
    const ipc = new FakeIpc();
    const bridge = createRawBridge(ipc, () => '');
    for (const name of ['fs.readFile', '__proto__', 'constructor', 'toString', '']) {
      await expect(bridge.invoke(name, {})).resolves.toMatchObject({
        ok: false,
        error: { code: 'bad-request' },
      });
    }
    expect(ipc.invoked).toEqual([]);
  });

  it('turns a transport failure into an internal error envelope', async () => {
    const ipc = new FakeIpc();
    ipc.answer = () => Promise.reject(new Error('No handler registered for expdesk:invoke'));
    const bridge = createRawBridge(ipc, () => '');
    await expect(bridge.invoke('app.info', {})).resolves.toEqual({
      ok: false,
      error: { code: 'internal', message: 'No handler registered for expdesk:invoke' },
    });
  });

  it('the lossy fallback rejects with the message (and code, before crossing worlds)', async () => {
    const ipc = new FakeIpc();
    ipc.answer = () => Promise.resolve({ ok: false, error: { code: 'not-found', message: 'gone' } });
    const api = lossyBridge(createRawBridge(ipc, () => '/p'));
    await expect(api.invoke('experiment.get', { path: '/x' })).rejects.toMatchObject({
      message: 'gone',
      code: 'not-found',
    });
    expect(api.pathForFile({} as File)).toBe('/p');
  });
});

describe('raw bridge: events', () => {
  it('delivers only the subscribed event, and unsubscribe removes exactly that listener', () => {
    const ipc = new FakeIpc();
    const bridge = createRawBridge(ipc, () => '');
    const a = vi.fn();
    const b = vi.fn();
    const offA = bridge.on('workspace.changed', a);
    bridge.on('workspace.changed', b);
    ipc.emit('workspace.changed', { root: '/r1' });
    ipc.emit('something.else', { root: '/nope' });
    expect(a).toHaveBeenCalledExactlyOnceWith({ root: '/r1' });
    expect(b).toHaveBeenCalledExactlyOnceWith({ root: '/r1' });
    offA();
    offA(); // idempotent
    ipc.emit('workspace.changed', { root: '/r2' });
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).toHaveBeenCalledTimes(2);
  });

  it('the same function subscribed twice is two subscriptions', () => {
    const ipc = new FakeIpc();
    const hub = new EventHub(ipc);
    const f = vi.fn();
    const off1 = hub.subscribe('workspace.changed', f);
    hub.subscribe('workspace.changed', f);
    off1();
    ipc.emit('workspace.changed', {});
    expect(f).toHaveBeenCalledTimes(1);
  });

  it('uses one ipc listener for any number of subscriptions and detaches when none is left', () => {
    const ipc = new FakeIpc();
    const hub = new EventHub(ipc);
    const offs = Array.from({ length: 50 }, () => hub.subscribe('workspace.changed', () => undefined));
    expect(ipc.listenerCount(IPC_EVENT_CHANNEL)).toBe(1);
    expect(hub.subscriptionCount).toBe(50);
    for (const off of offs) off();
    expect(ipc.listenerCount(IPC_EVENT_CHANNEL)).toBe(0);
    expect(hub.subscriptionCount).toBe(0);
  });

  it('a throwing listener does not starve the others', () => {
    const ipc = new FakeIpc();
    const bridge = createRawBridge(ipc, () => '');
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const good = vi.fn();
    bridge.on('workspace.changed', () => {
      throw new Error('listener bug');
    });
    bridge.on('workspace.changed', good);
    ipc.emit('workspace.changed', { root: '/r' });
    expect(good).toHaveBeenCalledOnce();
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
  });

  it('refuses unknown event names and non-function listeners', () => {
    const bridge = createRawBridge(new FakeIpc(), () => '');
    expect(() => bridge.on('workspace.chnaged', () => undefined)).toThrow(/unknown event/);
    expect(() => bridge.on('workspace.changed', 'x' as unknown as () => void)).toThrow(/function/);
  });
});

describe('raw bridge: pathForFile', () => {
  it('delegates to webUtils.getPathForFile', () => {
    const get = vi.fn(() => '/data/runs');
    const bridge = createRawBridge(new FakeIpc(), get);
    const file = { name: 'runs' } as unknown as File;
    expect(bridge.pathForFile(file)).toBe('/data/runs');
    expect(get).toHaveBeenCalledWith(file);
  });
});
