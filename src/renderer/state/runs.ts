/**
 * Run lifecycles as the host reports them (`run.status`, and the status in
 * `experiment.updated`): a run that ends or fails is announced once, in the
 * app and as a desktop notification — once per event, whichever source tells
 * it first (the store's toastOnce).
 */
import { runEventKey } from './app';
import { basename } from './detail';
import type { Ctx, Slice } from './context';
import type { RunsSlice } from './types';

export type { RunsSlice } from './types';

const ENDED = new Set(['completed', 'failed', 'stopped']);

export function runsSlice(ctx: Ctx): Slice<RunsSlice> {
  return (set, get) => ({
    runStates: {},
    applyRunStatus(expDir, state) {
      const listed = get().listing?.experiments.find((e) => e.path === expDir);
      const previous = get().runStates[expDir] ?? listed?.status.state ?? null;
      get().noteRunState(expDir, listed?.name ?? basename(expDir), previous, state);
      if (get().detailPath === expDir) get().refreshDetailSoon();
    },
    noteRunState(expDir, name, previous, next) {
      if (get().runStates[expDir] !== next) set({ runStates: { ...get().runStates, [expDir]: next } });
      if (previous !== 'running' || !ENDED.has(next)) return;
      const verb = next === 'failed' ? 'failed' : next === 'stopped' ? 'was stopped' : 'finished';
      // The stop's own answer, an alert or the other event may have told it already.
      const kind = next === 'failed' ? 'error' : next === 'stopped' ? 'warning' : 'success';
      if (get().toastOnce(runEventKey(expDir, next), kind, `${name} ${verb}`))
        ctx.notifier.show(`Run ${verb}`, name);
    },
    askNotificationPermission() {
      if (ctx.notifier.permission() === 'default') void ctx.notifier.request();
    },
  });
}
