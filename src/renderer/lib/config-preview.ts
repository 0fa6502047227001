/** What composing changed: the resolved config against its base, key by key (dotted). */
import { flattenConfig } from '../../shared/config-diff';
import type { JsonValue } from '../../shared/model';

export interface PreviewRow {
  key: string;
  base: JsonValue | undefined;
  value: JsonValue | undefined;
  change: 'added' | 'removed' | 'changed';
}

export function diffAgainstBase(
  config: Record<string, JsonValue>,
  base: Record<string, JsonValue>,
): PreviewRow[] {
  const a = flattenConfig(base);
  const b = flattenConfig(config);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const rows: PreviewRow[] = [];
  for (const key of keys) {
    const inA = Object.prototype.hasOwnProperty.call(a, key);
    const inB = Object.prototype.hasOwnProperty.call(b, key);
    if (inA && inB && JSON.stringify(a[key]) === JSON.stringify(b[key])) continue;
    rows.push({ key, base: a[key], value: b[key], change: !inA ? 'added' : !inB ? 'removed' : 'changed' });
  }
  return rows;
}
