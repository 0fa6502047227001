/**
 * Windows and the security rules every web page in the app lives under:
 * sandboxed, context-isolated renderers without Node; navigation kept on our
 * own origin; new windows refused (http(s) links go to the OS browser); no
 * permissions but clipboard writes; no webviews.
 */
import { BrowserWindow, nativeTheme, shell, type Session, type WebContents } from 'electron';
import path from 'node:path';
import { externalUrlToOpen, isAllowedNavigation, isPermissionGranted } from './origin-policy';

/** The windows this process created: the only senders ipc.ts answers and the only receivers of events. */
export class WindowRegistry {
  private readonly windows = new Set<BrowserWindow>();

  add(win: BrowserWindow): void {
    this.windows.add(win);
    win.on('closed', () => this.windows.delete(win));
  }

  ownsWebContents(contents: WebContents): boolean {
    for (const win of this.windows) {
      if (!win.isDestroyed() && win.webContents === contents) return true;
    }
    return false;
  }

  /** Live windows, oldest first. */
  list(): BrowserWindow[] {
    return [...this.windows].filter((w) => !w.isDestroyed());
  }
}

/** Deny everything a page could ask the session for, except what isPermissionGranted allows. */
export function hardenSession(session: Session, origins: readonly string[]): void {
  session.setPermissionRequestHandler((contents, permission, callback, details) => {
    callback(isPermissionGranted(permission, details.requestingUrl || contents.getURL(), origins));
  });
  session.setPermissionCheckHandler((contents, permission, requestingOrigin) => {
    return isPermissionGranted(permission, requestingOrigin || contents?.getURL() || '', origins);
  });
  session.setDevicePermissionHandler(() => false);
}

/** Applied to every webContents the app creates (app 'web-contents-created'), ours or not. */
export function hardenWebContents(contents: WebContents, origins: readonly string[]): void {
  contents.on('will-navigate', (event) => {
    if (!isAllowedNavigation(event.url, origins)) event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (!isAllowedNavigation(event.url, origins)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    const external = externalUrlToOpen(url);
    if (external) void shell.openExternal(external);
    return { action: 'deny' };
  });
}

export function themeBackground(): string {
  // Matches the renderer's base colours so the window does not flash before first paint.
  return nativeTheme.shouldUseDarkColors ? '#1e1f22' : '#ffffff';
}

export interface MainWindowOptions {
  /** What the window loads: expdesk://app/index.html, or the dev server in development. */
  url: string;
  /** Absolute path of out/preload/index.cjs. */
  preload: string;
  /** PNG used as the window icon on Linux (Windows and macOS take it from the bundle). */
  icon?: string;
}

export function createMainWindow(registry: WindowRegistry, options: MainWindowOptions): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 720,
    minHeight: 480,
    title: 'Expdesk',
    show: false,
    backgroundColor: themeBackground(),
    ...(options.icon && process.platform === 'linux' ? { icon: options.icon } : {}),
    webPreferences: {
      preload: path.resolve(options.preload),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      navigateOnDragDrop: false,
      // No middle-click: it could only ask for windows that are denied anyway.
      disableBlinkFeatures: 'Auxclick',
    },
  });
  registry.add(win);
  win.once('ready-to-show', () => win.show());
  const onTheme = (): void => {
    if (!win.isDestroyed()) win.setBackgroundColor(themeBackground());
  };
  nativeTheme.on('updated', onTheme);
  win.on('closed', () => nativeTheme.off('updated', onTheme));
  void win.loadURL(options.url);
  return win;
}
