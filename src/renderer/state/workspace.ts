/**
 * The open workspace: its listing, kept live through experiments.watch
 * (`experiment.updated` replaces one row or adds a new run), the recent
 * workspaces, and the config values the table filters and shows as columns.
 */
import { flattenConfig } from '../../shared/config-diff';
import type { ExperimentSummary, JsonValue, WorkspaceListing } from '../../shared/model';
import { configKeysInUse } from '../lib/columns';
import { needsConfigLoad, type FlatConfig } from '../lib/query';
import { isStringArray, pushRecent, readJson, writeJson } from '../lib/recent';
import { message, PREF, type Ctx, type Slice } from './context';
import type { ExpdeskState, WorkspaceSlice } from './types';

export type { WorkspaceSlice } from './types';

/** Performance marks let benchmarks split "time to first render" into host time and render time. */
function mark(name: string): void {
  if (typeof performance !== 'undefined' && typeof performance.mark === 'function') performance.mark(name);
}

/** experiments.compare answers at most this many paths at once (the contract's max). */
const CONFIG_CHUNK = 200;
/** Rows in a first screenful (workspace.list's limit): more than the tallest window shows. */
const FIRST_SCREEN = 200;
/** experiments.watch takes at most this many paths (the contract's max). */
const WATCH_MAX = 10_000;

function isUnder(path: string, dir: string): boolean {
  const d = dir.endsWith('/') || dir.endsWith('\\') ? dir : `${dir}/`;
  return path.startsWith(d) || path.startsWith(d.replace(/\/$/, '\\'));
}

/** Running and unknown runs first: if a workspace has more than the watch limit, those change. */
function watchOrder(experiments: readonly ExperimentSummary[]): string[] {
  const live = experiments.filter((e) => e.status.state === 'running' || e.status.source === 'inferred');
  const rest = experiments.filter((e) => !(e.status.state === 'running' || e.status.source === 'inferred'));
  return [...live, ...rest].slice(0, WATCH_MAX).map((e) => e.path);
}

