import type { MenuItemConstructorOptions } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import { buildMenuTemplate } from '../../../src/main/electron/menu-template';

function submenu(item: MenuItemConstructorOptions | undefined): MenuItemConstructorOptions[] {
  const sub = item?.submenu;
  return Array.isArray(sub) ? sub : [];
}

function find(template: MenuItemConstructorOptions[], pred: (i: MenuItemConstructorOptions) => boolean) {
  const stack = [...template];
  while (stack.length) {
    const item = stack.shift()!;
    if (pred(item)) return item;
    stack.push(...submenu(item));
  }
  return undefined;
}

const actions = { openFolder: vi.fn(), openDemo: vi.fn() };

describe('buildMenuTemplate', () => {
  it('puts the app menu first on macOS only', () => {
    const mac = buildMenuTemplate({ platform: 'darwin', isDev: false, appName: 'Expdesk', actions });
    const linux = buildMenuTemplate({ platform: 'linux', isDev: false, appName: 'Expdesk', actions });
    expect(mac[0]?.label).toBe('Expdesk');
    expect(submenu(mac[0]).map((i) => i.role)).toContain('quit');
    expect(linux.map((i) => i.label)).toEqual(['&File', '&Edit', '&View', '&Window', '&Help']);
    expect(mac.slice(1).map((i) => i.label)).toEqual(['File', 'Edit', 'View', 'Window', 'Help']);
  });

  it('offers Open Folder… on Cmd/Ctrl+O and calls the action', () => {
    const t = buildMenuTemplate({ platform: 'win32', isDev: false, appName: 'Expdesk', actions });
    const open = find(t, (i) => i.id === 'open-folder');
    expect(open?.label).toBe('Open Folder…');
    expect(open?.accelerator).toBe('CmdOrCtrl+O');
    (open?.click as () => void)();
    expect(actions.openFolder).toHaveBeenCalledOnce();
    expect(find(t, (i) => i.role === 'quit')).toBeDefined();
    expect(find(t, (i) => i.id === 'open-demo')).toBeDefined();
  });

  it('omits the demo item when no demo is shipped', () => {
    const t = buildMenuTemplate({
      platform: 'linux',
      isDev: false,
      appName: 'E',
      actions: { openFolder: vi.fn() },
    });
    expect(find(t, (i) => i.id === 'open-demo')).toBeUndefined();
  });

  it('uses roles for Edit and Window, and shows reload/devtools in development only', () => {
    const prod = buildMenuTemplate({ platform: 'linux', isDev: false, appName: 'E', actions });
    const dev = buildMenuTemplate({ platform: 'linux', isDev: true, appName: 'E', actions });
    expect(find(prod, (i) => i.role === 'editMenu')).toBeDefined();
    expect(find(prod, (i) => i.role === 'windowMenu')).toBeDefined();
    expect(find(prod, (i) => i.role === 'toggleDevTools')).toBeUndefined();
    expect(find(prod, (i) => i.role === 'reload')).toBeUndefined();
    expect(find(prod, (i) => i.role === 'zoomIn')).toBeDefined();
    expect(find(dev, (i) => i.role === 'toggleDevTools')).toBeDefined();
    expect(find(dev, (i) => i.role === 'reload')).toBeDefined();
  });
});
