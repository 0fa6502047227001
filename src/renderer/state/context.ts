/**
 * What every slice shares besides the state: the client, preferences
 * storage, the notifier, a clock, and the bookkeeping that must not trigger
 * renders (request tickets, event unsubscribers, watch subscriptions).
 */
import type { StateCreator } from 'zustand/vanilla';
import { toClientError, type ApiClient } from '../api/client';
import type { KeyValueStorage } from '../lib/recent';
import type { Notifier } from '../lib/notify';
import type { ExpdeskState } from './types';

export interface StoreDeps {
  client: ApiClient;
  storage: KeyValueStorage | null;
  notifier: Notifier;
  now: () => number;
}

export interface Ctx extends StoreDeps {
  /**
   * Responses can arrive out of order (a slow listing after a fast one): each
   * request kind takes a ticket and only the latest ticket may write its result.
   */
  tickets: { listing: number; detail: number; compare: number; compose: number; configFiles: number };
  unsubscribers: Array<() => void>;
}

export type Slice<T> = StateCreator<ExpdeskState, [], [], T>;

export function message(err: unknown): string {
  return toClientError(err).message;
}

export const PREF = {
  recent: 'expdesk.recentWorkspaces',
  columns: 'expdesk.tableColumns',
  launch: 'expdesk.launchForm',
  /** The EMA weight alone, as remembered before chartView; read when chartView has none. */
  smoothing: 'expdesk.smoothing',
  /** The chart views' smoothing (EMA or window mean), log y axis and "ignore outliers" (ChartControls.tsx). */
  chartView: 'expdesk.chartView',
  /** Where launches go (this machine or SLURM, with its fields), per workspace. */
  launchWhere: 'expdesk.launchWhere',
  /** What the launch form remembers (state/launch-memory.ts): per workspace, and per workspace and config. */
  launchMemory: 'expdesk.launchMemory',
  /** The table's group-by keys, per workspace. */
  groupBy: 'expdesk.groupBy',
} as const;
