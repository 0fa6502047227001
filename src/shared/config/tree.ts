/**
 * Operations on config trees (plain JSON-like values parsed from YAML):
 * deep merge with the composition rule (maps merge, lists and scalars are
 * replaced), dotted paths, and "did you mean" suggestions for unknown keys.
 */
import type { JsonValue } from '../model';

export type ConfigMap = { [key: string]: JsonValue };

export function isMap(v: unknown): v is ConfigMap {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function clone<T extends JsonValue>(v: T): T {
  return structuredClone(v);
}

/** Merge `over` into a copy of `base`: maps merge deeply; lists and scalars from `over` replace. */
export function deepMerge(base: ConfigMap, over: ConfigMap): ConfigMap {
  const out: ConfigMap = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    out[k] = isMap(prev) && isMap(v) ? deepMerge(prev, v) : clone(v);
  }
  return out;
}

export function splitPath(dotted: string): string[] {
  return dotted.split('.');
}

export function getPath(root: JsonValue, dotted: string): JsonValue | undefined {
  let cur: JsonValue | undefined = root;
  for (const part of splitPath(dotted)) {
    if (isMap(cur)) cur = cur[part];
    else if (Array.isArray(cur) && /^\d+$/.test(part)) cur = cur[Number(part)];
    else return undefined;
  }
  return cur;
}

/** Set a dotted path, creating maps along the way. Returns false when a non-map stands in the way. */
export function setPath(root: ConfigMap, dotted: string, value: JsonValue): boolean {
  const parts = splitPath(dotted);
  let cur: ConfigMap = root;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (next === undefined) cur = cur[part] = {};
    else if (isMap(next)) cur = next;
    else return false;
  }
  cur[parts[parts.length - 1]!] = value;
  return true;
}

/** Every dotted path of the tree, maps included (a.b and a.b.c), depth first in key order; iterative. */
export function allPaths(root: JsonValue, prefix = '', out: string[] = []): string[] {
  const stack: Array<[JsonValue, string, boolean]> = [[root, prefix, true]];
  while (stack.length > 0) {
    const [node, p, isRoot] = stack.pop()!;
    if (!isRoot) out.push(p);
    if (!isMap(node)) continue;
    const entries = Object.entries(node);
    // Pushed in reverse so they are visited in order, each before its children (as a recursive walk).
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, v] = entries[i]!;
      stack.push([v, p ? `${p}.${k}` : k, false]);
    }
  }
  return out;
}

export function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The existing keys nearest to `key`: same-parent siblings first, then by edit distance. */
export function nearestKeys(key: string, candidates: string[], count = 3): string[] {
  const leaf = key.split('.').pop()!;
  const scored = candidates.map((c) => {
    const cLeaf = c.split('.').pop()!;
    const d = Math.min(levenshtein(key, c), levenshtein(leaf, cLeaf) + (c.includes('.') ? 1 : 0));
    return { c, d };
  });
  scored.sort((x, y) => x.d - y.d || x.c.localeCompare(y.c));
  return scored.slice(0, count).map((s) => s.c);
}
