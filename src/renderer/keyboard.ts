/** Keyboard helpers shared by the global shortcuts and widgets. */

/** True when the event's target takes text (typing there must not trigger shortcuts). */
export function isTyping(e: KeyboardEvent | React.KeyboardEvent): boolean {
  const target = e.target instanceof Element ? e.target : null;
  return Boolean(target?.closest('input, textarea, select, [contenteditable="true"], .cm-editor, .xterm'));
}

export const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || '');

/** "Ctrl+K" or "⌘K" as this platform writes it. */
export function modKey(key: string): string {
  return isMac ? `⌘${key}` : `Ctrl+${key}`;
}

export interface Shortcut {
  keys: string;
  what: string;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { keys: modKey('O'), what: 'Open a folder' },
  { keys: `${modKey('K')}  or  /`, what: 'Filter the experiments' },
  { keys: '↑ ↓  or  j k', what: 'Move in the table' },
  { keys: 'Enter', what: 'Open the highlighted experiment' },
  { keys: 'Space', what: 'Check it for Compare' },
  { keys: 'c', what: 'Compare the checked experiments' },
  { keys: 'd', what: 'Diff the two checked experiments (config, code, environment)' },
  { keys: 'n', what: 'New run (config editor and launch)' },
  { keys: '1 … 5', what: 'Overview, Config, Log, Metrics, Outputs' },
  { keys: 'Esc', what: 'Back (close the experiment, leave Compare or the editor)' },
  { keys: modKey('R'), what: 'Refresh the workspace' },
  { keys: modKey('S'), what: 'Save the config being edited' },
  { keys: modKey('F'), what: 'Search in the config, log or editor' },
  { keys: '?', what: 'Show these shortcuts' },
];
