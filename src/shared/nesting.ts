/**
 * Nesting depth of untrusted JSON and YAML text, measured before it is
 * parsed. A metadata.json nested 20,000 levels overflowed the stack of every
 * recursive walk after it (detail, serialization, compare), and a config.yaml
 * nested as deep made the `yaml` parser exhaust V8's memory and abort the
 * process. Both are refused here with the line where the limit is crossed.
 * Linear, no recursion, no allocation beyond a stack of indentations.
 */

/** Deepest nesting accepted in a config, metadata or status file: real ones stay under 20. */
export const MAX_NESTING = 100;

export interface TooDeep {
  /** 1-based line and column where the nesting passes the limit. */
  line: number;
  column: number;
  message: string;
}

function tooDeep(text: string, offset: number, limit: number): TooDeep {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1, message: `nested deeper than ${limit} levels` };
}

/** Where JSON text nests `[`/`{` deeper than `limit` (strings skipped), or null. */
export function jsonTooDeep(text: string, limit = MAX_NESTING): TooDeep | null {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i++;
        else if (d === 34) break;
      }
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > limit) return tooDeep(text, i, limit);
    } else if ((c === 93 /* ] */ || c === 125) /* } */ && depth > 0) depth--;
  }
  return null;
}

const SPACE = 32;
const DASH = 45;

/**
 * Where YAML text nests deeper than `limit`, or null: block nesting (the
 * stack of indentations, a `- ` entry counting as one more level) plus flow
 * nesting (`[`/`{` opening a collection, outside quoted scalars and
 * comments). An over-estimate is harmless at this limit; block scalars
 * (`|`, `>`) are skipped, so indented text inside them never counts.
 */
export function yamlTooDeep(text: string, limit = MAX_NESTING): TooDeep | null {
  const indents: number[] = [];
  let flow = 0;
  /** Lines indented more than this belong to a block scalar (-1: none). */
  let blockScalarIndent = -1;
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let i = pos;
    while (i < end && text.charCodeAt(i) === SPACE) i++;
    const indent = i - pos;
    const blank = i >= end || text[i] === '#' || text[i] === '\r';
    if (blockScalarIndent >= 0 && (blank || indent > blockScalarIndent)) {
      pos = end + 1;
      continue;
    }
    blockScalarIndent = -1;
    if (!blank) {
      if (flow === 0) {
        // Block context: this line's levels are its indentation and one per leading "- ".
        while (indents.length > 0 && indents[indents.length - 1]! > indent) indents.pop();
        if (indents.length === 0 || indents[indents.length - 1]! < indent) indents.push(indent);
        while (text.charCodeAt(i) === DASH && (i + 1 === end || text.charCodeAt(i + 1) === SPACE)) {
          i++;
          while (i < end && text.charCodeAt(i) === SPACE) i++;
          indents.push(i - pos);
          if (indents.length > limit) return tooDeep(text, i, limit);
        }
        if (indents.length > limit) return tooDeep(text, i, limit);
      }
      // Flow collections, quoted scalars and comments on the rest of the line.
      let prev = flow === 0 ? 0 : SPACE; // 0: start of a value
      for (; i < end; i++) {
        const c = text.charCodeAt(i);
        if (c === 35 /* # */ && (prev === SPACE || prev === 0)) break;
        if ((c === 34 || c === 39) /* " ' */ && (prev === 0 || prev === SPACE || isIndicator(prev))) {
          const quote = c;
          for (i++; i < end; i++) {
            const d = text.charCodeAt(i);
            if (quote === 34 && d === 92) i++;
            else if (d === quote) break;
          }
          prev = quote;
          continue;
        }
        if ((c === 91 || c === 123) && (prev === 0 || prev === SPACE || isIndicator(prev))) {
          flow++;
          if (indents.length + flow > limit) return tooDeep(text, i, limit);
        } else if ((c === 93 || c === 125) && flow > 0) flow--;
        if (c !== SPACE || prev !== SPACE) prev = c;
      }
      // A block scalar header ends the line ("key: |", "- >-", "|2"): its text lines are skipped.
      if (flow === 0 && /(?:^|[\s:-])[|>][-+0-9]*\s*(?:#.*)?\r?$/.test(text.slice(pos, end))) {
        blockScalarIndent = indent;
      }
    }
    pos = end + 1;
  }
  return null;
}

/** Characters after which `[`, `{` or a quote open a collection or a quoted scalar. */
function isIndicator(c: number): boolean {
  return c === 58 /* : */ || c === 44 /* , */ || c === 91 || c === 123 || c === DASH || c === 63; /* ? */
}
