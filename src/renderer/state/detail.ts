/** One experiment in full: its detail, the open tab, and the run actions. */
import { runEventKey } from './app';
import { message, type Ctx, type Slice } from './context';
import type { DetailSlice, ExpdeskState } from './types';

export { DETAIL_TABS, type DetailSlice, type DetailTab } from './types';

/** Bursts of experiment.updated while a run writes: re-read its file lists at most this often. */
const DETAIL_REFRESH_MS = 2_000;

/** The slice's data as at start (no experiment open); the store's reset() returns to it too. */
export function detailData(): Pick<
  DetailSlice,
  'detailPath' | 'detail' | 'detailLoading' | 'detailError' | 'tab' | 'launchNotes' | 'stopping'
> {
  return {
    detailPath: null,
    detail: null,
    detailLoading: false,
    detailError: null,
    tab: 'overview',
    launchNotes: null,
    stopping: null,
  };
}

export function detailSlice(ctx: Ctx): Slice<DetailSlice> {
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;
  return (set, get) => ({
    ...detailData(),

    async openDetail(path, tab) {
      const target = path ?? get().selectedPath;
      if (!target) return;
      const ticket = ++ctx.tickets.detail;
      const same = get().detailPath === target;
      const patch: Partial<ExpdeskState> = {
        selectedPath: target,
        detailPath: target,
        detail: same ? get().detail : null, // no flicker on refresh
        detailLoading: true,
        detailError: null,
        view: 'experiments',
      };
      if (tab) patch.tab = tab;
      set(patch);
      try {
        const detail = await ctx.client.invoke('experiment.get', { path: target });
        if (ticket !== ctx.tickets.detail) return;
        set({ detail, detailLoading: false });
        // A run launched a moment ago may not be listed yet: show it in the table too.
        const listing = get().listing;
        if (listing && !listing.experiments.some((e) => e.path === detail.summary.path))
          get().applyUpdate(detail.summary);
      } catch (err) {
        if (ticket === ctx.tickets.detail) set({ detailLoading: false, detailError: message(err) });
      }
    },

    closeDetail() {
      ctx.tickets.detail++;
      set({ detailPath: null, detail: null, detailLoading: false, detailError: null });
    },

    setTab(tab) {
      set({ tab });
    },

    refreshDetailSoon() {
      if (refreshTimer) return;
      refreshTimer = setTimeout(() => {
        refreshTimer = null;
        const path = get().detailPath;
        if (path) void get().openDetail(path);
      }, DETAIL_REFRESH_MS);
    },

    async stopRun(path) {
      set({ stopping: path });
      try {
        const r = await ctx.client.invoke('run.stop', { expDir: path });
        // One toast for the stop: the run's status event (run.status, experiment.updated) tells the same.
        get().toastOnce(
          runEventKey(path, r.state),
          'info',
          `Stopped ${basename(path)} (${r.state}${r.signal ? `, ${r.signal}` : ''})`,
        );
      } catch (err) {
        get().toast('error', `Could not stop ${basename(path)}: ${message(err)}`);
      } finally {
        set({ stopping: null });
      }
      if (get().detailPath === path) void get().openDetail(path);
    },

    async stopSweep(sweepId) {
      const path = get().detailPath;
      set({ stopping: path });
      try {
        const r = await ctx.client.invoke('sweep.stop', { sweepId });
        get().toast('info', `Stopped ${sweepId}: ${r.members.length} run(s)`);
      } catch (err) {
        get().toast('error', `Could not stop ${sweepId}: ${message(err)}`);
      } finally {
        set({ stopping: null });
      }
      if (path && get().detailPath === path) void get().openDetail(path);
    },

    async showInFolder(path) {
      try {
        await ctx.client.invoke('app.showInFolder', { path });
      } catch (err) {
        get().toast('error', message(err));
      }
    },

    async annotate(paths, change) {
      try {
        const { annotations } = await ctx.client.invoke('experiments.annotate', { paths, change });
        const s = get();
        paths.forEach((p, i) => {
          const row =
            s.listing?.experiments.find((e) => e.path === p) ??
            (s.detail?.summary.path === p ? s.detail.summary : undefined);
          if (row) get().applyUpdate({ ...row, annotations: annotations[i]! });
        });
      } catch (err) {
        get().toast('error', message(err));
      }
    },

    async copyPath(path) {
      try {
        await navigator.clipboard.writeText(path);
        get().toast('success', 'Path copied');
      } catch {
        get().toast('error', 'The clipboard is not available here; select the path and copy it.');
      }
    },
  });
}

export function basename(p: string): string {
  return p.split(/[\\/]/).filter(Boolean).pop() ?? p;
}
