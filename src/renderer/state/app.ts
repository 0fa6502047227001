/** The app: host info, the connection, the current view, toasts, and following host events. */
import { message, type Ctx, type Slice } from './context';
import type { AppSlice } from './types';

export type { AppSlice, Toast, View } from './types';

const TOAST_MS = 6_000;
/** Events remembered by toastOnce; the oldest are forgotten first. */
const TOLD_MAX = 2_000;

/** The key of a run's event for toastOnce: the same from the stop answer, `run.status`, `experiment.updated` and alerts. */
export function runEventKey(location: string, event: string): string {
  return `run\n${location.replace(/[\\/]+$/, '')}\n${event}`;
}

/** The slice's data as at start; the store's reset() returns to it too. */
export function appData(): Pick<
  AppSlice,
  'info' | 'connection' | 'view' | 'shortcutsOpen' | 'toasts' | 'remoteHosts' | 'passphraseRequest'
> {
  return {
    info: null,
    connection: 'open',
    view: 'experiments',
    shortcutsOpen: false,
    toasts: [],
    remoteHosts: {},
    passphraseRequest: null,
  };
}

export function appSlice(ctx: Ctx): Slice<AppSlice> {
  let toastId = 0;
  const told = new Set<string>();
  return (set, get) => ({
    client: ctx.client,
    ...appData(),
    async init() {
      const { client } = ctx;
      ctx.unsubscribers.push(
        client.on('workspace.changed', ({ root }) => {
          // Ignore the echo of our own workspace.open; follow other windows' changes.
          const s = get();
          if (!s.listingLoading && s.listing?.root !== root) void s.refresh();
        }),
        client.on('experiment.updated', ({ summary }) => get().applyUpdate(summary)),
        client.on('run.status', ({ expDir, state }) => get().applyRunStatus(expDir, state)),
        client.on('remote.status', (status) =>
          set({ remoteHosts: { ...get().remoteHosts, [status.host]: status } }),
        ),
        client.on('remote.passphrase', (request) => set({ passphraseRequest: request })),
      );
      // Hosts already connected (another window opened them); an older host may not know the request.
      void client
        .invoke('remote.status', {})
        .then(({ hosts }) => {
          const remoteHosts = { ...get().remoteHosts };
          for (const h of hosts) remoteHosts[h.host] ??= h;
          set({ remoteHosts });
        })
        .catch(() => undefined);
      if (client.onConnection) {
        let wasClosed = false;
        ctx.unsubscribers.push(
          client.onConnection((connection) => {
            set({ connection });
            if (connection === 'closed') wasClosed = true;
            if (connection === 'open' && wasClosed) {
              // The server may have restarted: its state is the truth, and its watches are gone.
              wasClosed = false;
              get().forgetWatches();
              void get().refresh();
            }
          }),
        );
      }
      try {
        const info = await client.invoke('app.info', {});
        set({ info });
        if (info.workspace) await get().refresh();
      } catch (err) {
        set({ listingError: message(err) });
      }
    },
    dispose() {
      while (ctx.unsubscribers.length) ctx.unsubscribers.pop()!();
      get().forgetWatches();
    },
    setView(view) {
      set({ view });
    },
    setShortcutsOpen(open) {
      set({ shortcutsOpen: open });
    },
    toast(kind, text) {
      const id = ++toastId;
      set({ toasts: [...get().toasts.slice(-4), { id, kind, text }] });
      if (kind !== 'error') setTimeout(() => get().dismissToast(id), TOAST_MS);
    },
    toastOnce(event, kind, text) {
      if (told.has(event)) return false;
      told.add(event);
      if (told.size > TOLD_MAX) told.delete(told.values().next().value!);
      get().toast(kind, text);
      return true;
    },
    dismissToast(id) {
      if (get().toasts.some((t) => t.id === id)) set({ toasts: get().toasts.filter((t) => t.id !== id) });
    },
    async trustHostKey(host, fingerprint) {
      try {
        // The host only needs [user@]host[:port] from the location; the path is not used.
        await ctx.client.invoke('remote.trustHostKey', { location: `ssh://${host}/`, fingerprint });
        get().toast('success', `Trusted ${host}; connecting…`);
        void get().refresh();
      } catch (err) {
        get().toast('error', `Could not trust ${host}: ${message(err)}`);
      }
    },
    async answerPassphrase(passphrase) {
      const request = get().passphraseRequest;
      if (!request) return;
      set({ passphraseRequest: null });
      try {
        await ctx.client.invoke('remote.answerPassphrase', { request: request.request, passphrase });
      } catch (err) {
        get().toast('error', message(err));
      }
    },
  });
}
