/**
 * The application menu as data. Pure apart from a type-only import (erased at
 * build time), so tests can check the per-platform shape without Electron;
 * menu.ts supplies the actions and hands the template to Menu.
 */
import type { MenuItemConstructorOptions } from 'electron';

export interface MenuActions {
  openFolder(): void;
  /** Absent when the demo workspace is not shipped. */
  openDemo?: () => void;
}

export interface MenuOptions {
  platform: NodeJS.Platform;
  /** Unpackaged build: adds Reload and Toggle Developer Tools. */
  isDev: boolean;
  appName: string;
  actions: MenuActions;
}

export function buildMenuTemplate(options: MenuOptions): MenuItemConstructorOptions[] {
  const { platform, isDev, appName, actions } = options;
  const isMac = platform === 'darwin';
  // `&` marks the Alt-key mnemonic on Windows and Linux; macOS has none and would show it.
  const top = (label: string): string => (isMac ? label.replace('&', '') : label);

  const fileMenu: MenuItemConstructorOptions = {
    label: top('&File'),
    submenu: [
      {
        id: 'open-folder',
        label: 'Open Folder…',
        accelerator: 'CmdOrCtrl+O',
        click: () => actions.openFolder(),
      },
      ...(actions.openDemo
        ? [{ id: 'open-demo', label: 'Open Demo Workspace', click: () => actions.openDemo?.() }]
        : []),
      { type: 'separator' },
      isMac ? { role: 'close' } : { role: 'quit' },
    ],
  };

  const viewMenu: MenuItemConstructorOptions = {
    label: top('&View'),
    submenu: [
      ...(isDev
        ? ([
            { role: 'reload' },
            { role: 'forceReload' },
            { role: 'toggleDevTools' },
            { type: 'separator' },
          ] as const)
        : []),
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
    ],
  };

  const template: MenuItemConstructorOptions[] = [
    ...(isMac
      ? [
          {
            label: appName,
            submenu: [
              { role: 'about' },
              { type: 'separator' },
              { role: 'services' },
              { type: 'separator' },
              { role: 'hide' },
              { role: 'hideOthers' },
              { role: 'unhide' },
              { type: 'separator' },
              { role: 'quit' },
            ],
          } satisfies MenuItemConstructorOptions,
        ]
      : []),
    fileMenu,
    { label: top('&Edit'), role: 'editMenu' },
    viewMenu,
    { label: top('&Window'), role: 'windowMenu' },
    {
      label: top('&Help'),
      role: 'help',
      // macOS puts About in the app menu; elsewhere it lives here.
      submenu: isMac ? [] : [{ role: 'about' }],
    },
  ];
  return template;
}
