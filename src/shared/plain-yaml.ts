/**
 * A fast reader for the plain block YAML that config writers emit (PyYAML's
 * `yaml.dump(d, default_flow_style=False)`, the seed's configs, Expdesk's
 * frozen configs): nested mappings, lists of scalars, plain, single-quoted
 * and simple double-quoted scalars, numbers, booleans and nulls, comment lines.
 *
 * Why hand-written: the `yaml` package spends ~2 ms on such a config (a CST,
 * then a document, then toJS), which made it nine tenths of listing 5,000
 * experiments; no maintained library parses a YAML subset exactly as `yaml`
 * does. So this reader never decides anything `yaml` might decide otherwise:
 * it returns the value only for text inside the subset, where the result is
 * what `parseDocument(text, { schema: 'core', uniqueKeys: true }).toJS()`
 * gives (tests/unit/shared/plain-yaml.test.ts checks that on seed configs and
 * thousands of mutations of them), and null for anything else — flow
 * collections, anchors, tags, block scalars, multi-line scalars, comments
 * after a value, duplicate keys, tabs, numbers in unusual forms — which the
 * caller then gives to `yaml`, problems and all. Listing and detail both read
 * configs through files.ts's parseYamlText, so they judge a config alike.
 */
import type { JsonValue } from './model';

type JsonObject = { [key: string]: JsonValue };

/** Deeper than this is left to `yaml` (and to the nesting check before it). */
const MAX_DEPTH = 64;

const KEY = /^[A-Za-z_][A-Za-z0-9_./-]*$/;
const NULL = /^(?:~|[Nn]ull|NULL)$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
/** Integers `Number` reads exactly as `yaml` does: no sign but minus, no leading zero, safe size. */
const INT = /^-?(?:0|[1-9][0-9]{0,14})$/;
/** Floats with digits on both sides of the point, or an exponent: `Number` equals `yaml`'s parseFloat. */
const FLOAT = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)$/;
/** Plain strings that no core-schema tag can claim and that end where the line ends. */
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./+=@-]*(?: [A-Za-z0-9_./+=@-]+)*$/;
/** A digit-led plain string: only with a letter other than e/E/x/o, so never a number. */
const DIGIT_PLAIN = /^[0-9][A-Za-z0-9_./+=@-]*$/;
const NOT_NUMBER_LETTER = /[A-DF-NP-WYZa-df-np-wyz]/;

/** Whether text holds a control character (YAML escapes or refuses them): left to `yaml`. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

const BAIL = Symbol('bail');
type Scalar = JsonValue | typeof BAIL;

function scalar(text: string): Scalar {
  if (text === '[]') return [];
  if (text === '{}') return {};
  if (NULL.test(text)) return null;
  if (BOOL.test(text)) return text[0] === 't' || text[0] === 'T';
  if (text === '-0') return BAIL;
  if (INT.test(text) || FLOAT.test(text)) return Number(text);
  const q = text[0];
  if (q === "'") {
    if (text.length < 2 || text[text.length - 1] !== "'") return BAIL;
    const body = text.slice(1, -1);
    // '' is a quote; a lone quote would end the scalar early.
    if (hasControl(body) || body.replace(/''/g, '').includes("'")) return BAIL;
    return body.replace(/''/g, "'");
  }
  if (q === '"') {
    if (text.length < 2 || text[text.length - 1] !== '"') return BAIL;
    const body = text.slice(1, -1);
    if (hasControl(body) || body.includes('"') || body.includes('\\')) return BAIL;
    return body;
  }
  if (PLAIN.test(text)) return text;
  if (DIGIT_PLAIN.test(text) && NOT_NUMBER_LETTER.test(text) && !/^0[xo]/.test(text)) return text;
  return BAIL;
}

interface Line {
  indent: number;
  /** The line without its indentation or trailing spaces. */
  body: string;
}

/** The document's lines that carry content; null when a character outside the subset appears. */
function contentLines(text: string): Line[] | null {
  if (/[\t\r\ufeff\u0085\u2028\u2029]/.test(text)) return null;
  const out: Line[] = [];
  for (const raw of text.split('\n')) {
    const body = raw.trim();
    // A comment after a value never passes: `#` is outside plain scalars and after a closing quote.
    if (body === '' || body.startsWith('#')) continue;
    out.push({ indent: raw.length - raw.trimStart().length, body });
  }
  return out;
}

class Reader {
  private i = 0;
  constructor(private readonly lines: Line[]) {}

  done(): boolean {
    return this.i >= this.lines.length;
  }

  /** A mapping whose keys sit at exactly `indent`; BAIL when something is outside the subset. */
  mapping(indent: number, depth: number): JsonObject | typeof BAIL {
    if (depth > MAX_DEPTH) return BAIL;
    const out: JsonObject = {};
    while (!this.done()) {
      const line = this.lines[this.i]!;
      if (line.indent < indent) break;
      if (line.indent > indent) return BAIL; // a continuation line or a stray indent
      const colon = line.body.indexOf(':');
      if (colon <= 0) return BAIL;
      const key = line.body.slice(0, colon);
      const rest = line.body.slice(colon + 1);
      if (!KEY.test(key) || NULL.test(key) || BOOL.test(key) || key === '__proto__') return BAIL;
      if (Object.prototype.hasOwnProperty.call(out, key)) return BAIL; // `yaml` reports duplicates
      this.i++;
      let value: Scalar;
      if (rest === '') value = this.nested(indent, depth);
      else if (rest[0] !== ' ') return BAIL;
      else value = scalar(rest.trim());
      if (value === BAIL) return BAIL;
      out[key] = value;
    }
    return out;
  }

  /** What follows `key:` with nothing after it: a deeper mapping, a list, or null. */
  private nested(indent: number, depth: number): Scalar {
    const next = this.lines[this.i];
    if (!next || next.indent < indent) return null;
    if (next.body === '-' || next.body.startsWith('- ')) return this.list(next.indent);
    if (next.indent === indent) return null;
    return this.mapping(next.indent, depth + 1);
  }

  /** A list of scalars, its dashes at `indent`. */
  private list(indent: number): JsonValue[] | typeof BAIL {
    const out: JsonValue[] = [];
    while (!this.done()) {
      const line = this.lines[this.i]!;
      if (line.indent < indent) break;
      if (line.indent > indent) return BAIL;
      if (!line.body.startsWith('- ')) break;
      const value = scalar(line.body.slice(2).trim());
      // A list item holding a mapping (`- key: v`) or another list is left to `yaml`.
      if (value === BAIL || line.body.slice(2).trimStart().startsWith('-')) return BAIL;
      out.push(value);
      this.i++;
    }
    return out;
  }
}

/** The config as `yaml` would give it, or null when the text is outside the subset read here. */
export function parsePlainYaml(text: string): JsonObject | null {
  const lines = contentLines(text);
  if (!lines || lines.length === 0 || lines[0]!.indent !== 0) return null;
  const reader = new Reader(lines);
  const value = reader.mapping(0, 0);
  return value === BAIL || !reader.done() ? null : value;
}
