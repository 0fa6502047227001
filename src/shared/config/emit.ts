/**
 * Writing a frozen config as YAML that both YAML 1.2 readers (the `yaml`
 * package) and PyYAML's yaml.safe_load (YAML 1.1) load to exactly the same
 * values. Written by hand because general emitters produce text the two
 * disagree on: `1e-05` is a float in 1.2 but a string in PyYAML, `on`/`yes`
 * are booleans in 1.1, and a float like 3.0 would come back as the int 3.
 */
import type { JsonValue } from '../model';
import { isMap } from './tree';

/** Plain scalars that YAML 1.1 or 1.2 would read as something other than a string. */
const SPECIAL =
  /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~|=|<<)$/;
const PLAIN_SAFE = /^[A-Za-z_/][A-Za-z0-9_./@-]*$/;
const NUMBERISH = /^[-+.]?[0-9]|^\.(?:inf|nan)$/i;
/** Sexagesimal (1.1) and dates/timestamps would be retyped by PyYAML. */
const TIMEISH = /^\d+(?::\d+)+$|^\d{4}-\d\d?-\d\d?/;

export function emitString(s: string): string {
  if (
    s.length > 0 &&
    PLAIN_SAFE.test(s) &&
    !SPECIAL.test(s) &&
    !NUMBERISH.test(s) &&
    !TIMEISH.test(s) &&
    !s.endsWith(':')
  ) {
    return s;
  }
  // JSON string syntax is valid YAML double-quoted syntax in 1.1 and 1.2.
  return JSON.stringify(s);
}

/** A float both PyYAML and YAML 1.2 read back as the same float: a dot always, a signed exponent. */
export function emitFloat(x: number): string {
  if (Number.isNaN(x)) return '.nan';
  if (x === Infinity) return '.inf';
  if (x === -Infinity) return '-.inf';
  let s = String(x);
  if (Object.is(x, -0)) s = '-0';
  const e = s.indexOf('e');
  if (e < 0) return s.includes('.') ? s : `${s}.0`;
  let mantissa = s.slice(0, e);
  let exp = s.slice(e + 1);
  if (!mantissa.includes('.')) mantissa += '.0';
  if (!exp.startsWith('-') && !exp.startsWith('+')) exp = `+${exp}`;
  return `${mantissa}e${exp}`;
}

export interface EmitOptions {
  /** Dotted paths of numbers that were floats in the source (3.0), kept as floats. */
  floatPaths?: ReadonlySet<string>;
}

function emitScalar(v: JsonValue, path: string, opts: EmitOptions): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER && !opts.floatPaths?.has(path))
      return String(v);
    return emitFloat(v);
  }
  if (typeof v === 'string') return emitString(v);
  throw new Error(`not a scalar at ${path}`);
}

function emitNode(
  v: JsonValue,
  indent: string,
  path: string,
  opts: EmitOptions,
  out: string[],
  lead: string,
): void {
  if (isMap(v)) {
    const keys = Object.keys(v);
    if (keys.length === 0) {
      out.push(`${lead}{}`);
      return;
    }
    let first = true;
    for (const k of keys) {
      const child = v[k]!;
      const p = path ? `${path}.${k}` : k;
      const head = `${first ? lead : indent}${emitString(k)}:`;
      first = false;
      if ((isMap(child) && Object.keys(child).length) || (Array.isArray(child) && child.length)) {
        out.push(head);
        emitNode(child, `${indent}  `, p, opts, out, `${indent}  `);
      } else {
        out.push(`${head} ${emitInline(child, p, opts)}`);
      }
    }
    return;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push(`${lead}[]`);
      return;
    }
    v.forEach((item, i) => {
      const p = `${path}.${i}`;
      const itemLead = `${i === 0 ? lead : indent}- `;
      if ((isMap(item) && Object.keys(item).length) || (Array.isArray(item) && item.length)) {
        emitNode(item, `${indent}  `, p, opts, out, itemLead);
      } else {
        out.push(`${itemLead}${emitInline(item, p, opts)}`);
      }
    });
    return;
  }
  out.push(`${lead}${emitScalar(v, path, opts)}`);
}

function emitInline(v: JsonValue, path: string, opts: EmitOptions): string {
  if (isMap(v)) return '{}';
  if (Array.isArray(v)) return '[]';
  return emitScalar(v, path, opts);
}

/** The YAML text of a config map, block style, keys in their order. */
export function emitYaml(config: { [key: string]: JsonValue }, opts: EmitOptions = {}): string {
  const out: string[] = [];
  emitNode(config, '', '', opts, out, '');
  return out.join('\n') + '\n';
}
