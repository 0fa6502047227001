/**
 * When a summary store's cache files are written: in the background, after
 * the listing that filled them (a listing never waits for its own cache
 * writes), at most every FLUSH_INTERVAL_MS (a file holds a whole folder's
 * entries, and live runs change often), and at exit (flushSummaryCaches).
 * Losing unwritten entries (a crash) only costs a re-read.
 */
import { onExit } from '../app/exit-tasks';

/** Cache writes wait for this long without a summary being read, so a listing never waits for them… */
const FLUSH_DELAY_MS = 200;
/** …but no longer than this while summaries keep being read (a watcher refreshing live runs). */
const FLUSH_MAX_WAIT_MS = 5_000;
/** Background writes at most this often: a file holds a whole folder's entries (live runs change often). */
const FLUSH_INTERVAL_MS = 10_000;

/** What a flusher writes: the store's cache files. */
export interface FlushTarget {
  /** Whether anything kept is not written yet. */
  hasPending(): boolean;
  /** Write what is kept (the full entries before the listing records). */
  write(): Promise<void>;
  /** Whether summaries are being read now (background writes wait, for not too long). */
  reading(): boolean;
}

/** Flushers with cache entries not written yet (see flushSummaryCaches). */
const unflushed = new Set<CacheFlusher>();

/**
 * Write every store's pending cache entries, before the process exits; gives
 * up after `limitMs` (a stuck cache folder must not keep the app from quitting).
 */
export async function flushSummaryCaches(limitMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs)));
  await Promise.race([Promise.all([...unflushed].map((f) => f.flush())), limit]);
  clearTimeout(timer);
}
// The CLI's entry flushes at exit through app/exit-tasks, without importing this module.
onExit(() => flushSummaryCaches());

export class CacheFlusher {
  private timer: NodeJS.Timeout | null = null;
  private dirtySince = 0;
  private lastFlush = 0;
  private flushing: Promise<void> | null = null;

  constructor(private readonly target: FlushTarget) {}

  /** Call before keeping something: the first thing kept since the last write starts the clock. */
  willKeep(): void {
    if (!this.target.hasPending()) this.dirtySince = Date.now();
  }

  /** Something was kept: written later, in the background. */
  kept(): void {
    unflushed.add(this);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.flushing) return;
    const wait = Math.max(FLUSH_DELAY_MS, this.lastFlush + FLUSH_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush(false);
    }, wait);
    this.timer.unref();
  }

  /** Whether background writes should wait: summaries are being read (a listing), for not too long. */
  private yielding(): boolean {
    return this.target.reading() && Date.now() - this.dirtySince < FLUSH_MAX_WAIT_MS;
  }

  /**
   * Write what was kept since the last flush; resolves when it is on disk
   * (or failed to be). In the background (`all` false) it waits while
   * summaries are being read, and goes on later.
   */
  async flush(all = true): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.flushing) await this.flushing;
    if (!this.target.hasPending()) {
      unflushed.delete(this);
      return;
    }
    if (!all && this.yielding()) {
      this.schedule();
      return;
    }
    this.flushing = this.target.write();
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
      this.lastFlush = Date.now();
      if (!this.target.hasPending()) unflushed.delete(this);
      else this.schedule();
    }
  }
}
