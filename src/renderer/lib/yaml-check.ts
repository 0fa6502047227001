/**
 * YAML syntax problems of the text being edited, found in the renderer with
 * the same parser the core uses, so a typo is marked while typing; composing
 * (defaults, interpolation) is the core's, on save.
 */
import { parseDocument } from 'yaml';
import { yamlTooDeep } from '../../shared/nesting';

export interface TextProblem {
  /** Character offsets in the text. */
  from: number;
  to: number;
  /** 1-based. */
  line: number;
  column: number;
  message: string;
}

export function yamlProblems(text: string): TextProblem[] {
  // Measured before parsing, as the core does: deep nesting can exhaust the parser's memory.
  const deep = yamlTooDeep(text);
  if (deep) {
    const at = offsetOf(text, deep.line, deep.column);
    return [
      {
        from: at,
        to: Math.min(at + 1, text.length),
        line: deep.line,
        column: deep.column,
        message: deep.message,
      },
    ];
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  return doc.errors.map((e) => {
    const [from, to] = e.pos;
    const lp = e.linePos?.[0];
    return {
      from: Math.max(0, Math.min(from, text.length)),
      to: Math.max(0, Math.min(Math.max(to, from + 1), text.length)),
      line: lp?.line ?? 1,
      column: lp?.col ?? 1,
      // prettyErrors appends a code frame after the first line; the editor shows the place itself.
      message: e.message.split('\n')[0]!,
    };
  });
}

/** Offsets of a 1-based line (and optional column) in the text, for a problem the core reported. */
export function rangeOfLine(
  text: string,
  line: number,
  column?: number | null,
): { from: number; to: number } {
  let start = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', start);
    if (nl === -1) break;
    start = nl + 1;
  }
  const nl = text.indexOf('\n', start);
  const end = nl === -1 ? text.length : nl;
  const from = column && column > 1 ? Math.min(start + column - 1, end) : start;
  return { from, to: Math.max(end, from) };
}

/** Offset of a 1-based line and column in the text. */
function offsetOf(text: string, line: number, column: number): number {
  let at = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) return text.length;
    at = nl + 1;
  }
  return Math.min(at + column - 1, text.length);
}
