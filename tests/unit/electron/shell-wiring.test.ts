/**
 * The Electron-facing modules (protocol.ts, ipc.ts, windows.ts) driven with
 * stand-ins for the Electron objects they are given. 'electron' itself is
 * mocked: importing the real package would try to download the binary.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../../src/shared/contract';
import { tmpDir } from '../../helpers/tmp';

const electronMock = vi.hoisted(() => ({
  ipcMain: { handle: vi.fn(), removeHandler: vi.fn() },
  shell: { openExternal: vi.fn(() => Promise.resolve()) },
  protocol: { registerSchemesAsPrivileged: vi.fn() },
  nativeTheme: { shouldUseDarkColors: false, on: vi.fn(), off: vi.fn() },
  BrowserWindow: class {},
}));
vi.mock('electron', () => electronMock);

const { handleAppProtocol, registerAppScheme } = await import('../../../src/main/electron/protocol');
const { registerIpc } = await import('../../../src/main/electron/ipc');
const { WindowRegistry, hardenWebContents, hardenSession } =
  await import('../../../src/main/electron/windows');
const { APP_ORIGIN } = await import('../../../src/main/electron/origin-policy');
const { CONTENT_SECURITY_POLICY } = await import('../../../src/main/electron/renderer-files');

type Fn = (...args: never[]) => unknown;
/** Stand-ins are structurally partial; the code under test only touches what they define. */
const as = <T>(value: unknown): T => value as T;

beforeEach(() => vi.clearAllMocks());

