/**
 * Alerts of runs, from what the experiment watcher sees (each summary it
 * reports) and from the run's log growing: a run that failed, a train metric
 * that turned NaN or ±Inf, a run that stalled (no new metrics record and no
 * log byte for max(5 minutes, 10 × the median interval between records)),
 * and a run that completed. Each fires once per run and cause, remembered
 * across restarts (./alert-store.ts). Only live runs alert: running now,
 * seen running by this or an earlier Expdesk, or ended after watching began
 * — opening a folder of old runs announces nothing.
 */
import type { ExperimentSummary } from '../../../shared/model';
import type { AlertMark, AlertStore } from './alert-store';

export type AlertCause = Exclude<AlertMark, 'seen-running'>;

export interface Alert {
  /** The experiment's location (a path, or ssh://… as watched). */
  location: string;
  name: string;
  cause: AlertCause;
  /** One line: the run's name and what happened. */
  text: string;
}

/** The floor of the stall threshold: 5 minutes. */
export const MIN_STALL_MS = 5 * 60_000;
/** Intervals between records kept for the median. */
const INTERVALS_KEPT = 64;

export interface DetectorOptions {
  store: AlertStore;
  fire(alert: Alert): void;
  now?: () => number;
  /** The floor of the stall threshold (tests inject a short one). */
  minStallMs?: number;
}

interface Track {
  name: string;
  running: boolean;
  live: boolean;
  records: number;
  lastRecordAt: number;
  /** Last new record or log byte. */
  lastProgress: number;
  intervals: number[];
  logSignature: string | null;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export class AlertDetector {
  private readonly runs = new Map<string, Track>();
  private readonly now: () => number;
  private readonly minStallMs: number;
  private readonly since: number;

  constructor(private readonly options: DetectorOptions) {
    this.now = options.now ?? Date.now;
    this.minStallMs = options.minStallMs ?? MIN_STALL_MS;
    this.since = this.now();
  }

  /** Locations of runs running now (whose logs are worth a stat). */
  get running(): string[] {
    return [...this.runs].filter(([, t]) => t.running).map(([l]) => l);
  }

  /** The stall threshold of a run: max(the floor, 10 × its median interval between records). */
  stallThresholdMs(location: string): number {
    const t = this.runs.get(location);
    return Math.max(this.minStallMs, t && t.intervals.length ? 10 * median(t.intervals) : 0);
  }

  /** A summary as the watcher reports it. */
  observe(s: ExperimentSummary): void {
    const now = this.now();
    const location = s.path;
    let t = this.runs.get(location);
    if (!t) {
      t = {
        name: s.name,
        running: false,
        live: false,
        records: s.records,
        lastRecordAt: now,
        lastProgress: now,
        intervals: [],
        logSignature: null,
      };
      this.runs.set(location, t);
    }
    t.name = s.name;
    if (s.records > t.records) {
      const per = (now - t.lastRecordAt) / (s.records - t.records);
      t.intervals.push(per);
      if (t.intervals.length > INTERVALS_KEPT) t.intervals.shift();
      t.lastRecordAt = now;
      t.lastProgress = now;
    }
    t.records = s.records;
    const state = s.status.state;
    t.running = state === 'running';
    if (t.running && !t.live) {
      t.live = true;
      this.options.store.claim(location, 'seen-running');
    }
    // Asked of the store only for an ended run (a listing of thousands of old runs costs no stat each).
    if (!t.live && (state === 'failed' || state === 'completed'))
      t.live = this.endedSinceStart(s) || this.options.store.has(location, 'seen-running');
    if (!t.live) return;

    const bad = Object.entries(s.metrics).find(([k, m]) => k.startsWith('train/') && m.nonFinite > 0);
    if (bad) {
      const [key, m] = bad;
      const where = m.last === null && m.lastStep !== null ? ` at step ${m.lastStep}` : '';
      this.fire(t, location, 'nonfinite', `${key} turned NaN or ±Inf${where}`);
    }
    if (state === 'failed') {
      const how =
        s.status.failedAtStep != null
          ? `failed at step ${s.status.failedAtStep}`
          : s.status.signal
            ? `failed (${s.status.signal})`
            : s.status.exitCode != null
              ? `failed (exit code ${s.status.exitCode})`
              : 'failed';
      this.fire(t, location, 'failed', how);
    }
    if (state === 'completed')
      this.fire(
        t,
        location,
        'completed',
        `completed${s.total_steps !== null ? ` (${s.total_steps} steps)` : ''}`,
      );
  }

  /** The run's logs as a signature (sizes): a change is progress, like a new record. */
  logActivity(location: string, signature: string | null): void {
    const t = this.runs.get(location);
    if (!t || signature === t.logSignature) return;
    if (t.logSignature !== null) t.lastProgress = this.now();
    t.logSignature = signature;
  }

  /** Look for stalled runs (call now and then: nothing else happens while a run is silent). */
  check(): void {
    const now = this.now();
    for (const [location, t] of this.runs) {
      if (!t.running || !t.live) continue;
      const idle = now - t.lastProgress;
      const threshold = this.stallThresholdMs(location);
      if (idle >= threshold)
        this.fire(t, location, 'stalled', `stalled: no new metrics and no log output for ${minutes(idle)}`);
    }
  }

  /** Forget a run (its folder is no longer watched); its fired alerts stay remembered. */
  forget(location: string): void {
    this.runs.delete(location);
  }

  private endedSinceStart(s: ExperimentSummary): boolean {
    const ended = s.status.endedAt ? Date.parse(s.status.endedAt) : NaN;
    return Number.isFinite(ended) && ended >= this.since - 1000;
  }

  private fire(t: Track, location: string, cause: AlertCause, what: string): void {
    if (!this.options.store.claim(location, cause)) return;
    this.options.fire({ location, name: t.name, cause, text: `${t.name}: ${what}` });
  }
}

function minutes(ms: number): string {
  const m = ms / 60_000;
  return m >= 1 ? `${Math.round(m)} min` : `${Math.round(ms / 1000)} s`;
}
