/**
 * Experiment names in the seed's form (src/core/naming.py):
 * expNNN_<algorithm>_<model short name>_<key hyperparameter>_<MMDD_HHMM>,
 * e.g. exp004_dpo_llama-7b_beta0.1_0115_1430. Pure; the folder is created
 * atomically by core/runs so two runs in the same second never collide.
 */
import { getPath } from './config/tree';
import type { JsonValue } from './model';

export interface KeyHyperparameter {
  /** Dotted config path of the value. */
  path: string;
  /** Text put before the value in the name. */
  label: string;
}

/** The seed's choices: dpo → beta, ppo → clip ratio. Configurable per workspace. */
export const DEFAULT_KEY_HYPERPARAMETERS: Record<string, KeyHyperparameter[]> = {
  dpo: [{ path: 'dpo.beta', label: 'beta' }],
  ppo: [{ path: 'ppo.clip_ratio', label: 'clip' }],
};

/** Longest name we produce: well under every filesystem's 255-byte limit, with room for suffixes. */
const MAX_NAME_LENGTH = 120;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)$/i;

/** Make one name part safe on every filesystem (Linux, macOS, Windows) and in shells. */
export function safeNamePart(s: string): string {
  let out = s
    .normalize('NFKD')
    .replace(/[^\x20-\x7e]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  if (WINDOWS_RESERVED.test(out)) out = `${out}_`;
  return out;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

export function timestampPart(date: Date): string {
  return `${pad2(date.getMonth() + 1)}${pad2(date.getDate())}_${pad2(date.getHours())}${pad2(date.getMinutes())}`;
}

function scalarText(v: JsonValue | undefined): string | null {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/** The name without its expNNN_ prefix. */
export function experimentBaseName(
  config: JsonValue,
  date: Date,
  keyHyperparameters: Record<string, KeyHyperparameter[]> = DEFAULT_KEY_HYPERPARAMETERS,
): string {
  const algorithm = scalarText(getPath(config, 'algorithm.name'));
  const model = scalarText(getPath(config, 'model.name'));
  const parts: string[] = [];
  if (algorithm) parts.push(algorithm);
  if (model) parts.push(model.split('/').pop()!);
  for (const hp of (algorithm && keyHyperparameters[algorithm]) || []) {
    const v = scalarText(getPath(config, hp.path));
    if (v !== null) parts.push(`${hp.label}${v}`);
  }
  parts.push(timestampPart(date));
  return parts.map(safeNamePart).filter(Boolean).join('_');
}

export function experimentName(number: number, base: string): string {
  const name = `exp${String(number).padStart(3, '0')}_${base}`;
  return name.length > MAX_NAME_LENGTH ? name.slice(0, MAX_NAME_LENGTH).replace(/[-._]+$/, '') : name;
}

/** The next free NNN given the names already in the workspace. */
export function nextExperimentNumber(existing: string[]): number {
  let max = 0;
  for (const name of existing) {
    const m = /^exp(\d+)(?:_|$)/.exec(name);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}
