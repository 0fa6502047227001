/**
 * Parsing one line of a metrics.jsonl file. Python's json.dumps writes NaN,
 * Infinity and -Infinity as bare tokens, which JSON.parse rejects; those
 * lines take a slower path that rewrites the tokens outside strings. Every
 * other line costs exactly one JSON.parse, so ingesting a million lines stays
 * as fast as the plain per-line JSON.parse baseline (see bench/metrics-ingest).
 */
import { ExpdeskError } from './errors';

import { jsonTooDeep } from './nesting';
import { setOwn } from './own-keys';

const NAN = '\u0000NaN';
const POS_INF = '\u0000Infinity';
const NEG_INF = '\u0000-Infinity';

/** The number a sentinel string stands for; the value itself otherwise. */
function revived(value: unknown): unknown {
  if (typeof value === 'string' && value.charCodeAt(0) === 0) {
    if (value === NAN) return NaN;
    if (value === POS_INF) return Infinity;
    if (value === NEG_INF) return -Infinity;
  }
  return value;
}

/**
 * Put the numbers back where the sentinels stand, in place: a walk, not a
 * JSON.parse reviver (a call per value from C++, ~4x the cost of the parse on
 * a diverged run's lines). Keys are defined, so a "__proto__" key stays data.
 */
function reviveInPlace(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return revived(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveInPlace(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    const r = reviveInPlace(v);
    if (r !== v) setOwn(obj, key, r);
  }
  return obj;
}

/** Replace NaN / Infinity / -Infinity tokens that stand outside strings with sentinel strings. */
function quoteNonFiniteTokens(line: string): string {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      continue;
    }
    let token: string | null = null;
    let replacement = '';
    if (c === 78 /* N */ && line.startsWith('NaN', i)) {
      token = 'NaN';
      replacement = NAN;
    } else if (c === 73 /* I */ && line.startsWith('Infinity', i)) {
      token = 'Infinity';
      replacement = POS_INF;
    } else if (c === 45 /* - */ && line.startsWith('-Infinity', i)) {
      token = '-Infinity';
      replacement = NEG_INF;
    }
    if (token) {
      out += line.slice(last, i) + JSON.stringify(replacement);
      i += token.length - 1;
      last = i + 1;
    }
  }
  return last === 0 ? line : out + line.slice(last);
}

export class JsonLineError extends ExpdeskError {
  constructor(message: string) {
    super('bad-request', message);
  }
}

/**
 * Parse one JSONL line, accepting Python's NaN/Infinity/-Infinity.
 * Throws JsonLineError with a readable message for a malformed line.
 */
export function parseJsonLine(line: string): unknown {
  // Bare tokens are rewritten before parsing, not after JSON.parse throws on them: a throw costs
  // many parses, and a run logging an infinite grad norm writes thousands of such lines.
  const quoted = line.includes('NaN') || line.includes('Infinity') ? quoteNonFiniteTokens(line) : line;
  try {
    return quoted === line ? JSON.parse(line) : reviveInPlace(JSON.parse(quoted));
  } catch (err) {
    let message = err instanceof Error ? err.message : String(err);
    if (quoted !== line) {
      // The original line's error describes the real problem.
      try {
        JSON.parse(line);
      } catch (original) {
        message = original instanceof Error ? original.message : String(original);
      }
    }
    throw new JsonLineError(message);
  }
}

/** 1-based line and column of a character offset in a text. */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Offset of the first character that makes `text` invalid JSON (Python's
 * NaN/Infinity tokens allowed). Node 20's JSON.parse messages do not always
 * carry a position, and users need the line of a broken metadata.json, so
 * this small recursive-descent checker finds it. It runs only on files that
 * JSON.parse already rejected.
 */
export function errorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (): void => {
    for (const word of ['true', 'false', 'null', 'NaN', 'Infinity', '-Infinity']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0].length === 0 || m[0] === '-') fail();
    i += m![0].length;
  };
  const string = (): void => {
    i++; // opening quote
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') i += 2;
      else if (c < ' ') fail();
      else i++;
    }
    fail();
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    } else if (c === '"') string();
    else if (c === undefined) fail();
    else literal();
  };
  try {
    value();
    ws();
    return i < text.length ? i : text.length;
  } catch (at) {
    return typeof at === 'number' ? Math.min(at, text.length) : 0;
  }
}

/**
 * Python-compatible JSON parse of a whole document, with line/column on
 * error. A document nested deeper than MAX_NESTING is refused before it is
 * parsed: every walk over the value afterwards (display, serialization,
 * compare) may then recurse safely.
 */
export function parseJsonDocument(
  text: string,
): { value: unknown } | { error: string; line: number; column: number } {
  const deep = jsonTooDeep(text);
  if (deep) return { error: deep.message, line: deep.line, column: deep.column };
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    try {
      return { value: reviveInPlace(JSON.parse(quoteNonFiniteTokens(text))) };
    } catch {
      const message = err instanceof Error ? err.message : String(err);
      const pos = /position (\d+)/.exec(message);
      const where = lineColumnAt(text, pos ? Number(pos[1]) : errorOffset(text));
      return { error: message.replace(/\s+/g, ' '), ...where };
    }
  }
}
