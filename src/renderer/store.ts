/**
 * The renderer's state: one zustand store built from slices (state/*), each
 * keeping its actions beside its state. The store is created around an
 * ApiClient, so tests drive it with a fake client and no DOM. High-rate data
 * (log bytes, metric points) never enters it: components take those from the
 * client directly.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { silentNotifier } from './lib/notify';
import { defaultStorage } from './lib/recent';
import type { ApiClient } from './api/client';
import { appData, appSlice } from './state/app';
import { compareSlice } from './state/compare';
import type { Ctx, StoreDeps } from './state/context';
import { detailData, detailSlice } from './state/detail';
import { groupsSlice } from './state/groups';
import { launchSlice } from './state/launch';
import { runsSlice } from './state/runs';
import { tableSlice } from './state/table';
import type { ExpdeskState } from './state/types';
import { workspaceSlice } from './state/workspace';

export { selectVisibleExperiments } from './state/table';
export { selectGroupBy, selectTableRows } from './state/groups';
export { selectQueryExperiments } from './state/table';
export type { DetailTab, ExpdeskState, View } from './state/types';
export type ExpdeskStore = StoreApi<ExpdeskState>;

/** The data part of the state, as at start (preferences aside); reset() returns to it. */
export function initialData(): Partial<ExpdeskState> {
  return {
    ...appData(),
    listing: null,
    listingLoading: false,
    listingError: null,
    configIndex: {},
    configIndexLoading: false,
    configIndexError: null,
    varyingConfigKeys: [],
    query: '',
    sort: null,
    selectedPath: null,
    checked: [],
    ...detailData(),
    comparePaths: [],
    compare: null,
    compareLoading: false,
    compareError: null,
    configFile: null,
    configText: null,
    configDirty: false,
    compose: null,
    composeError: null,
    launching: false,
    launchError: null,
    runStates: {},
    brush: {},
  };
}

export function createExpdeskStore(
  client: ApiClient,
  deps: Partial<Omit<StoreDeps, 'client'>> = {},
): ExpdeskStore {
  const ctx: Ctx = {
    client,
    storage: deps.storage === undefined ? defaultStorage() : deps.storage,
    notifier: deps.notifier ?? silentNotifier,
    now: deps.now ?? Date.now,
    tickets: { listing: 0, detail: 0, compare: 0, compose: 0, configFiles: 0 },
    unsubscribers: [],
  };
  return createStore<ExpdeskState>()((...a) => ({
    ...appSlice(ctx)(...a),
    ...workspaceSlice(ctx)(...a),
    ...tableSlice(ctx)(...a),
    ...detailSlice(ctx)(...a),
    ...compareSlice(ctx)(...a),
    ...launchSlice(ctx)(...a),
    ...runsSlice(ctx)(...a),
    ...groupsSlice(ctx)(...a),
    reset() {
      for (const k of Object.keys(ctx.tickets) as (keyof Ctx['tickets'])[]) ctx.tickets[k]++;
      a[1]().forgetWatches();
      a[0](initialData());
    },
  }));
}
