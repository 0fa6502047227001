/**
 * The experiment table's view state: the query, sort and columns, the
 * highlighted row and the rows checked for Compare. The visible rows are
 * derived (selectVisibleExperiments), never stored, so live updates, filters
 * and sorting can never disagree.
 */
import type { ExperimentSummary, JsonValue } from '../../shared/model';
import { DEFAULT_COLUMNS, finalMetric, groupSweeps, nextSort, sortExperiments } from '../lib/columns';
import { configValue, matches, parseQuery, type FlatConfig } from '../lib/query';
import { inBrush, type Brush } from '../lib/parcoords';
import { isStringArray, readJson, writeJson } from '../lib/recent';
import { PREF, type Ctx, type Slice } from './context';
import type { ExpdeskState, TableSlice } from './types';

export type { TableSlice } from './types';

export function tableSlice(ctx: Ctx): Slice<TableSlice> {
  const persist = (columns: string[]): void => writeJson(ctx.storage, PREF.columns, columns);
  /** Each workspace's filter, by root, for as long as the page lives. */
  const queries = new Map<string, string>();
  return (set, get) => ({
    query: '',
    sort: null,
    columns: readJson(ctx.storage, PREF.columns, isStringArray) ?? [...DEFAULT_COLUMNS],
    selectedPath: null,
    checked: [],
    setQuery(query) {
      const root = get().listing?.root;
      if (root !== undefined) queries.set(root, query);
      set({ query });
      if (/[=<>]/.test(query)) get().ensureConfigValues();
    },
    queryOf(root) {
      // The first workspace keeps what was typed before it was listed.
      return queries.get(root) ?? (get().listing ? '' : get().query);
    },
    cycleSort(column) {
      set({ sort: nextSort(get().sort, column) });
      if (column.startsWith('cfg:')) get().ensureConfigValues();
    },
    setColumns(columns) {
      // Status and name always stay: a row without them cannot be recognised.
      const next = ['status', 'name', ...columns.filter((c) => c !== 'status' && c !== 'name')];
      persist(next);
      set({ columns: next });
      if (next.some((c) => c.startsWith('cfg:'))) get().ensureConfigValues();
    },
    toggleColumn(id) {
      const cols = get().columns;
      get().setColumns(cols.includes(id) ? cols.filter((c) => c !== id) : [...cols, id]);
    },
    select(path) {
      set({ selectedPath: path });
    },
    moveSelection(delta) {
      const rows = selectVisibleExperiments(get());
      if (rows.length === 0) return;
      const current = rows.findIndex((e) => e.path === get().selectedPath);
      const next =
        current === -1
          ? delta > 0
            ? 0
            : rows.length - 1
          : Math.max(0, Math.min(rows.length - 1, current + delta));
      set({ selectedPath: rows[next]!.path });
    },
    toggleChecked(path) {
      const checked = get().checked;
      set({ checked: checked.includes(path) ? checked.filter((p) => p !== path) : [...checked, path] });
    },
    setChecked(paths) {
      set({ checked: [...new Set(paths)] });
    },
    brush: {},
    setBrush(key, brush) {
      const next = { ...get().brush };
      if (brush) next[key] = brush;
      else delete next[key];
      set({ brush: next });
    },
    clearBrush() {
      set({ brush: {} });
    },
    parcoordsOpen: false,
    setParcoordsOpen(parcoordsOpen) {
      set({ parcoordsOpen });
      if (parcoordsOpen) void get().loadConfigValues();
    },
  });
}

type QueryInputs = Pick<ExpdeskState, 'listing' | 'query' | 'sort' | 'configIndex'>;
type VisibleInputs = QueryInputs & Partial<Pick<ExpdeskState, 'brush'>>;

let memoInputs: QueryInputs | null = null;
let memoRows: ExperimentSummary[] = [];
let brushMemo: { rows: ExperimentSummary[]; brush: Record<string, Brush>; out: ExperimentSummary[] } | null =
  null;

/**
 * The rows the table shows: filtered by the query and sorted, then kept to
 * the parallel coordinates' brushes. Memoised on its inputs so every
 * component (and moveSelection) shares one array per state change.
 */
export function selectVisibleExperiments(s: VisibleInputs): ExperimentSummary[] {
  const rows = selectQueryExperiments(s);
  const brush = s.brush ?? {};
  const keys = Object.keys(brush);
  if (keys.length === 0) return rows;
  if (brushMemo && brushMemo.rows === rows && brushMemo.brush === brush) return brushMemo.out;
  const out = rows.filter((e) =>
    keys.every((k) => inBrush(axisValue(e, k, s.configIndex[e.path]), brush[k]!)),
  );
  brushMemo = { rows, brush, out };
  return out;
}

/** The rows the query keeps, sorted, before any brush: what parallel coordinates draw. */
export function selectQueryExperiments(s: QueryInputs): ExperimentSummary[] {
  if (
    memoInputs &&
    memoInputs.listing === s.listing &&
    memoInputs.query === s.query &&
    memoInputs.sort === s.sort &&
    memoInputs.configIndex === s.configIndex
  )
    return memoRows;
  const all = s.listing?.experiments ?? [];
  const q = parseQuery(s.query);
  const filtered =
    // Archived runs are hidden unless the query says `archived`, so any of them means filtering.
    q.words.length ||
    q.conditions.length ||
    q.statuses.length ||
    q.tags.length ||
    q.starred ||
    q.archived ||
    all.some((e) => e.annotations?.archived)
      ? all.filter((e) => matches(e, q, s.configIndex[e.path]))
      : all;
  memoRows = groupSweeps(sortExperiments(filtered, s.sort, (p) => s.configIndex[p], Date.now()));
  memoInputs = { listing: s.listing, query: s.query, sort: s.sort, configIndex: s.configIndex };
  return memoRows;
}

/** A parallel-coordinates axis' value of a run: a metric's final value, else the config key's value. */
export function axisValue(
  e: ExperimentSummary,
  key: string,
  config: FlatConfig | undefined,
): JsonValue | undefined {
  const m = finalMetric(e, key);
  if (m !== undefined) return m;
  return configValue(e, key, config);
}
