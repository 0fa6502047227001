/**
 * The experiment table's columns as data: which exist, their width, how they
 * sort. Fixed columns have plain ids; `cfg:<dotted key>` shows a config value
 * and `metric:<key>` a metric's final value, so users add any of them from
 * the column chooser. Pure, so sorting and the chooser are tested without a DOM.
 */
import { LISTED_CONFIG_KEYS } from '../../shared/listed-config';
import type { ExperimentSummary, JsonValue } from '../../shared/model';
import { configValue, parseQuery, type FlatConfig } from './query';

export interface ColumnDef {
  id: string;
  label: string;
  /** Pixels; the table is a grid of fixed tracks so 5,000 rows lay out once. */
  width: number;
  numeric: boolean;
  /** Shown in the chooser's "fields" group (fixed) or as config/metric columns. */
  group: 'field' | 'config' | 'metric';
}

/** A fixed column of the table (the chooser's "fields" group). */
function field(id: string, label: string, width: number, numeric = false): ColumnDef {
  return { id, label, width, numeric, group: 'field' };
}

export const FIXED_COLUMNS: readonly ColumnDef[] = [
  field('status', 'Status', 92),
  // The folder: the one name that tells rows apart (a config's name follows it when different).
  field('name', 'Experiment', 300),
  field('algorithm', 'Algorithm', 76),
  field('model', 'Model', 150),
  field('started', 'Started', 118),
  field('duration', 'Duration', 74, true),
  field('git', 'Git', 76),
  field('steps', 'Steps', 60, true),
  field('final_loss', 'Final loss', 78, true),
  field('final_eval', 'Final eval', 220),
  field('problems', 'Problems', 70, true),
  field('tags', 'Tags', 140),
  field('sweep', 'Sweep', 200),
  field('gpu_memory', 'Peak GPU mem', 96, true),
  field('gpu_util', 'GPU util', 70, true),
];

/** The seed's key hyperparameters (naming.py) and the ones every sweep varies: every listing carries them. */
export const KEY_CONFIG_KEYS: readonly string[] = LISTED_CONFIG_KEYS;

export const DEFAULT_COLUMNS: readonly string[] = [
  'status',
  'name',
  'algorithm',
  'model',
  'started',
  'duration',
  'git',
  'cfg:dpo.beta',
  'cfg:training.lr',
  'steps',
  'final_loss',
  'final_eval',
  'problems',
  'tags',
];

/** The one column the compact list (beside an open experiment) keeps besides status. */
export const COMPACT_COLUMNS: readonly string[] = ['status', 'name'];

export function columnDef(id: string): ColumnDef {
  const fixed = FIXED_COLUMNS.find((c) => c.id === id);
  if (fixed) return fixed;
  if (id.startsWith('cfg:')) return { id, label: id.slice(4), width: 84, numeric: true, group: 'config' };
  if (id.startsWith('metric:')) return { id, label: id.slice(7), width: 92, numeric: true, group: 'metric' };
  return { id, label: id, width: 80, numeric: false, group: 'field' };
}

/** Parse the file's own clock ("2024-01-01T12:34:56.789", no zone: local time) to ms. */
export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/**
 * Run time in ms: end − start, or now − start while it runs; null when unknown.
 * `inferred` when Expdesk did not launch the run (no start in a status file):
 * then it runs from metadata's start time (else the first metrics record) to
 * the last metrics record.
 */
export function runDuration(e: ExperimentSummary, now: number): { ms: number; inferred: boolean } | null {
  const launched = parseTime(e.status.startedAt);
  const start = launched ?? parseTime(e.startedAt) ?? parseTime(e.recordTimes?.first);
  if (start === null) return null;
  const inferred = launched === null;
  const end = parseTime(e.status.endedAt) ?? (inferred ? parseTime(e.recordTimes?.last) : null);
  if (e.status.state === 'running') return { ms: Math.max(0, now - start), inferred };
  return end === null ? null : { ms: Math.max(0, end - start), inferred };
}

export function durationMs(e: ExperimentSummary, now: number): number | null {
  return runDuration(e, now)?.ms ?? null;
}

/** A metric's final value: the last eval record's for eval keys, else the last record's. */
export function finalMetric(e: ExperimentSummary, key: string): number | null | undefined {
  if (e.final_eval && Object.prototype.hasOwnProperty.call(e.final_eval, key)) return e.final_eval[key];
  const m = e.metrics[key];
  return m ? m.last : undefined;
}

export type SortValue = string | number | null;

function scalar(v: JsonValue | undefined): SortValue {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return JSON.stringify(v);
}

