/**
 * The detector (./alert-detector.ts) on a watcher: the watcher's summaries go
 * to it as they are reported, and a timer of its own stats the logs of
 * running runs (a log that grows is progress) and looks for stalls, since a
 * silent run reports nothing. The logs are read by an injected function, so
 * the face decides per location where they are (no log signature: the
 * metrics alone decide).
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ExperimentSummary } from '../../../shared/model';
import { LAYOUT } from '../workspace/layout';
import type { AlertDetector } from './alert-detector';

export interface MonitorOptions {
  detector: AlertDetector;
  /** Sizes of the run's logs as one string, or null where they cannot be read. */
  logSignature?: (location: string) => Promise<string | null>;
  /** How often logs are statted and stalls looked for. */
  checkMs?: number;
}

/** Sizes of logs/train.log and logs/train_rank*.log of a local experiment folder. */
export async function localLogSignature(expDir: string): Promise<string | null> {
  const logs = path.join(expDir, LAYOUT.logs);
  const names = (await readdir(logs).catch(() => [] as string[]))
    .filter((n) => /^train(_rank\d+)?\.log$/.test(n))
    .sort();
  const sizes = await Promise.all(
    names.map((n) =>
      stat(path.join(logs, n)).then(
        (s) => `${n}:${s.size}`,
        () => `${n}:-`,
      ),
    ),
  );
  return sizes.join(',');
}

export class AlertMonitor {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(private readonly options: MonitorOptions) {}

  /** A summary from the watcher; the timer runs while some run is running (none is left behind otherwise). */
  updated(summary: ExperimentSummary): void {
    this.options.detector.observe(summary);
    // Only this run's state changed: no scan of every run (a listing of 10,000 made that O(n²)).
    if (summary.status.state === 'running') this.start();
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.options.checkMs ?? 5000);
    // A background check: it must not keep a stopping `expdesk serve` (or a test) alive.
    this.timer.unref();
  }

  /** One round: the logs of running runs, then stalls. */
  async check(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { detector, logSignature } = this.options;
      if (logSignature)
        await Promise.all(
          detector.running.map(async (l) => detector.logActivity(l, await logSignature(l).catch(() => null))),
        );
      detector.check();
      if (detector.running.length === 0) this.dispose();
    } finally {
      this.busy = false;
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
