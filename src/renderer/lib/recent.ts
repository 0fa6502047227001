/**
 * Small preferences kept in localStorage: recent workspaces, table columns,
 * the launch form. Every read tolerates a missing, foreign or corrupt value
 * (the storage is shared with whatever else ran on this origin).
 */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** localStorage where it exists and works (a sandboxed or private page may throw). */
export function defaultStorage(): KeyValueStorage | null {
  try {
    const s = globalThis.localStorage;
    return s ?? null;
  } catch {
    return null;
  }
}

export function readJson<T>(
  storage: KeyValueStorage | null,
  key: string,
  valid: (v: unknown) => v is T,
): T | null {
  if (!storage) return null;
  try {
    const raw = storage.getItem(key);
    if (raw === null) return null;
    const v: unknown = JSON.parse(raw);
    return valid(v) ? v : null;
  } catch {
    return null;
  }
}

export function writeJson(storage: KeyValueStorage | null, key: string, value: unknown): void {
  try {
    storage?.setItem(key, JSON.stringify(value));
  } catch {
    // Quota or a disabled storage: preferences are a convenience, never an error.
  }
}

export const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'string');

export const RECENT_LIMIT = 10;

/** Put `root` first, without duplicates, at most RECENT_LIMIT. */
export function pushRecent(list: readonly string[], root: string): string[] {
  return [root, ...list.filter((r) => r !== root)].slice(0, RECENT_LIMIT);
}
