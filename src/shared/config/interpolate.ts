/**
 * `${dotted.path}` interpolation, as OmegaConf/Hydra users write it. A string
 * that is exactly one `${x}` takes x's value with its type; inside a longer
 * string the value is formatted as text. References resolve recursively;
 * cycles and missing keys are errors naming the key that holds the reference.
 * `\${` is a literal `${`.
 */
import type { JsonValue } from '../model';
import { allPaths, getPath, isMap, nearestKeys, type ConfigMap } from './tree';
import { ExpdeskError } from '../errors';

const REF = /(\\?)\$\{([^}]*)\}/g;

export class InterpolationError extends ExpdeskError {
  constructor(
    /** Dotted path of the value holding the bad reference. */
    readonly at: string,
    message: string,
  ) {
    super('bad-request', message);
  }
}

export function hasInterpolation(s: string): boolean {
  REF.lastIndex = 0;
  for (const m of s.matchAll(REF)) if (!m[1]) return true;
  return false;
}

export function resolveInterpolations(config: ConfigMap): ConfigMap {
  const resolved = new Map<string, JsonValue>();
  const resolving: string[] = [];
  const paths = allPaths(config);

  const resolveRef = (ref: string, at: string): JsonValue => {
    const key = ref.trim();
    if (key.includes(':')) {
      throw new InterpolationError(
        at,
        `\${${key}} in ${at}: resolvers (like oc.env) are not supported; write the value`,
      );
    }
    if (resolving.includes(key)) {
      throw new InterpolationError(at, `interpolation cycle: ${[...resolving, key].join(' → ')}`);
    }
    const raw = getPath(config, key);
    if (raw === undefined) {
      const near = nearestKeys(key, paths);
      throw new InterpolationError(
        at,
        `\${${key}} in ${at}: no key ${key} in the config${near.length ? ` (nearest: ${near.join(', ')})` : ''}`,
      );
    }
    resolving.push(key);
    try {
      return resolveValue(raw, key);
    } finally {
      resolving.pop();
    }
  };

  const resolveString = (s: string, at: string): JsonValue => {
    const whole = /^\$\{([^}]*)\}$/.exec(s);
    if (whole) return resolveRef(whole[1]!, at);
    if (!s.includes('${')) return s;
    return s
      .replace(REF, (_m, escape: string, ref: string) => {
        if (escape) return `\${${ref}}`;
        const v = resolveRef(ref, at);
        if (v !== null && typeof v === 'object') {
          throw new InterpolationError(
            at,
            `\${${ref}} in ${at}: cannot put a ${Array.isArray(v) ? 'list' : 'map'} inside a string`,
          );
        }
        return String(v);
      })
      .replace(/\\\$\{/g, '${');
  };

  const resolveValue = (v: JsonValue, at: string): JsonValue => {
    if (typeof v === 'string') {
      const cached = resolved.get(at);
      if (cached !== undefined) return cached;
      const r = resolveString(v, at);
      resolved.set(at, r);
      return r;
    }
    if (Array.isArray(v)) return v.map((item, i) => resolveValue(item, `${at}.${i}`));
    if (isMap(v)) {
      const out: ConfigMap = {};
      for (const [k, child] of Object.entries(v)) out[k] = resolveValue(child, at ? `${at}.${k}` : k);
      return out;
    }
    return v;
  };

  return resolveValue(config, '') as ConfigMap;
}