export function workspaceSlice(ctx: Ctx): Slice<WorkspaceSlice> {
  let watches: string[] = [];
  let watchedKey = '';
  const watched = new Set<string>();
  let configRun = 0;
  /** The config load in flight and the workspace run it belongs to: callers await the same one. */
  let configLoad: { run: number; done: Promise<void> } | null = null;
  let watchFailed = false;

  return (set, get) => {
    /** Read the configs of every listed run not yet in the index, including rows that arrive meanwhile. */
    async function loadMissingConfigs(run: number): Promise<void> {
      set({ configIndexLoading: true });
      try {
        for (;;) {
          const s = get();
          if (run !== configRun || !s.listing) return;
          const missing = s.listing.experiments.map((e) => e.path).filter((p) => !(p in s.configIndex));
          if (missing.length === 0) return;
          for (let i = 0; i < missing.length; i += CONFIG_CHUNK) {
            const paths = missing.slice(i, i + CONFIG_CHUNK);
            const res = await ctx.client.invoke('experiments.compare', { paths });
            if (run !== configRun) return;
            const flats: FlatConfig[] = paths.map(() => ({}));
            // compare reports equal keys once and differing keys per experiment: rebuild each config.
            for (const { key, value } of res.configSame) for (const f of flats) f[key] = value;
            const varying = new Set(get().varyingConfigKeys);
            for (const row of res.configDiff) {
              varying.add(row.key);
              row.values.forEach((v: JsonValue, j) => {
                if (row.present[j]) flats[j]![row.key] = v;
              });
            }
            // Within one chunk a key may look constant; across chunks it may not: compare with loaded ones.
            const index = { ...get().configIndex };
            const known = Object.values(index)[0];
            paths.forEach((p, j) => (index[p] = flattenConfig(flats[j]!) as FlatConfig));
            if (known) {
              for (const { key, value } of res.configSame)
                if (JSON.stringify(known[key]) !== JSON.stringify(value)) varying.add(key);
            }
            set({ configIndex: index, varyingConfigKeys: [...varying].sort() });
          }
        }
      } catch (err) {
        if (run === configRun) set({ configIndexError: message(err) });
      } finally {
        if (run === configRun) set({ configIndexLoading: false });
      }
    }

    /** Install a new listing; drop the highlight and the detail if their experiment is gone. */
    function applyListing(listing: WorkspaceListing): Partial<ExpdeskState> {
      const paths = new Set(listing.experiments.map((e) => e.path));
      const s = get();
      const patch: Partial<ExpdeskState> = { listing, listingLoading: false, listingError: null };
      if (s.selectedPath && !paths.has(s.selectedPath)) patch.selectedPath = null;
      if (s.detailPath && !paths.has(s.detailPath)) {
        Object.assign(patch, { detailPath: null, detail: null, detailError: null, detailLoading: false });
        ctx.tickets.detail++;
      }
      const checked = s.checked.filter((p) => paths.has(p));
      if (checked.length !== s.checked.length) patch.checked = checked;
      if (s.listing?.root !== listing.root) {
        // The filter belongs to its workspace: this one's own, never the last one's.
        Object.assign(patch, {
          configIndex: {},
          varyingConfigKeys: [],
          configIndexError: null,
          configIndexLoading: false,
          query: get().queryOf(listing.root),
        });
        configRun++;
      }
      return patch;
    }

    function remember(root: string): void {
      const recent = pushRecent(get().recent, root);
      writeJson(ctx.storage, PREF.recent, recent);
      set({ recent });
    }

    /**
     * A first listing's first request: the table's fields, and only the first screenful when
     * the table shows the listing's own order unfiltered and ungrouped (those first rows are
     * then exactly the ones it shows first); else every row.
     */
    function firstPhase(): { tableOnly: true; limit?: number } {
      const s = get();
      const root = s.info?.workspace;
      const plain = s.query.trim() === '' && s.sort === null && !(root && s.groupByAll[root]?.length);
      return plain ? { tableOnly: true, limit: FIRST_SCREEN } : { tableOnly: true };
    }

    /**
     * The whole listing after a table-only one: installed only while no other listing was asked
     * for since (a workspace switch or a refresh supersedes it) and for the same root.
     */
    async function fillRest(ticket: number, root: string): Promise<void> {
      try {
        const listing = await ctx.client.invoke('workspace.list', { root });
        if (ticket !== ctx.tickets.listing || get().listing?.root !== listing.root) return;
        set(applyListing(listing));
        mark('expdesk:list-complete');
        void syncWatches(listing);
        // Config columns, a config filter or groups need the values of the rows that came with it.
        maybeLoadConfigs();
      } catch (err) {
        if (ticket === ctx.tickets.listing) set({ listingError: message(err) });
      }
    }

    /** Watch what the listing shows (once per distinct set), so the table follows runs live. */
    async function syncWatches(listing: WorkspaceListing): Promise<void> {
      const paths = watchOrder(listing.experiments);
      const key = `${listing.root}\n${paths.length}\n${paths[0] ?? ''}\n${paths.at(-1) ?? ''}`;
      if (key === watchedKey) return;
      get().forgetWatches();
      watchedKey = key;
      await watch(paths);
    }

    async function watch(paths: string[]): Promise<void> {
      if (watchFailed) return;
      for (const p of paths) watched.add(p);
      try {
        const { subscription } = await ctx.client.invoke('experiments.watch', { paths });
        watches.push(subscription);
      } catch (err) {
        // The table still works without live updates (refresh with Ctrl+R); say it once, quietly.
        watchFailed = true;
        console.warn('expdesk: live updates are off:', message(err));
      }
    }

    function maybeLoadConfigs(): void {
      get().ensureConfigValues();
    }

    return {
      listing: null,
      listingLoading: false,
      listingError: null,
      recent: readJson(ctx.storage, PREF.recent, isStringArray) ?? [],
      configIndex: {},
      configIndexLoading: false,
      configIndexError: null,
      varyingConfigKeys: [],

      async openWorkspace(root) {
        const trimmed = root.trim();
        if (!trimmed) {
          set({ listingError: 'Type the path of a folder to open.' });
          return false;
        }
        const ticket = ++ctx.tickets.listing;
        set({ listingLoading: true, listingError: null });
        try {
          const listing = await ctx.client.invoke('workspace.open', { root: trimmed });
          if (ticket !== ctx.tickets.listing) return true;
          const left = get().listing !== null && get().listing?.root !== listing.root;
          set(applyListing(listing));
          const info = get().info;
          if (info) set({ info: { ...info, workspace: listing.root } });
          if (left) get().leaveWorkspace();
          remember(listing.root);
          void syncWatches(listing);
          maybeLoadConfigs();
          return true;
        } catch (err) {
          if (ticket === ctx.tickets.listing) set({ listingLoading: false, listingError: message(err) });
          return false;
        }
      },

      async refresh() {
        const ticket = ++ctx.tickets.listing;
        // Nothing shown yet: the table's fields first (the first rows of a large workspace
        // sooner), the whole listing right after. A refresh of a shown table asks for the
        // whole listing at once, so its columns never blank out.
        const twoPhase = get().listing === null;
        set({ listingLoading: true, listingError: null });
        try {
          mark('expdesk:list-sent');
          const listing = await ctx.client.invoke('workspace.list', twoPhase ? firstPhase() : {});
          mark('expdesk:list-received');
          if (ticket !== ctx.tickets.listing) return;
          if (twoPhase) void fillRest(ticket, listing.root);
          const left = get().listing !== null && get().listing?.root !== listing.root;
          set(applyListing(listing));
          const info = get().info;
          if (info && info.workspace !== listing.root) set({ info: { ...info, workspace: listing.root } });
          if (left) get().leaveWorkspace();
          remember(listing.root);
          if (!twoPhase) void syncWatches(listing); // else once the whole listing is in
          maybeLoadConfigs();
        } catch (err) {
          if (ticket === ctx.tickets.listing) set({ listingLoading: false, listingError: message(err) });
          return;
        }
        const open = get().detailPath;
        if (open) await get().openDetail(open);
      },

      dismissError() {
        set({ listingError: null, detailError: null });
      },

      reportError(text) {
        set({ listingError: text });
      },

      forgetRecent(root) {
        const recent = get().recent.filter((r) => r !== root);
        writeJson(ctx.storage, PREF.recent, recent);
        set({ recent });
      },

      loadConfigValues() {
        // One load at a time: a second caller (e.g. "Everything but the seed" clicked while the
        // menu's own load runs) waits for that load rather than reading a half-filled index.
        if (configLoad && configLoad.run === configRun) return configLoad.done;
        const s = get();
        if (!s.listing || s.configIndexError) return Promise.resolve();
        const run = configRun;
        const done = loadMissingConfigs(run).finally(() => {
          if (configLoad?.done === done) configLoad = null;
        });
        configLoad = { run, done };
        return done;
      },

      ensureConfigValues() {
        const s = get();
        if (!s.listing) return;
        const rows = s.listing.experiments;
        // Group-by keys (state/groups.ts) need their values as well.
        const groupBy = s.listing.root in s.groupByAll ? s.groupByAll[s.listing.root]! : [];
        if (needsConfigLoad(rows, [...configKeysInUse(s.columns, s.sort, s.query, rows), ...groupBy]))
          void s.loadConfigValues();
      },

      applyUpdate(summary) {
        const s = get();
        const listing = s.listing;
        if (!listing) return;
        const i = listing.experiments.findIndex((e) => e.path === summary.path);
        const previous = i === -1 ? null : listing.experiments[i]!;
        if (
          i === -1 &&
          !isUnder(summary.path, listing.experimentsDir) &&
          !isUnder(summary.path, listing.root)
        )
          return;
        const experiments = [...listing.experiments];
        if (i === -1) experiments.push(summary);
        else experiments[i] = summary;
        const patch: Partial<ExpdeskState> = { listing: { ...listing, experiments } };
        if (s.detail && s.detailPath === summary.path) patch.detail = { ...s.detail, summary };
        set(patch);
        if (i === -1) maybeLoadConfigs();
        get().noteRunState(summary.path, summary.name, previous?.status.state ?? null, summary.status.state);
        if (s.detailPath === summary.path) get().refreshDetailSoon();
      },

      forgetWatches() {
        const old = watches;
        watches = [];
        watchedKey = '';
        watched.clear();
        for (const subscription of old)
          void ctx.client.invoke('experiments.unwatch', { subscription }).catch(() => undefined);
      },
    };
  };
}
