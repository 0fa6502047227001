/**
 * What the local and the remote experiment watchers share
 * (./experiment-watcher.ts, ../remote/remote-watcher.ts): the events they
 * send and PollingWatcher, their common base.
 */
import type { ExperimentSummary } from '../../../shared/model';

export interface WatcherSink {
  metricsChanged(subscription: string, expDir: string, records: number): void;
  updated(summary: ExperimentSummary): void;
}

/** What a watcher remembers of an experiment to tell whether a new summary changed anything. */
export interface FollowedState {
  subscriptions: Set<string>;
  records: number;
  fingerprint: string;
}

/** What a UI row shows, minus the inferred reason's "written 3s ago", which changes with the clock alone. */
function fingerprint(s: ExperimentSummary): string {
  const status = s.status.source === 'inferred' ? { ...s.status, reason: '' } : s.status;
  return JSON.stringify({ ...s, status });
}

/** How often an experiment that is not running is looked at, unless a watcher is told otherwise. */
const COLD_PERIOD_MS = 5000;

/**
 * A watcher that polls: its subscriptions (id → the experiments it follows),
 * one interval timer for all of them (running only while some subscription is
 * open, never keeping the process alive by itself), the round robin over the
 * experiments that are not running, and the events a new summary is worth.
 */
export abstract class PollingWatcher {
  protected readonly subscriptions = new Map<string, Set<string>>();
  protected disposed = false;
  protected readonly tickMs: number;
  protected readonly coldPeriodMs: number;
  private timer: NodeJS.Timeout | null = null;
  private coldCursor = 0;

  constructor(
    protected readonly sink: WatcherSink,
    timing: { tickMs: number; coldPeriodMs?: number },
  ) {
    this.tickMs = timing.tickMs;
    this.coldPeriodMs = timing.coldPeriodMs ?? COLD_PERIOD_MS;
  }

  /** One poll of everything followed; called every tickMs while the timer runs. */
  protected abstract tick(): Promise<void>;

  /** True while its poll timer runs (only while some subscription is open). */
  get polling(): boolean {
    return this.timer !== null;
  }

  dispose(): void {
    this.disposed = true;
    this.stopTimer();
    this.subscriptions.clear();
  }

  protected ensureTimer(): void {
    if (this.timer || this.disposed) return;
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
  }

  protected stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * This tick's turn of the experiments that are not running: each once per
   * coldPeriodMs, the work spread evenly over the ticks.
   */
  protected coldTurn<T>(cold: readonly T[]): T[] {
    if (cold.length === 0) return [];
    const share = Math.min(cold.length, Math.ceil((cold.length * this.tickMs) / this.coldPeriodMs));
    const turn: T[] = [];
    for (let k = 0; k < share; k++) turn.push(cold[(this.coldCursor + k) % cold.length]!);
    this.coldCursor = (this.coldCursor + share) % cold.length;
    return turn;
  }

  /**
   * Report a new summary of the experiment at `location`: `experiment.updated`
   * when its row changed, `metrics.changed` to each subscription when its
   * record count moved.
   */
  protected report(w: FollowedState, location: string, s: ExperimentSummary): void {
    const fp = fingerprint(s);
    if (fp !== w.fingerprint) {
      w.fingerprint = fp;
      this.sink.updated(s);
    }
    if (s.records !== w.records) {
      w.records = s.records;
      for (const id of w.subscriptions) this.sink.metricsChanged(id, location, s.records);
    }
  }

  /** Take `s` as what was last reported (a baseline: no events). */
  protected takeBaseline(w: FollowedState, s: ExperimentSummary): void {
    w.fingerprint = fingerprint(s);
    w.records = s.records;
  }
}
