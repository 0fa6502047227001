/**
 * Each Electron window owns what it subscribes to: closing the window (its
 * webContents destroyed) or reloading its page ends the log follows and
 * watches it opened through IPC, and only those (issue 10, sessions). The
 * windows are stand-ins (electron cannot run here); 'electron' is mocked as
 * in shell-wiring.test.ts, and the host is the real ExpdeskHost, so the test
 * sees its real subscriptions and timers go.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExpdeskHost } from '../../../src/main/host/host';
import { IPC_INVOKE_CHANNEL } from '../../../src/shared/contract';
import { tmpDir } from '../../helpers/tmp';

const electronMock = vi.hoisted(() => ({
  ipcMain: { handle: vi.fn(), removeHandler: vi.fn() },
  shell: { openExternal: vi.fn(() => Promise.resolve()) },
  protocol: { registerSchemesAsPrivileged: vi.fn() },
  nativeTheme: { shouldUseDarkColors: false, on: vi.fn(), off: vi.fn() },
  BrowserWindow: class {},
}));
vi.mock('electron', () => electronMock);

const { registerIpc } = await import('../../../src/main/electron/ipc');
const { WindowRegistry } = await import('../../../src/main/electron/windows');
const { APP_ORIGIN } = await import('../../../src/main/electron/origin-policy');

const PAGE = 'expdesk://app/index.html';

/** A BrowserWindow as ipc.ts and WindowRegistry use it; its webContents emits like Electron's. */
class FakeContents extends EventEmitter {
  destroyed = false;
  readonly send = vi.fn();
  getURL(): string {
    return PAGE;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  /** What Electron does when the window closes. */
  destroy(): void {
    this.destroyed = true;
    this.emit('destroyed');
  }
}
class FakeWindow extends EventEmitter {
  readonly webContents = new FakeContents();
  isDestroyed(): boolean {
    return this.webContents.destroyed;
  }
  close(): void {
    this.webContents.destroy();
    this.emit('closed');
  }
}

type Envelope = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

let cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.reverse()) c();
  cleanup = [];
  vi.clearAllMocks();
});

function experiment(): string {
  const root = tmpDir('expdesk-ipc-sessions-');
  const dir = path.join(root, 'exp001_dpo_tiny');
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  writeFileSync(path.join(dir, 'config.yaml'), 'algorithm: dpo\n');
  writeFileSync(path.join(dir, 'logs', 'train.log'), 'step 1\n');
  return dir;
}

function setup() {
  const host = new ExpdeskHost({
    mode: 'electron',
    version: 'test',
    workspace: null,
    demoWorkspace: null,
    cacheDir: tmpDir('expdesk-ipc-cache-'),
  });
  const registry = new WindowRegistry();
  const stop = registerIpc(host, registry, [APP_ORIGIN]);
  cleanup.push(() => host.dispose(), stop);
  const [channel, handler] = electronMock.ipcMain.handle.mock.calls[0] as unknown as [
    string,
    (event: unknown, name: unknown, params: unknown) => Promise<Envelope>,
  ];
  expect(channel).toBe(IPC_INVOKE_CHANNEL);
  const open = (): FakeWindow => {
    const win = new FakeWindow();
    registry.add(win as never);
    return win;
  };
  const call = async (win: FakeWindow, name: string, params: unknown): Promise<unknown> => {
    const event = { sender: win.webContents, senderFrame: { url: PAGE, parent: null } };
    const envelope = await handler(event, name, params);
    if (!envelope.ok) throw new Error(`${name}: ${envelope.error.message}`);
    return envelope.result;
  };
  /** Subscribe to the log and watch the experiment, as the detail view does. */
  const follow = async (win: FakeWindow, dir: string): Promise<void> => {
    await call(win, 'log.subscribe', { expDir: dir });
    await call(win, 'experiments.watch', { paths: [dir] });
  };
  return { host, open, call, follow };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Electron windows own their subscriptions', () => {
  it('closing a window ends its log follow and watch, and leaves another window’s running', async () => {
    const { host, open, follow } = setup();
    const dir = experiment();
    const a = open();
    const b = open();
    await follow(a, dir);
    await follow(b, dir);
    expect(host.activity()).toMatchObject({ logFollows: 2, watches: 2 });
    expect(host.activity().timers).toBeGreaterThan(0);

    a.close();
    await until('window A’s subscriptions to end', () => host.activity().logFollows === 1);
    expect(host.activity()).toMatchObject({ logFollows: 1, watches: 1 });

    b.close();
    await until('every subscription to end', () => host.activity().logFollows === 0);
    expect(host.activity()).toEqual({
      logFollows: 0,
      watches: 0,
      remoteWatches: 0,
      runWatches: 0,
      timers: 0,
      sshChannels: 0,
    });
  }, 60_000);

  it('a reload ends what the old page subscribed to; the new page starts a fresh session', async () => {
    const { host, open, follow, call } = setup();
    const dir = experiment();
    const win = open();
    await follow(win, dir);
    win.webContents.emit('did-navigate');
    await until('the old page’s subscriptions to end', () => host.activity().watches === 0);
    expect(host.activity().logFollows).toBe(0);
    // The reloaded page subscribes again; closing the window then ends that too.
    await follow(win, dir);
    expect(host.activity()).toMatchObject({ logFollows: 1, watches: 1 });
    await expect(call(win, 'app.info', {})).resolves.toMatchObject({ mode: 'electron' });
    win.close();
    await until('the new page’s subscriptions to end', () => host.activity().logFollows === 0);
    expect(host.activity()).toEqual({
      logFollows: 0,
      watches: 0,
      remoteWatches: 0,
      runWatches: 0,
      timers: 0,
      sshChannels: 0,
    });
  }, 60_000);
});
