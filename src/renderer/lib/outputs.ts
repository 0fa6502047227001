/**
 * Reading output files for display: eval JSON as tables, samples (JSONL) as
 * records of text fields. Pure; values stay data (the view renders them as
 * text, never as HTML). Python's json.dumps writes NaN/Infinity, which
 * JSON.parse refuses: those tokens are read as null outside strings.
 */
import { flattenConfig } from '../../shared/config-diff';
import type { JsonValue } from '../../shared/model';

export function parsePythonJson(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    // Replace NaN/Infinity only outside string literals.
    const fixed = text.replace(/"(?:[^"\\]|\\.)*"|-?\bInfinity\b|\bNaN\b/g, (m) =>
      m.startsWith('"') ? m : 'null',
    );
    return JSON.parse(fixed) as JsonValue;
  }
}

export interface TableView {
  columns: string[];
  rows: JsonValue[][];
}

/** An eval result as a table: a list of records → one row each; an object → key/value rows. */
export function jsonToTable(value: JsonValue): TableView {
  if (Array.isArray(value) && value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) {
    const flats = value.map((v) => flattenConfig(v));
    const columns = [...new Set(flats.flatMap((f) => Object.keys(f)))];
    return { columns, rows: flats.map((f) => columns.map((c) => f[c] ?? null)) };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const flat = flattenConfig(value);
    return { columns: ['key', 'value'], rows: Object.entries(flat).map(([k, v]) => [k, v]) };
  }
  return { columns: ['value'], rows: [[value]] };
}

export interface SampleRecord {
  index: number;
  fields: [string, string][];
}

/** JSONL samples: each line a record of fields shown as text; a bad line is shown raw. */
export function parseSamples(text: string, limit = 500): { records: SampleRecord[]; more: number } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const records = lines.slice(0, limit).map((line, index): SampleRecord => {
    try {
      const v = parsePythonJson(line);
      if (v !== null && typeof v === 'object' && !Array.isArray(v))
        return {
          index,
          fields: Object.entries(v).map(([k, x]) => [
            k,
            typeof x === 'string' ? x : JSON.stringify(x, null, 2),
          ]),
        };
      return { index, fields: [['value', typeof v === 'string' ? v : JSON.stringify(v, null, 2)]] };
    } catch {
      return { index, fields: [['line', line]] };
    }
  });
  return { records, more: Math.max(0, lines.length - limit) };
}
