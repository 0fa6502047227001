/**
 * What the local and the SSH backend do alike with their experiment watcher:
 * make it on the first watch (only where there is a sink for its events), let
 * it search the open workspace only when that workspace is this backend's,
 * and report and end what it holds.
 */
import { ExpdeskError } from '../../../shared/errors';
import type { BackendSink, ExperimentBackend, OpenWorkspace } from './backend';

/** What a backend's watcher (local or SSH) does for it. */
export interface BackendWatcher {
  unwatch(subscription: string): void;
  readonly size: { subscriptions: number };
  /** True while its poll timer runs. */
  readonly polling: boolean;
  dispose(): void;
}

export abstract class WatchingBackend<W extends BackendWatcher> {
  private watcher: W | null = null;

  protected constructor(
    private readonly watching: { workspace?: () => OpenWorkspace | null; sink?: BackendSink },
  ) {}

  /** A new watcher of this backend's experiments; `workspace` is the open one when it is this backend's. */
  protected abstract makeWatcher(sink: BackendSink, workspace: () => string | null): W;

  unwatch(subscription: string): void {
    this.watcher?.unwatch(subscription);
  }

  /** Subscriptions and poll timers held now (none before the first watch). */
  get activity(): { watches: number; timers: number } {
    return { watches: this.watcher?.size.subscriptions ?? 0, timers: this.watcher?.polling ? 1 : 0 };
  }

  dispose(): void {
    this.watcher?.dispose();
  }

  /** The watcher, made on first use; without a sink, watching is refused. */
  protected watcherFor(): W {
    const sink = this.watching.sink;
    if (!sink) throw new ExpdeskError('bad-request', 'watching experiments is not available here');
    this.watcher ??= this.makeWatcher(sink, () => {
      // Another backend's workspace is searched by that backend.
      const w = this.watching.workspace?.();
      return w && w.backend === (this as unknown as ExperimentBackend) ? w.location : null;
    });
    return this.watcher;
  }
}
