/**
 * Installs the application menu built by menu-template.ts and implements its
 * actions. Opening a folder goes through the host like any renderer request;
 * the host's workspace.changed event then updates every window.
 */
import { BrowserWindow, dialog, Menu } from 'electron';
import { buildMenuTemplate } from './menu-template';

export interface MenuContext {
  appName: string;
  isDev: boolean;
  demoWorkspace: string | null;
  openWorkspace(root: string): Promise<void>;
}

export function installMenu(context: MenuContext): void {
  const demo = context.demoWorkspace;
  const template = buildMenuTemplate({
    platform: process.platform,
    isDev: context.isDev,
    appName: context.appName,
    actions: {
      openFolder: () => void chooseAndOpenFolder(context),
      ...(demo ? { openDemo: () => void context.openWorkspace(demo) } : {}),
    },
  });
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

async function chooseAndOpenFolder(context: MenuContext): Promise<void> {
  const parent = BrowserWindow.getFocusedWindow();
  const options: Electron.OpenDialogOptions = {
    title: 'Open a folder of experiments',
    buttonLabel: 'Open',
    properties: ['openDirectory'],
  };
  const choice = parent ? await dialog.showOpenDialog(parent, options) : await dialog.showOpenDialog(options);
  const root = choice.filePaths[0];
  if (choice.canceled || !root) return;
  await context.openWorkspace(root);
}
