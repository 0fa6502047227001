/**
 * Config comparison: flatten nested configs to dotted paths and keep the keys
 * whose values differ between experiments (the seed's compare_experiments
 * table leaves configs out; users need exactly the keys that changed).
 */
import type { JsonValue } from './model';

export type Flat = Record<string, JsonValue>;

/**
 * Flatten maps to dotted paths; lists and scalars are leaves (a changed list
 * is one changed key). Iterative, in key order: a config is untrusted, and
 * its depth must not decide whether the stack holds.
 */
export function flattenConfig(value: JsonValue | undefined, prefix = '', out: Flat = {}): Flat {
  const stack: Array<[JsonValue | undefined, string]> = [[value, prefix]];
  while (stack.length > 0) {
    const [v, p] = stack.pop()!;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 0 && p) out[p] = {};
      // Pushed in reverse so they are visited in order.
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        stack.push([v[k], p ? `${p}.${k}` : k]);
      }
    } else if (p && v !== undefined) {
      out[p] = v;
    }
  }
  return out;
}

export interface ConfigDiffRow {
  key: string;
  /** One entry per experiment, in order; undefined where the key is absent. */
  values: (JsonValue | undefined)[];
}

function canonical(v: JsonValue | undefined): string {
  return v === undefined ? '\u0000absent' : JSON.stringify(v);
}

/** Keys (dotted) whose values are not equal in every config, sorted by key. */
export function diffConfigs(configs: (Record<string, JsonValue> | null)[]): ConfigDiffRow[] {
  const flats = configs.map((c) => flattenConfig(c ?? {}));
  const keys = new Set<string>();
  for (const f of flats) for (const k of Object.keys(f)) keys.add(k);
  const rows: ConfigDiffRow[] = [];
  for (const key of [...keys].sort()) {
    const values = flats.map((f) => (Object.prototype.hasOwnProperty.call(f, key) ? f[key] : undefined));
    const first = canonical(values[0]);
    if (values.some((v) => canonical(v) !== first)) rows.push({ key, values });
  }
  return rows;
}

/** Format a metric or config value for a text table. */
export function formatValue(v: JsonValue | undefined): string {
  if (v === undefined) return '—';
  if (v === null) return 'null';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** 4 significant digits, plain integers as they are; null (NaN in the file) as NaN. */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'NaN';
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}