export function sortValue(
  e: ExperimentSummary,
  id: string,
  config: FlatConfig | undefined,
  now: number,
): SortValue {
  switch (id) {
    case 'status':
      return e.status.state;
    case 'name':
      return e.folder.toLowerCase();
    case 'algorithm':
      return e.algorithm;
    case 'model':
      return e.model;
    case 'started':
      return parseTime(e.status.startedAt ?? e.startedAt);
    case 'duration':
      return durationMs(e, now);
    case 'git':
      return e.gitHash;
    case 'steps':
      return e.total_steps;
    case 'final_loss':
      return e.total_steps === null ? null : e.final_loss;
    case 'final_eval': {
      const first = e.final_eval ? Object.values(e.final_eval)[0] : undefined;
      return first ?? null;
    }
    case 'problems':
      return e.problems.length;
    case 'tags':
      // Starred first, then by the tags' text.
      return e.annotations ? `${e.annotations.starred ? 0 : 1}${e.annotations.tags.join(' ')}` : null;
    case 'sweep':
      return e.sweep ? `${e.sweep.id}#${String(e.sweep.index).padStart(6, '0')}` : null;
    case 'gpu_memory':
      return e.gpu?.peakMemoryMiB ?? null;
    case 'gpu_util':
      return e.gpu?.meanUtilization ?? null;
  }
  if (id.startsWith('cfg:')) return scalar(configValue(e, id.slice(4), config));
  if (id.startsWith('metric:')) return finalMetric(e, id.slice(7)) ?? null;
  return null;
}

export interface SortState {
  column: string;
  dir: 'asc' | 'desc';
}

/** Condition keys that name summary fields, not config values (see query.ts's lookup). */
const FIELD_KEYS = new Set(['name', 'algorithm', 'model', 'steps', 'git']);

/** The config keys the table shows, sorts or filters by; a condition on a listed metric is not one. */
export function configKeysInUse(
  columns: readonly string[],
  sort: SortState | null,
  query: string,
  rows: readonly ExperimentSummary[],
): string[] {
  const keys = new Set<string>();
  for (const c of columns) if (c.startsWith('cfg:')) keys.add(c.slice(4));
  if (sort?.column.startsWith('cfg:')) keys.add(sort.column.slice(4));
  for (const c of parseQuery(query).conditions) {
    if (FIELD_KEYS.has(c.key) || rows.some((e) => Object.prototype.hasOwnProperty.call(e.metrics, c.key)))
      continue;
    keys.add(c.key);
  }
  return [...keys];
}

/** Stable sort; missing values last whatever the direction (they are never "the best"). */
export function sortExperiments(
  rows: readonly ExperimentSummary[],
  sort: SortState | null,
  configOf: (path: string) => FlatConfig | undefined,
  now: number,
): ExperimentSummary[] {
  if (!sort) return [...rows];
  const keyed = rows.map((e, i) => ({ e, i, v: sortValue(e, sort.column, configOf(e.path), now) }));
  const sign = sort.dir === 'asc' ? 1 : -1;
  keyed.sort((a, b) => {
    if (a.v === null || b.v === null) return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
    let c: number;
    if (typeof a.v === 'number' && typeof b.v === 'number') c = a.v - b.v;
    else c = String(a.v).localeCompare(String(b.v), undefined, { numeric: true });
    return c !== 0 ? c * sign : a.i - b.i;
  });
  return keyed.map((k) => k.e);
}

/** Cycle a header click: ascending, descending, off; Started goes newest first, the question asked of it most. */
export function nextSort(current: SortState | null, column: string): SortState | null {
  if (!current || current.column !== column) return { column, dir: column === 'started' ? 'desc' : 'asc' };
  if (current.dir === 'asc' && column !== 'started') return { column, dir: 'desc' };
  if (current.dir === 'desc' && column === 'started') return { column, dir: 'asc' };
  return null;
}

/** Metric keys across the workspace, for the column chooser, most common first. */
export function metricKeys(rows: readonly ExperimentSummary[]): string[] {
  const count = new Map<string, number>();
  for (const e of rows) for (const k of Object.keys(e.metrics)) count.set(k, (count.get(k) ?? 0) + 1);
  return [...count.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k]) => k);
}

/**
 * Members of a sweep stay together: each sweep's rows move to where its first
 * row is, in member order; other rows keep their place. Stable and pure.
 */
export function groupSweeps(rows: readonly ExperimentSummary[]): ExperimentSummary[] {
  const members = new Map<string, ExperimentSummary[]>();
  for (const e of rows) if (e.sweep) members.set(e.sweep.id, [...(members.get(e.sweep.id) ?? []), e]);
  if (members.size === 0) return [...rows];
  const out: ExperimentSummary[] = [];
  for (const e of rows) {
    if (!e.sweep) out.push(e);
    else if (members.has(e.sweep.id)) {
      out.push(...members.get(e.sweep.id)!.sort((a, b) => a.sweep!.index - b.sweep!.index));
      members.delete(e.sweep.id);
    }
  }
  return out;
}

/** A sweep member's values, `key=value` joined, for its label. */
export function sweepLabel(sweep: NonNullable<ExperimentSummary['sweep']>): string {
  return Object.entries(sweep.params)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}
