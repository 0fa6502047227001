/**
 * CSV as pandas and spreadsheets read it (RFC 4180): fields with a comma,
 * quote or line break are quoted, quotes doubled. A field starting with
 * = + - @, a tab or a carriage return is prefixed with ' so a spreadsheet
 * never runs it as a formula (values come from untrusted folders); a number
 * written as text (-0.5, +1e-3) is left as it is. The interface's CSV export
 * and `expdesk compare --csv` both write their cells here.
 */
export type CsvCell = string | number | boolean | null | undefined;

export function csvField(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'NaN';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: readonly (readonly CsvCell[])[]): string {
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}