describe('expdesk:// protocol', () => {
  function serve(root: string): (req: Request) => Promise<Response> {
    let handler: ((req: Request) => Promise<Response>) | undefined;
    const session = {
      protocol: {
        handle: (scheme: string, h: typeof handler) => ((handler = h), expect(scheme).toBe('expdesk')),
      },
    };
    handleAppProtocol(as(session), root);
    return handler!;
  }

  function rendererFixture(): { root: string; outside: string } {
    const base = tmpDir('expdesk-protocol-');
    const root = path.join(base, 'renderer');
    mkdirSync(path.join(root, 'assets'), { recursive: true });
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>Expdesk</title>');
    writeFileSync(path.join(root, 'assets', 'app.js'), 'export {}');
    const outside = path.join(base, 'secret.txt');
    writeFileSync(outside, 'secret');
    return { root, outside };
  }

  it('registers expdesk as a standard, secure, fetch-capable scheme, without CORS', () => {
    registerAppScheme();
    expect(electronMock.protocol.registerSchemesAsPrivileged).toHaveBeenCalledWith([
      { scheme: 'expdesk', privileges: { standard: true, secure: true, supportFetchAPI: true } },
    ]);
  });

  it('serves renderer files with their type and the CSP', async () => {
    const { root } = rendererFixture();
    const handle = serve(root);
    const page = await handle(new Request('expdesk://app/index.html'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(await page.text()).toContain('<title>Expdesk</title>');
    const script = await handle(new Request('expdesk://app/assets/app.js'));
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await handle(new Request('expdesk://app/'))).status).toBe(200);
  });

  it('refuses traversal, symlinks out of the folder, other methods; 404 for missing files', async () => {
    const { root, outside } = rendererFixture();
    symlinkSync(outside, path.join(root, 'assets', 'leak.txt'));
    const handle = serve(root);
    const status = async (url: string, method = 'GET') => (await handle(new Request(url, { method }))).status;
    expect(await status('expdesk://app/..%2fsecret.txt')).toBe(403);
    expect(await status('expdesk://app/assets/leak.txt')).toBe(403);
    expect(await status('expdesk://app/missing.js')).toBe(404);
    expect(await status('expdesk://app/index.html', 'POST')).toBe(405);
    expect(await status('expdesk://other/index.html')).toBe(403);
    const refused = await handle(new Request('expdesk://app/..%2fsecret.txt'));
    expect(await refused.text()).not.toContain('secret\n');
    expect(refused.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  });
});

describe('IPC', () => {
  function fakeWindow(url: string) {
    const contents = {
      getURL: () => url,
      isDestroyed: () => false,
      send: vi.fn(),
      on: vi.fn(),
      once: vi.fn(),
    };
    return { webContents: contents, isDestroyed: () => false, on: vi.fn() };
  }

  function setup() {
    const listeners: Array<(e: string, p: unknown) => void> = [];
    const host = {
      dispatch: vi.fn(async (name: unknown, params: unknown) => {
        if (name === 'experiment.get') throw new ApiError('not-found', 'no such experiment');
        return { name, params };
      }),
      onEvent: vi.fn((l: (e: string, p: unknown) => void) => {
        listeners.push(l);
        return () => listeners.splice(listeners.indexOf(l), 1);
      }),
    };
    const registry = new WindowRegistry();
    const ours = fakeWindow('expdesk://app/index.html');
    registry.add(as(ours));
    const dispose = registerIpc(as(host), registry, [APP_ORIGIN]);
    const [channel, handler] = electronMock.ipcMain.handle.mock.calls[0] as unknown as [string, Fn];
    expect(channel).toBe(IPC_INVOKE_CHANNEL);
    const call = (event: unknown, name: unknown, params: unknown) =>
      (handler as (...a: unknown[]) => unknown)(event, name, params);
    const frame = (url: string, parent: unknown = null) => ({ url, parent });
    return { host, ours, call, frame, listeners, dispose, registry };
  }

  it('answers trusted senders with the host’s result or error envelope', async () => {
    const { host, ours, call, frame } = setup();
    const event = { sender: ours.webContents, senderFrame: frame('expdesk://app/index.html') };
    await expect(call(event, 'app.info', {})).resolves.toEqual({
      ok: true,
      result: { name: 'app.info', params: {} },
    });
    await expect(call(event, 'experiment.get', { path: '/x' })).resolves.toEqual({
      ok: false,
      error: { code: 'not-found', message: 'no such experiment' },
    });
    expect(host.dispatch).toHaveBeenCalledTimes(2);
  });

  it('refuses other senders before the host sees anything', async () => {
    const { host, ours, call, frame } = setup();
    const stranger = fakeWindow('expdesk://app/index.html').webContents;
    for (const event of [
      { sender: ours.webContents, senderFrame: frame('https://evil.example/') },
      { sender: ours.webContents, senderFrame: frame('file:///tmp/x.html') },
      { sender: ours.webContents, senderFrame: frame('expdesk://app/index.html', { url: 'expdesk://app/' }) },
      { sender: ours.webContents, senderFrame: null },
      { sender: stranger, senderFrame: frame('expdesk://app/index.html') },
    ]) {
      await expect(call(event, 'app.info', {})).resolves.toMatchObject({
        ok: false,
        error: { code: 'forbidden' },
      });
    }
    expect(host.dispatch).not.toHaveBeenCalled();
  });

  it('forwards host events to our windows showing our page, and disposes cleanly', () => {
    const { ours, listeners, registry, dispose } = setup();
    const wandered = fakeWindow('https://elsewhere.example/');
    registry.add(as(wandered));
    listeners[0]!('workspace.changed', { root: '/r' });
    expect(ours.webContents.send).toHaveBeenCalledWith(IPC_EVENT_CHANNEL, 'workspace.changed', {
      root: '/r',
    });
    expect(wandered.webContents.send).not.toHaveBeenCalled();
    dispose();
    expect(electronMock.ipcMain.removeHandler).toHaveBeenCalledWith(IPC_INVOKE_CHANNEL);
    expect(listeners).toHaveLength(0);
  });
});

describe('web contents and session hardening', () => {
  function fakeContents() {
    const handlers = new Map<string, Fn>();
    let openHandler: ((d: { url: string }) => { action: string }) | undefined;
    const contents = {
      on: (name: string, h: Fn) => handlers.set(name, h),
      setWindowOpenHandler: (h: typeof openHandler) => (openHandler = h),
      getURL: () => 'expdesk://app/index.html',
    };
    hardenWebContents(as(contents), [APP_ORIGIN]);
    const fire = (name: string, url: string) => {
      const event = { url, preventDefault: vi.fn() };
      (handlers.get(name) as unknown as (e: typeof event) => void)(event);
      return event.preventDefault.mock.calls.length > 0;
    };
    return { fire, open: (url: string) => openHandler!({ url }) };
  }

  it('keeps navigation on the app origin and refuses webviews', () => {
    const { fire } = fakeContents();
    expect(fire('will-navigate', 'expdesk://app/index.html')).toBe(false);
    expect(fire('will-navigate', 'https://example.com/')).toBe(true);
    expect(fire('will-navigate', 'file:///tmp/dropped')).toBe(true);
    expect(fire('will-redirect', 'https://example.com/')).toBe(true);
    expect(fire('will-attach-webview', 'expdesk://app/')).toBe(true);
  });

  it('denies every new window, sending only http(s) links to the OS browser', () => {
    const { open } = fakeContents();
    expect(open('https://github.com/')).toEqual({ action: 'deny' });
    expect(electronMock.shell.openExternal).toHaveBeenCalledWith('https://github.com/');
    expect(open('file:///etc/passwd')).toEqual({ action: 'deny' });
    expect(open('smb://server/share')).toEqual({ action: 'deny' });
    expect(electronMock.shell.openExternal).toHaveBeenCalledTimes(1);
  });

  it('denies permission requests except clipboard writes from the app', () => {
    let request: Fn | undefined;
    let check: Fn | undefined;
    const session = {
      setPermissionRequestHandler: (h: Fn) => (request = h),
      setPermissionCheckHandler: (h: Fn) => (check = h),
      setDevicePermissionHandler: vi.fn(),
    };
    hardenSession(as(session), [APP_ORIGIN]);
    const contents = { getURL: () => 'expdesk://app/index.html' };
    const ask = (permission: string, requestingUrl: string) => {
      const callback = vi.fn();
      (request as unknown as (...a: unknown[]) => void)(contents, permission, callback, { requestingUrl });
      return callback.mock.calls[0]?.[0] as boolean;
    };
    expect(ask('media', 'expdesk://app/index.html')).toBe(false);
    expect(ask('geolocation', 'expdesk://app/index.html')).toBe(false);
    expect(ask('clipboard-sanitized-write', 'expdesk://app/index.html')).toBe(true);
    expect(ask('clipboard-sanitized-write', 'https://evil.example/')).toBe(false);
    const checkAt = check as unknown as (...a: unknown[]) => boolean;
    expect(checkAt(contents, 'notifications', 'expdesk://app')).toBe(true); // run ended/failed
    expect(checkAt(contents, 'notifications', 'https://evil.example')).toBe(false);
    expect(checkAt(contents, 'geolocation', 'expdesk://app')).toBe(false);
  });
});
