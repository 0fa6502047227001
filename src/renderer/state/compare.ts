/** Compare: two or more experiments side by side (experiments.compare). */
import { message, type Ctx, type Slice } from './context';
import type { CompareSlice } from './types';

export type { CompareSlice } from './types';

export function compareSlice(ctx: Ctx): Slice<CompareSlice> {
  return (set, get) => ({
    comparePaths: [],
    compare: null,
    compareLoading: false,
    compareError: null,
    hideEqual: true,
    async openCompare(paths) {
      const target = paths ?? get().checked;
      if (target.length < 2) {
        get().toast('info', 'Check two or more experiments (Space or the row checkbox), then Compare.');
        return;
      }
      const ticket = ++ctx.tickets.compare;
      set({ view: 'compare', comparePaths: target, compareLoading: true, compareError: null });
      try {
        const compare = await ctx.client.invoke('experiments.compare', { paths: target });
        if (ticket === ctx.tickets.compare) set({ compare, compareLoading: false });
      } catch (err) {
        if (ticket === ctx.tickets.compare) set({ compareLoading: false, compareError: message(err) });
      }
    },
    setHideEqual(hideEqual) {
      set({ hideEqual });
    },
    diffPaths: [],
    openDiff(paths) {
      const target = paths ?? get().checked;
      if (target.length !== 2) {
        get().toast('info', 'Check exactly two experiments, then Diff (d) shows what changed between them.');
        return;
      }
      set({ view: 'diff', diffPaths: target });
    },
  });
}
