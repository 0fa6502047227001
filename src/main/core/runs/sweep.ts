/**
 * Sweeps: `--sweep KEY=v1,v2,… [--sweep KEY=…]` runs the cartesian product of
 * the values, one experiment (one folder, one plan) per element.
 *
 * `expandSweep(request, axes, ctx)` is the one expansion every target uses: it
 * is pure (planRun's context carries the I/O) and returns one RunPlan per
 * member, each the request's plan with the member's overrides applied after
 * the request's own, plus the sweep's tag recorded in each member's folder. A
 * local sweep hands the plans to a queue (./sweep-queue.ts); a scheduler can
 * submit them as one job array with a `%N` limit. Any bad axis (no `=`, an
 * empty list, a key no config defines, a value that is not YAML) fails here,
 * before any folder exists.
 */
import { randomBytes } from 'node:crypto';
import type { JsonValue, SweepTag } from '../../../shared/model';
import { getPath } from '../../../shared/config/tree';
import { DEFAULT_KEY_HYPERPARAMETERS, safeNamePart } from '../../../shared/naming';
import { ConfigError, parseOverride } from '../configs/compose';
import { LaunchError, planRun, type PlanContext, type RunPlan, type RunRequest } from './plan';

/** One `--sweep KEY=v1,v2,…`: the key (with its `+`/`++` prefix if any) and each value's text and YAML value. */
export interface SweepAxis {
  key: string;
  values: { text: string; value: JsonValue }[];
}

export type { SweepTag } from '../../../shared/model';

export interface SweepMember {
  tag: SweepTag;
  /** The member's overrides (`KEY=text`), applied after the request's own. */
  overrides: string[];
  plan: RunPlan;
}

export interface SweepPlan {
  id: string;
  axes: SweepAxis[];
  members: SweepMember[];
}

/**
 * Split a value list at top-level commas: `[1,2],[3,4]` is two values and
 * `'a,b',c` too. Hand-written: YAML's flow parser would retype the texts, and
 * each value must reach the composer exactly as written.
 */
export function splitSweepValues(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      out.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(list.slice(start).trim());
  return out;
}

/** Parse one `--sweep KEY=v1,v2,…`; values are YAML scalars (or flow collections). */
export function parseSweepAxis(text: string): SweepAxis {
  const eq = text.indexOf('=');
  if (eq <= 0)
    throw new LaunchError(
      `--sweep ${JSON.stringify(text)} must look like KEY=v1,v2,… (e.g. training.lr=1e-4,3e-4)`,
    );
  const key = text.slice(0, eq).trim();
  const list = text.slice(eq + 1);
  const texts = list.trim() === '' ? [] : splitSweepValues(list);
  if (texts.length === 0 || texts.some((t) => t === ''))
    throw new LaunchError(
      texts.length === 0
        ? `--sweep ${key}= has no values: give at least one, e.g. --sweep ${key}=1,2`
        : `--sweep ${text}: an empty value between commas (quote it as '' to sweep over an empty string)`,
    );
  const values = texts.map((t) => {
    try {
      return { text: t, value: parseOverride(`${key}=${t}`).value };
    } catch (err) {
      throw new LaunchError(`--sweep ${key}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  return { key, values };
}

function plainKey(key: string): string {
  return key.replace(/^\+\+?/, '');
}

/** The cartesian product, the first axis varying slowest (as nested loops over the axes in order). */
export function sweepProduct(axes: readonly SweepAxis[]): { text: string; value: JsonValue }[][] {
  let rows: { text: string; value: JsonValue }[][] = [[]];
  for (const axis of axes) rows = rows.flatMap((row) => axis.values.map((v) => [...row, v]));
  return rows;
}

/** A new sweep id: `sweep_<YYYYmmdd_HHMMSS>_<6 hex>`, safe in file names and tmux session names. */
export function newSweepId(now: Date, random: string = randomBytes(3).toString('hex')): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}_${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `sweep_${stamp}_${random}`;
}

/** Only sweep ids Expdesk makes are accepted where one names a folder of its state. */
export const SWEEP_ID = /^sweep_\d{8}_\d{6}_[0-9a-f]{6}$/;

/**
 * Expand a sweep into one plan per member (pure: `ctx` carries the config
 * reads, the clock and the random seed). Every member is planned before
 * anything is created, so a bad key or value fails the whole sweep at once.
 * A member of a named sweep is named `<name>_<key><value>…`.
 */
export function expandSweep(
  req: RunRequest,
  axes: readonly SweepAxis[],
  ctx: PlanContext,
  id: string = newSweepId(ctx.now),
): SweepPlan {
  if (axes.length === 0) throw new LaunchError('a sweep needs at least one --sweep KEY=v1,v2,…');
  const seen = new Set<string>();
  for (const a of axes) {
    const k = plainKey(a.key);
    if (seen.has(k)) throw new LaunchError(`--sweep ${k} is given twice: put all its values in one list`);
    if ((req.overrides ?? []).some((o) => plainKey(o.slice(0, Math.max(0, o.indexOf('=')))) === k))
      throw new LaunchError(`--sweep ${k} and --set ${k} both set it: keep one`);
    seen.add(k);
  }
  const rows = sweepProduct(axes);
  // Members' folder names carry their swept values too (after the seed's key hyperparameters).
  const base = req.keyHyperparameters ?? DEFAULT_KEY_HYPERPARAMETERS;
  const algorithm = getPath(ctx.compose(req.overrides ?? []).config, 'algorithm.name');
  const keyHyperparameters =
    typeof algorithm === 'string'
      ? {
          ...base,
          [algorithm]: [
            ...(base[algorithm] ?? []),
            ...axes
              .map((a) => plainKey(a.key))
              .filter((k) => !(base[algorithm] ?? []).some((h) => h.path === k))
              .map((k) => ({ path: k, label: k.split('.').pop()! })),
          ],
        }
      : base;
  const members = rows.map((row, index): SweepMember => {
    const overrides = row.map((v, i) => `${axes[i]!.key}=${v.text}`);
    const params: Record<string, JsonValue> = {};
    row.forEach((v, i) => (params[plainKey(axes[i]!.key)] = v.value));
    const name = req.name
      ? `${req.name}_${row.map((v, i) => `${plainKey(axes[i]!.key).split('.').pop()}${v.text}`).join('_')}`
      : undefined;
    let plan: RunPlan;
    try {
      plan = planRun(
        {
          ...req,
          name: name && safeNamePart(name),
          overrides: [...(req.overrides ?? []), ...overrides],
          keyHyperparameters,
        },
        ctx,
      );
    } catch (err) {
      if (err instanceof ConfigError) throw new LaunchError(`--sweep: ${err.message}`);
      throw err;
    }
    return { tag: { id, index, count: rows.length, params }, overrides, plan };
  });
  return { id, axes: [...axes], members };
}
