/**
 * Groups of runs by config keys, with mean ± std across each group — the
 * view of a sweep over seeds. Pure: the CLI (`expdesk summarize --group-by`)
 * and the interface share it. `std` is the sample standard deviation (n − 1,
 * pandas' default); non-finite values (NaN, ±Inf, which travel as null) are
 * left out of every statistic and counted.
 */
import type { ExperimentSummary, JsonValue } from './model';
import { flattenConfig } from './config-diff';
import { isAlwaysDifferKey } from './identity-keys';

export interface GroupStat {
  mean: number | null;
  /** Sample standard deviation (n − 1); null below two values, as pandas gives NaN. */
  std: number | null;
  min: number | null;
  max: number | null;
  /** Finite values counted. */
  n: number;
  /** Values left out because they were NaN or ±Inf. */
  nan: number;
}

export interface Group {
  /** Config key → the group's value (null: the key is absent). */
  group: Record<string, JsonValue>;
  n: number;
  experiments: string[];
  final_loss: GroupStat;
  final_eval: Record<string, GroupStat>;
}

/** `values`: finite numbers, or null for one that was NaN or ±Inf. */
export function groupStat(values: (number | null)[]): GroupStat {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const n = finite.length;
  const nan = values.length - n;
  if (n === 0) return { mean: null, std: null, min: null, max: null, n, nan };
  let sum = 0;
  for (const v of finite) sum += v;
  const mean = sum / n;
  let sq = 0;
  for (const v of finite) sq += (v - mean) * (v - mean);
  return {
    mean,
    std: n > 1 ? Math.sqrt(sq / (n - 1)) : null,
    min: Math.min(...finite),
    max: Math.max(...finite),
    n,
    nan,
  };
}

/** A config key that names a random seed: left out by "everything but the seed". */
export function isSeedKey(key: string): boolean {
  const last = key.split('.').pop()!.toLowerCase();
  return last === 'seed' || last.endsWith('_seed') || last === 'seeds';
}

/**
 * "Everything but the seed": the config keys whose values differ among
 * these configs, except seeds and the run's own name and folder — so runs
 * that differ only in their seed fall in one group.
 */
export function allButSeedKeys(configs: (Record<string, JsonValue> | null)[]): string[] {
  const flats = configs.map((c) => (c ? flattenConfig(c) : {}));
  const keys = new Set(flats.flatMap((f) => Object.keys(f)));
  const out: string[] = [];
  for (const k of keys) {
    // Keys that differ between any two runs by nature (name, output_dir …), never a setting.
    if (isSeedKey(k) || isAlwaysDifferKey(k)) continue;
    const first = JSON.stringify(flats[0]?.[k] ?? null);
    if (flats.some((f) => JSON.stringify(f[k] ?? null) !== first)) out.push(k);
  }
  return out.sort();
}

/** The group key values of one config. */
export function groupValues(
  config: Record<string, JsonValue> | null,
  keys: string[],
): Record<string, JsonValue> {
  const flat = config ? flattenConfig(config) : {};
  const out: Record<string, JsonValue> = {};
  for (const k of keys) out[k] = flat[k] ?? null;
  return out;
}

/**
 * Items partitioned by the values of `keys` in their configs, groups in the
 * order of their first item (the table groups its rows with it, keeping their order).
 */
export function partitionRuns<T>(
  items: readonly T[],
  keys: string[],
  configOf: (item: T) => Record<string, JsonValue> | null,
): { group: Record<string, JsonValue>; members: T[] }[] {
  const byKey = new Map<string, { group: Record<string, JsonValue>; members: T[] }>();
  for (const item of items) {
    const group = groupValues(configOf(item), keys);
    const id = JSON.stringify(keys.map((k) => group[k]));
    let g = byKey.get(id);
    if (!g) byKey.set(id, (g = { group, members: [] }));
    g.members.push(item);
  }
  return [...byKey.values()];
}

/** A group's statistics of final_loss and each final_eval key. */
export function groupMetrics(
  members: readonly ExperimentSummary[],
): Pick<Group, 'final_loss' | 'final_eval'> {
  const evalKeys = [...new Set(members.flatMap((s) => Object.keys(s.final_eval ?? {})))].sort();
  const final_eval: Record<string, GroupStat> = {};
  for (const k of evalKeys) {
    // A run without the key has no value (not counted); a null value was NaN or ±Inf.
    final_eval[k] = groupStat(
      members.filter((s) => s.final_eval && k in s.final_eval).map((s) => s.final_eval![k] ?? null),
    );
  }
  return {
    // A run that never logged train/loss has no loss at all (not a NaN).
    final_loss: groupStat(
      members.filter((s) => s.metrics['train/loss'] !== undefined).map((s) => s.final_loss),
    ),
    final_eval,
  };
}

/** Runs grouped by `keys` of their configs, groups in the order of their first run. */
export function groupRuns(
  runs: { summary: ExperimentSummary; config: Record<string, JsonValue> | null }[],
  keys: string[],
): Group[] {
  return partitionRuns(runs, keys, (r) => r.config).map(({ group, members }) => ({
    group,
    n: members.length,
    experiments: members.map((r) => r.summary.name),
    ...groupMetrics(members.map((r) => r.summary)),
  }));
}
