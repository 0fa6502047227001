import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/shared/contract';
import { toEnvelope } from '../../../src/main/electron/ipc-envelope';
import { checkEnvelope, unwrapEnvelope, type RawBridge } from '../../../src/preload/bridge';
import { installMainWorldApi } from '../../../src/preload/main-world';

describe('toEnvelope', () => {
  it('wraps a result', async () => {
    await expect(toEnvelope(Promise.resolve({ a: 1 }))).resolves.toEqual({ ok: true, result: { a: 1 } });
    await expect(toEnvelope(Promise.resolve(undefined))).resolves.toEqual({ ok: true, result: undefined });
  });

  it('keeps an ApiError’s code and message', async () => {
    await expect(
      toEnvelope(Promise.reject(new ApiError('not-found', 'no such experiment: /x'))),
    ).resolves.toEqual({
      ok: false,
      error: { code: 'not-found', message: 'no such experiment: /x' },
    });
  });

  it('reports anything else as internal, never rejecting', async () => {
    await expect(toEnvelope(Promise.reject(new TypeError('boom')))).resolves.toEqual({
      ok: false,
      error: { code: 'internal', message: 'boom' },
    });
    await expect(toEnvelope(Promise.reject('a string'))).resolves.toEqual({
      ok: false,
      error: { code: 'internal', message: 'a string' },
    });
    const weird = Object.assign(new Error('odd'), { code: 'ENOENT' });
    await expect(toEnvelope(Promise.reject(weird))).resolves.toMatchObject({ error: { code: 'internal' } });
  });

  it('survives structured cloning (what IPC does to it) as plain data', async () => {
    const envelope = await toEnvelope(Promise.reject(new ApiError('bad-request', 'invalid params')));
    expect(structuredClone(envelope)).toEqual(envelope);
  });
});

describe('the preload reading what main sends', () => {
  it('round-trips success and failure', async () => {
    const good = checkEnvelope(structuredClone(await toEnvelope(Promise.resolve([1, 2]))));
    expect(unwrapEnvelope(good)).toEqual([1, 2]);
    const bad = checkEnvelope(
      structuredClone(await toEnvelope(Promise.reject(new ApiError('forbidden', 'no')))),
    );
    expect(() => unwrapEnvelope(bad)).toThrow(expect.objectContaining({ message: 'no', code: 'forbidden' }));
  });

  it('turns a malformed answer into an internal error instead of trusting it', () => {
    for (const v of [
      null,
      undefined,
      42,
      'ok',
      {},
      { ok: 'yes' },
      { ok: false },
      { ok: false, error: { code: 'x' } },
    ]) {
      expect(checkEnvelope(v), JSON.stringify(v)).toMatchObject({ ok: false, error: { code: 'internal' } });
    }
    expect(checkEnvelope({ ok: false, error: { code: 'made-up', message: 'm' } })).toEqual({
      ok: false,
      error: { code: 'internal', message: 'm' },
    });
  });
});

describe('installMainWorldApi (runs in the page world via executeInMainWorld)', () => {
  function fakeRaw(envelopes: Record<string, unknown>): RawBridge {
    return {
      invoke: (name) => Promise.resolve(checkEnvelope(envelopes[name])),
      on: () => () => undefined,
      pathForFile: () => '/dropped/folder',
    };
  }

  /** Rebuild the function from its source text in a fresh realm, as Electron does. */
  function installInFreshWorld(raw: RawBridge): { world: vm.Context; installed: unknown } {
    const world = vm.createContext({});
    const func = vm.runInContext(`(${installMainWorldApi.toString()})`, world) as (r: RawBridge) => unknown;
    return { world, installed: func(raw) };
  }

  it('is self-contained, defines a frozen read-only window.expdesk and reports success', () => {
    const { world, installed } = installInFreshWorld(fakeRaw({}));
    expect(installed).toBe(true);
    const api = vm.runInContext('globalThis.expdesk', world) as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual(['invoke', 'on', 'pathForFile']);
    expect(vm.runInContext('Object.isFrozen(globalThis.expdesk)', world)).toBe(true);
    expect(vm.runInContext('Object.getOwnPropertyDescriptor(globalThis, "expdesk").writable', world)).toBe(
      false,
    );
  });

  it('resolves results and rejects with a page-world Error carrying code', async () => {
    const { world } = installInFreshWorld(
      fakeRaw({
        'app.info': { ok: true, result: { version: '1' } },
        'experiment.get': { ok: false, error: { code: 'not-found', message: 'gone' } },
        'workspace.list': 'garbage',
      }),
    );
    const api = vm.runInContext('globalThis.expdesk', world) as {
      invoke(n: string, p: unknown): Promise<unknown>;
      pathForFile(f: unknown): string;
    };
    await expect(api.invoke('app.info', {})).resolves.toEqual({ version: '1' });
    const err = await api.invoke('experiment.get', { path: '/x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(vm.runInContext('Error', world) as ErrorConstructor);
    expect(err).toMatchObject({ name: 'ApiError', message: 'gone', code: 'not-found' });
    await expect(api.invoke('workspace.list', {})).rejects.toMatchObject({ code: 'internal' });
    expect(api.pathForFile({})).toBe('/dropped/folder');
  });
});
