/**
 * Groups of runs (issue 12): the table's group-by keys, remembered per
 * workspace in localStorage, the collapsed groups, and the charts' band
 * (±std or min–max). The grouped rows are derived (selectTableRows), never stored.
 */
import { allButSeedKeys } from '../../shared/groups';
import { needsConfigLoad } from '../lib/query';
import { isStringArray, readJson, writeJson } from '../lib/recent';
import { tableRows, type TableRow } from '../lib/table-groups';
import { PREF, type Ctx, type Slice } from './context';
import { selectVisibleExperiments } from './table';
import type { ExpdeskState, GroupsSlice } from './types';

export type { GroupsSlice } from './types';

const isGroupByAll = (v: unknown): v is Record<string, string[]> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(isStringArray);

/** The open workspace's group-by keys ([] when none or no workspace). */
export function selectGroupBy(s: Pick<ExpdeskState, 'groupByAll' | 'listing'>): string[] {
  return (s.listing && s.groupByAll[s.listing.root]) || NONE;
}
const NONE: string[] = [];

export function groupsSlice(ctx: Ctx): Slice<GroupsSlice> {
  return (set, get) => ({
    groupByAll: readJson(ctx.storage, PREF.groupBy, isGroupByAll) ?? {},
    collapsedGroups: [],
    groupBand: 'std',
    setGroupBy(keys) {
      const s = get();
      if (!s.listing) return;
      const groupByAll = { ...s.groupByAll };
      if (keys.length) groupByAll[s.listing.root] = [...new Set(keys)];
      else delete groupByAll[s.listing.root];
      writeJson(ctx.storage, PREF.groupBy, groupByAll);
      set({ groupByAll, collapsedGroups: [] });
      if (needsConfigLoad(s.listing.experiments, keys)) void s.loadConfigValues();
    },
    async groupAllButSeed() {
      await get().loadConfigValues();
      const s = get();
      if (!s.listing) return;
      const configs = s.listing.experiments.map((e) => s.configIndex[e.path] ?? null);
      const keys = allButSeedKeys(configs);
      if (keys.length === 0) get().toast('info', 'These runs differ only in their seeds (or not at all).');
      else get().setGroupBy(keys);
    },
    toggleGroupCollapsed(id) {
      const c = get().collapsedGroups;
      set({ collapsedGroups: c.includes(id) ? c.filter((x) => x !== id) : [...c, id] });
    },
    setGroupBand(groupBand) {
      set({ groupBand });
    },
  });
}

type RowInputs = Pick<
  ExpdeskState,
  'listing' | 'query' | 'sort' | 'configIndex' | 'groupByAll' | 'collapsedGroups'
>;
let memoIn: { rows: unknown; keys: unknown; configIndex: unknown; collapsed: unknown } | null = null;
let memoOut: TableRow[] = [];

/** The table's rows: the visible runs, under their group headers when grouped. Memoised. */
export function selectTableRows(s: RowInputs): TableRow[] {
  const rows = selectVisibleExperiments(s);
  const keys = selectGroupBy(s);
  if (
    memoIn &&
    memoIn.rows === rows &&
    memoIn.keys === keys &&
    memoIn.configIndex === s.configIndex &&
    memoIn.collapsed === s.collapsedGroups
  )
    return memoOut;
  memoOut = tableRows(rows, keys, s.configIndex, new Set(s.collapsedGroups));
  memoIn = { rows, keys, configIndex: s.configIndex, collapsed: s.collapsedGroups };
  return memoOut;
}
