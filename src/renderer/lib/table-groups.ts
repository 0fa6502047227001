/**
 * The experiment table grouped by config keys (issue 12): each group a
 * header row (its key values, n, mean ± std of final loss and final eval —
 * src/shared/groups.ts, the CLI's `summarize --group-by` statistics) followed
 * by its runs unless collapsed. Pure, so the rows are tested without a DOM.
 */
import { groupMetrics, partitionRuns, type GroupStat } from '../../shared/groups';
import type { ExperimentSummary, JsonValue } from '../../shared/model';
import { formatConfigValue, formatMetric, MISSING } from '../format';
import { configValue, type FlatConfig } from './query';

export interface GroupHeader {
  kind: 'group';
  /** Stable id of the group's values (collapse state). */
  id: string;
  values: Record<string, JsonValue>;
  members: ExperimentSummary[];
  final_loss: GroupStat;
  final_eval: Record<string, GroupStat>;
  collapsed: boolean;
}

export type TableRow = GroupHeader | { kind: 'exp'; exp: ExperimentSummary };

/** A run's value of each group key: its loaded config, else what its listing carries; null when absent. */
function keyValues(
  e: ExperimentSummary,
  keys: readonly string[],
  config: FlatConfig | undefined,
): FlatConfig {
  const out: FlatConfig = {};
  for (const k of keys) out[k] = configValue(e, k, config) ?? null;
  return out;
}

export function groupId(values: Record<string, JsonValue>): string {
  return JSON.stringify(Object.entries(values));
}

/** Runs partitioned by the values of `keys` (loaded configs, else the listing's), in the order of their first run. */
export function runGroups(
  rows: readonly ExperimentSummary[],
  keys: readonly string[],
  configIndex: Readonly<Record<string, FlatConfig>>,
): { group: Record<string, JsonValue>; members: ExperimentSummary[] }[] {
  return partitionRuns(rows, [...keys], (e) => keyValues(e, keys, configIndex[e.path]));
}

/** Visible runs (already filtered and sorted) as table rows, grouped by `keys` when there are any. */
export function tableRows(
  rows: readonly ExperimentSummary[],
  keys: readonly string[],
  configIndex: Readonly<Record<string, FlatConfig>>,
  collapsed: ReadonlySet<string>,
): TableRow[] {
  if (keys.length === 0) return rows.map((exp) => ({ kind: 'exp', exp }));
  const out: TableRow[] = [];
  for (const { group, members } of runGroups(rows, keys, configIndex)) {
    const id = groupId(group);
    const closed = collapsed.has(id);
    out.push({ kind: 'group', id, values: group, members, ...groupMetrics(members), collapsed: closed });
    if (!closed) for (const exp of members) out.push({ kind: 'exp', exp });
  }
  return out;
}

/** "dpo.beta=0.1 · training.lr=0.001" */
export function groupLabel(values: Record<string, JsonValue>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v === null ? MISSING : formatConfigValue(v)}`)
    .join(' · ');
}

/** "0.6 ± 0.1" (one value: no ±; none: —), with "(+1 NaN)" when non-finite values were left out. */
export function formatStat(s: GroupStat | undefined): string {
  if (!s || (s.n === 0 && s.nan === 0)) return MISSING;
  const core =
    s.n === 0
      ? MISSING
      : s.std === null
        ? formatMetric(s.mean)
        : `${formatMetric(s.mean)} ± ${formatMetric(s.std)}`;
  return s.nan > 0 ? `${core} (+${s.nan} NaN)` : core;
}

/** A stat's full text for a tooltip: mean, std, min, max, n. */
export function statTitle(label: string, s: GroupStat): string {
  return `${label}: mean ${formatMetric(s.mean)}, std ${s.std === null ? MISSING : formatMetric(s.std)} (n − 1), min ${formatMetric(s.min)}, max ${formatMetric(s.max)}, n ${s.n}${s.nan ? `, ${s.nan} NaN/Inf left out` : ''}`;
}

/** Config keys to choose from (chooser menus): every loaded config's and the listed ones, those that vary first. */
export function configKeyChoices(
  listed: readonly string[],
  configIndex: Readonly<Record<string, FlatConfig>>,
  varying: readonly string[],
): string[] {
  const all = new Set<string>(listed);
  for (const f of Object.values(configIndex)) for (const k of Object.keys(f)) all.add(k);
  const vary = new Set(varying);
  return [...all].sort((a, b) => Number(vary.has(b)) - Number(vary.has(a)) || a.localeCompare(b));
}
