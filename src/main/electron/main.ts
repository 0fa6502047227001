/**
 * Electron entry (built to out/main/index.js). Wires the pieces together and
 * holds no logic of its own: the host answers the contract, protocol.ts
 * serves the renderer, ipc.ts bridges, windows.ts enforces the web rules,
 * menu.ts offers Open Folder.
 */
import { app, dialog, session, shell } from 'electron';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoWorkspaceDir, expdeskVersion, packageRoot, rendererDir } from '../core/app/paths';
import { settleCaptures } from '../core/runs/pending-captures';
import { flushSummaryCaches } from '../core/summary/summary-store';
import { ExpdeskHost } from '../host/host';
import { registerIpc } from './ipc';
import { parseLaunchArgs } from './launch-args';
import { installMenu } from './menu';
import { showAlertNotifications } from './notifications';
import { APP_ENTRY_URL, trustedOrigins } from './origin-policy';
import { handleAppProtocol, registerAppScheme } from './protocol';
import { createMainWindow, hardenSession, hardenWebContents, WindowRegistry } from './windows';

const APP_ID = 'dev.expdesk.app';
const PRODUCT_NAME = 'Expdesk';

// Tests and side-by-side runs use their own profile (and so their own single-instance lock).
if (process.env.EXPDESK_USER_DATA_DIR)
  app.setPath('userData', path.resolve(process.env.EXPDESK_USER_DATA_DIR));

if (!app.requestSingleInstanceLock()) {
  // Another Expdesk owns this profile; it receives our argv in 'second-instance'.
  app.quit();
} else {
  start();
}

function start(): void {
  const isDev = !app.isPackaged;
  // electron-vite dev serves the renderer with hot reload; never honoured in a packaged app.
  const devServerUrl = isDev ? (process.env.ELECTRON_RENDERER_URL ?? null) : null;
  const origins = trustedOrigins(devServerUrl);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const preload = path.join(here, '..', 'preload', 'index.cjs');
  const icon = path.join(packageRoot(), 'resources', 'icons', 'icon.png');

  const launch = parseLaunchArgs(process.argv, {
    defaultApp: Boolean(process.defaultApp),
    cwd: process.cwd(),
  });
  const demoWorkspace = demoWorkspaceDir();
  const host = new ExpdeskHost({
    mode: 'electron',
    version: expdeskVersion(),
    workspace: launch.workspace ?? demoWorkspace,
    demoWorkspace,
    revealInFolder: (p) => shell.showItemInFolder(p),
  });

  const windows = new WindowRegistry();

  registerAppScheme();
  app.enableSandbox();
  app.setAppUserModelId(APP_ID);

  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, origins));

  const openWindow = (): void => {
    createMainWindow(windows, {
      url: devServerUrl ?? APP_ENTRY_URL,
      preload,
      ...(existsSync(icon) ? { icon } : {}),
    });
  };

  const focusOrOpen = (): void => {
    const [win] = windows.list();
    if (!win) return openWindow();
    if (win.isMinimized()) win.restore();
    win.focus();
  };

  showAlertNotifications(host, focusOrOpen);

  const openWorkspace = async (root: string): Promise<void> => {
    try {
      // Through dispatch like any request: validated, and workspace.changed reaches every window.
      await host.dispatch('workspace.open', { root });
      // macOS keeps running without windows; a folder opened then needs one to show in.
      if (windows.list().length === 0) openWindow();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      dialog.showErrorBox('Could not open the folder', `${root}\n\n${message}`);
    }
  };

  app.on('second-instance', (_event, argv, workingDirectory) => {
    const again = parseLaunchArgs(argv, { defaultApp: Boolean(process.defaultApp), cwd: workingDirectory });
    focusOrOpen();
    if (again.workspace) void openWorkspace(again.workspace);
  });

  // macOS: a folder dropped on the Dock icon or opened with "Open With".
  app.on('open-file', (event, file) => {
    event.preventDefault();
    if (app.isReady()) void openWorkspace(file);
    else void app.whenReady().then(() => openWorkspace(file));
  });

  // Summaries reach the disk cache after the listing that read them: write what is left before quitting.
  let cacheFlushed = false;
  app.on('will-quit', (event) => {
    if (cacheFlushed) return;
    event.preventDefault();
    void Promise.all([flushSummaryCaches(), settleCaptures()]).finally(() => {
      cacheFlushed = true;
      app.quit();
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  app.on('activate', () => {
    if (app.isReady() && windows.list().length === 0) openWindow();
  });

  void app.whenReady().then(() => {
    hardenSession(session.defaultSession, origins);
    handleAppProtocol(session.defaultSession, rendererDir());
    const stopIpc = registerIpc(host, windows, origins);
    app.once('will-quit', stopIpc);
    installMenu({ appName: PRODUCT_NAME, isDev, demoWorkspace, openWorkspace });
    openWindow();
  });
}
