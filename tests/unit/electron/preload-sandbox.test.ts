/**
 * The built preload, run the way a sandboxed renderer runs it. A sandboxed
 * preload gets a `require` that knows only 'electron' (and a few Node
 * shims), so every other dependency must be bundled in; and window.expdesk
 * must work in the page's own world. The preload is built here with the
 * project's own electron.vite.config.ts (its preload section only) into a
 * temporary folder, so the test never reads a stale out/.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { resolveConfig } from 'electron-vite';
import { build, type InlineConfig } from 'vite';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { IPC_INVOKE_CHANNEL } from '../../../src/shared/contract';
import { tmpDirOutsideHooks } from './tmp-outside-hooks';
import { FakeIpc } from './fake-ipc';

/** What Electron's sandboxed preload `require` resolves (docs: "Sandboxed preload scripts"). */
const SANDBOX_MODULES = new Set(['electron', 'events', 'timers', 'url']);

interface ExpdeskApi {
  invoke(name: string, params: unknown): Promise<unknown>;
  on(event: string, listener: (payload: unknown) => void): () => void;
  pathForFile(file: unknown): string;
}

let bundle = '';

beforeAll(async () => {
  const { config } = await resolveConfig({}, 'build', 'production');
  const preload = config?.preload as InlineConfig | undefined;
  if (!preload?.build) throw new Error('electron.vite.config.ts has no preload build');
  const outDir = tmpDirOutsideHooks('expdesk-preload-');
  preload.build.outDir = outDir;
  preload.build.emptyOutDir = true;
  preload.logLevel = 'silent';
  await build(preload);
  bundle = readFileSync(path.join(outDir, 'index.cjs'), 'utf8');
}, 60_000);

function runPreload(ipc: FakeIpc, options: { executeInMainWorld?: boolean } = {}) {
  const required: string[] = [];
  const page = vm.createContext({ console });
  const exposed: string[] = [];
  const electron = {
    ipcRenderer: ipc,
    webUtils: { getPathForFile: (file: { path?: string }) => file.path ?? '' },
    contextBridge: {
      // Electron serialises func to source text and runs it in the page's world.
      executeInMainWorld:
        options.executeInMainWorld === false
          ? undefined
          : ({ func, args = [] }: { func: (...a: unknown[]) => unknown; args?: unknown[] }) =>
              (vm.runInContext(`(${func.toString()})`, page) as (...a: unknown[]) => unknown)(...args),
      exposeInMainWorld: (key: string, api: unknown) => {
        exposed.push(key);
        vm.runInContext('(k, v) => { globalThis[k] = v; }', page)(key, api);
      },
    },
  };
  const sandboxRequire = (id: string): unknown => {
    required.push(id);
    if (id === 'electron') return electron;
    if (SANDBOX_MODULES.has(id)) return {};
    // The sandbox's own wording.
    throw new Error(`module not found: ${id}`);
  };
  const isolated = vm.createContext({ console });
  const wrapper = vm.runInContext(`(function (exports, require, module) {${bundle}\n})`, isolated) as (
    exports: object,
    require: (id: string) => unknown,
    module: { exports: object },
  ) => void;
  const module = { exports: {} };
  wrapper(module.exports, sandboxRequire, module);
  const api = vm.runInContext('globalThis.expdesk', page) as ExpdeskApi | undefined;
  return { api, required, exposed, page };
}

describe('the built preload in a sandboxed renderer', () => {
  it('requires nothing but modules the sandbox provides (all else must be bundled)', () => {
    const requires = [...bundle.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    expect(
      requires.filter((id) => !SANDBOX_MODULES.has(id!)),
      'a sandboxed preload cannot require these; bundle them (electron.vite.config.ts: preload.build.externalizeDeps = false)',
    ).toEqual([]);
    const { required } = runPreload(new FakeIpc());
    expect(required.filter((id) => !SANDBOX_MODULES.has(id))).toEqual([]);
  });

  it('installs window.expdesk in the page world, never exposing ipcRenderer', () => {
    const { api, exposed, page } = runPreload(new FakeIpc());
    expect(exposed).toEqual([]); // installed by executeInMainWorld, not the lossy fallback
    expect(api).toBeDefined();
    expect(Object.keys(api!).sort()).toEqual(['invoke', 'on', 'pathForFile']);
    const globals = vm.runInContext('Object.getOwnPropertyNames(globalThis)', page) as string[];
    expect(globals.filter((g) => /ipc|electron|require/i.test(g))).toEqual([]);
  });

  it('invoke resolves results and rejects with a page-world Error that keeps code', async () => {
    const ipc = new FakeIpc();
    ipc.answer = (name) =>
      Promise.resolve(
        name === 'app.info'
          ? { ok: true, result: { version: '0.1.0' } }
          : { ok: false, error: { code: 'not-found', message: 'no experiment at /x' } },
      );
    const { api, page } = runPreload(ipc);
    await expect(api!.invoke('app.info', {})).resolves.toEqual({ version: '0.1.0' });
    const err = await api!.invoke('experiment.get', { path: '/x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(vm.runInContext('Error', page) as ErrorConstructor);
    expect(err).toMatchObject({ message: 'no experiment at /x', code: 'not-found' });
    await expect(api!.invoke('shell.exec', {})).rejects.toMatchObject({ code: 'bad-request' });
    expect(ipc.invoked).toEqual([
      [IPC_INVOKE_CHANNEL, 'app.info', {}],
      [IPC_INVOKE_CHANNEL, 'experiment.get', { path: '/x' }],
    ]);
  });

  it('on() delivers events and its unsubscribe works; pathForFile uses webUtils', () => {
    const ipc = new FakeIpc();
    const { api } = runPreload(ipc);
    const seen: unknown[] = [];
    const off = api!.on('workspace.changed', (p) => seen.push(p));
    ipc.emit('workspace.changed', { root: '/a' });
    off();
    ipc.emit('workspace.changed', { root: '/b' });
    expect(seen).toEqual([{ root: '/a' }]);
    expect(api!.pathForFile({ path: '/dropped/runs' })).toBe('/dropped/runs');
  });

  it('falls back to exposeInMainWorld where executeInMainWorld is missing', async () => {
    const ipc = new FakeIpc();
    ipc.answer = () => Promise.resolve({ ok: false, error: { code: 'forbidden', message: 'nope' } });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { api, exposed } = runPreload(ipc, { executeInMainWorld: false });
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/errors will lose their code/),
      expect.anything(),
    );
    warn.mockRestore();
    expect(exposed).toEqual(['expdesk']);
    await expect(api!.invoke('app.info', {})).rejects.toMatchObject({ message: 'nope' });
  });
});
