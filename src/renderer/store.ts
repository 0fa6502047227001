/**
 * The renderer's state: one zustand store built from slices, each keeping its
 * actions beside its state. The store is created around an ApiClient, so tests
 * drive it with a fake client and no DOM.
 */
import { createStore, type StateCreator, type StoreApi } from 'zustand/vanilla';
import type { AppInfo } from '../shared/contract';
import type { ExperimentDetail, WorkspaceListing } from '../shared/model';
import { toClientError, type ApiClient, type ConnectionState } from './api/client';

export interface AppSlice {
  info: AppInfo | null;
  connection: ConnectionState;
  /** Load app info and the open workspace, and follow host events. Call once. */
  init(): Promise<void>;
  /** Stop following events (tests, hot reload). */
  dispose(): void;
}

export interface WorkspaceSlice {
  listing: WorkspaceListing | null;
  listingLoading: boolean;
  listingError: string | null;
  /** Make a folder the workspace (the browser's equivalent of dropping it). Resolves true on success. */
  openWorkspace(root: string): Promise<boolean>;
  /** List the host's open workspace again, and the open detail with it. */
  refresh(): Promise<void>;
  dismissError(): void;
  /** Show a message in the error banner (e.g. a drop the browser cannot resolve to a path). */
  reportError(message: string): void;
}

export interface SelectionSlice {
  /** The highlighted row (keyboard or click). */
  selectedPath: string | null;
  /** The experiment shown in the detail panel. */
  detailPath: string | null;
  detail: ExperimentDetail | null;
  detailLoading: boolean;
  detailError: string | null;
  select(path: string | null): void;
  /** Move the highlight by delta rows (Up = -1, Down = +1), clamped to the table. */
  moveSelection(delta: number): void;
  /** Show an experiment in the detail panel (default: the highlighted one). */
  openDetail(path?: string): Promise<void>;
  closeDetail(): void;
}

export type ExpdeskState = AppSlice & WorkspaceSlice & SelectionSlice & { reset(): void };
export type ExpdeskStore = StoreApi<ExpdeskState>;

type Slice<T> = StateCreator<ExpdeskState, [], [], T>;

/** The data part of the state, as at start; reset() returns to it. */
export function initialData(): Pick<
  ExpdeskState,
  | 'info'
  | 'connection'
  | 'listing'
  | 'listingLoading'
  | 'listingError'
  | 'selectedPath'
  | 'detailPath'
  | 'detail'
  | 'detailLoading'
  | 'detailError'
> {
  return {
    info: null,
    connection: 'open',
    listing: null,
    listingLoading: false,
    listingError: null,
    selectedPath: null,
    detailPath: null,
    detail: null,
    detailLoading: false,
    detailError: null,
  };
}

function message(err: unknown): string {
  return toClientError(err).message;
}

export function createExpdeskStore(client: ApiClient): ExpdeskStore {
  // Responses can arrive out of order (a slow listing after a fast one): each
  // request takes a ticket and only the latest ticket may write its result.
  let listingTicket = 0;
  let detailTicket = 0;
  const unsubscribers: Array<() => void> = [];

  const appSlice: Slice<AppSlice> = (set, get) => ({
    info: null,
    connection: 'open',
    async init() {
      unsubscribers.push(
        client.on('workspace.changed', ({ root }) => {
          // Ignore the echo of our own workspace.open; follow other windows' changes.
          const s = get();
          if (!s.listingLoading && s.listing?.root !== root) void s.refresh();
        }),
      );
      if (client.onConnection) {
        let wasClosed = false;
        unsubscribers.push(
          client.onConnection((connection) => {
            set({ connection });
            if (connection === 'closed') wasClosed = true;
            if (connection === 'open' && wasClosed) {
              // The server may have restarted: its state is the truth.
              wasClosed = false;
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
      while (unsubscribers.length) unsubscribers.pop()!();
    },
  });

  /** Install a new listing; drop the highlight and the detail if their experiment is gone. */
  function applyListing(listing: WorkspaceListing): Partial<ExpdeskState> {
    const paths = new Set(listing.experiments.map((e) => e.path));
    const s = store.getState();
    const patch: Partial<ExpdeskState> = { listing, listingLoading: false, listingError: null };
    if (s.selectedPath && !paths.has(s.selectedPath)) patch.selectedPath = null;
    if (s.detailPath && !paths.has(s.detailPath)) {
      Object.assign(patch, { detailPath: null, detail: null, detailError: null, detailLoading: false });
      detailTicket++;
    }
    return patch;
  }

  const workspaceSlice: Slice<WorkspaceSlice> = (set, get) => ({
    listing: null,
    listingLoading: false,
    listingError: null,
    async openWorkspace(root) {
      const trimmed = root.trim();
      if (!trimmed) {
        set({ listingError: 'Type the path of a folder to open.' });
        return false;
      }
      const ticket = ++listingTicket;
      set({ listingLoading: true, listingError: null });
      try {
        const listing = await client.invoke('workspace.open', { root: trimmed });
        if (ticket !== listingTicket) return true;
        set(applyListing(listing));
        const info = get().info;
        if (info) set({ info: { ...info, workspace: listing.root } });
        return true;
      } catch (err) {
        if (ticket === listingTicket) set({ listingLoading: false, listingError: message(err) });
        return false;
      }
    },
    async refresh() {
      const ticket = ++listingTicket;
      set({ listingLoading: true, listingError: null });
      try {
        const listing = await client.invoke('workspace.list', {});
        if (ticket !== listingTicket) return;
        set(applyListing(listing));
        const info = get().info;
        if (info && info.workspace !== listing.root) set({ info: { ...info, workspace: listing.root } });
      } catch (err) {
        if (ticket === listingTicket) set({ listingLoading: false, listingError: message(err) });
        return;
      }
      const open = get().detailPath;
      if (open) await get().openDetail(open);
    },
    dismissError() {
      set({ listingError: null, detailError: null });
    },
    reportError(message) {
      set({ listingError: message });
    },
  });

  const selectionSlice: Slice<SelectionSlice> = (set, get) => ({
    selectedPath: null,
    detailPath: null,
    detail: null,
    detailLoading: false,
    detailError: null,
    select(path) {
      set({ selectedPath: path });
    },
    moveSelection(delta) {
      const experiments = get().listing?.experiments ?? [];
      if (experiments.length === 0) return;
      const current = experiments.findIndex((e) => e.path === get().selectedPath);
      const next =
        current === -1
          ? delta > 0
            ? 0
            : experiments.length - 1
          : Math.max(0, Math.min(experiments.length - 1, current + delta));
      set({ selectedPath: experiments[next]!.path });
    },
    async openDetail(path) {
      const target = path ?? get().selectedPath;
      if (!target) return;
      const ticket = ++detailTicket;
      const keep = get().detailPath === target ? get().detail : null; // no flicker on refresh
      set({
        selectedPath: target,
        detailPath: target,
        detail: keep,
        detailLoading: true,
        detailError: null,
      });
      try {
        const detail = await client.invoke('experiment.get', { path: target });
        if (ticket === detailTicket) set({ detail, detailLoading: false });
      } catch (err) {
        if (ticket === detailTicket) set({ detailLoading: false, detailError: message(err) });
      }
    },
    closeDetail() {
      detailTicket++;
      set({ detailPath: null, detail: null, detailLoading: false, detailError: null });
    },
  });

  const store = createStore<ExpdeskState>()((...a) => ({
    ...appSlice(...a),
    ...workspaceSlice(...a),
    ...selectionSlice(...a),
    reset() {
      listingTicket++;
      detailTicket++;
      a[0](initialData());
    },
  }));
  return store;
}
