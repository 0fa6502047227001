/**
 * Following experiments for the interface: which watched experiments got new
 * metric records (`metrics.changed`), whose summary changed
 * (`experiment.updated`), and which experiment folders appeared in the open
 * workspace. Read-only: it stats, lists and reads; summaries are cached in the
 * user's cache folder by the SummaryStore, never in the experiment.
 *
 * It polls with fs.stat rather than watching: chokidar is not a dependency,
 * and fs.watch (inotify) misses writes made on another host of a network
 * file system (NFS/Lustre homes of GPU clusters, where runs write their
 * folders) and costs a watch descriptor per folder; a stat poll sees every
 * write everywhere, at a cost this class bounds:
 *   - one timer for all watches (TICK_MS);
 *   - running experiments (by status file, or inferred from recent writes)
 *     are statted every tick — 4 stats: the folder, metrics.jsonl, the
 *     status file, FAILED.txt — so a new point reaches the UI within a second;
 *   - all others 2 stats (the folder, metrics.jsonl) once every COLD_PERIOD_MS,
 *     spread over the ticks. The status file is replaced by rename and
 *     FAILED.txt is created, and either changes the folder's mtime;
 *   - the workspace's experiments folder is listed (one readdir, plus one per
 *     group of a grouped sweep) every SCAN_PERIOD_MS for new folders.
 * A summary is recomputed (O(appended), see SummaryStore) only when a stat
 * changed, or every HOT_REFRESH_MS for running ones (an inferred "running"
 * turns into "unknown" with time alone, and a dead process with no exit
 * record is only seen by asking).
 *
 * An unwatched folder's state is kept for RETIRED_MS: the interface re-watches
 * its whole listing whenever a row appears (unwatch, then watch), and taking
 * a fresh baseline of thousands of summaries each time would cost seconds.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ExperimentSummary } from '../../../shared/model';
import type { SummaryStore } from '../summary/summary-store';
import { isExperimentDir, isSearchedDirName } from '../workspace/discover';
import { statSig } from '../workspace/fs-batch';
import { LAYOUT } from '../workspace/layout';
import { mapLimited, summarizeSafely } from '../workspace/workspace';
import { PollingWatcher, type FollowedState, type WatcherSink } from './follow';

export const TICK_MS = 500;
const HOT_REFRESH_MS = 5000;
const SCAN_PERIOD_MS = 1000;
/** A new folder that is not (yet) an experiment is re-checked this long: a launch writes config.yaml within seconds. */
const PENDING_MS = 60_000;
const RETIRED_MS = 30_000;
/** Stats in flight at once: enough to overlap I/O, few enough not to flood libuv's thread pool. */
const CONCURRENCY = 16;

const FILES = { dir: '.', metrics: LAYOUT.metrics, status: LAYOUT.status, failed: LAYOUT.failed } as const;
type FileKey = keyof typeof FILES;
const HOT_FILES: FileKey[] = ['dir', 'metrics', 'status', 'failed'];
const COLD_FILES: FileKey[] = ['dir', 'metrics'];

export type { WatcherSink } from './follow';

export interface WatcherOptions {
  summaries: SummaryStore;
  /** The open workspace, where new experiment folders are looked for; null when none is open. */
  workspace: () => string | null;
  sink: WatcherSink;
  tickMs?: number;
  coldPeriodMs?: number;
  hotRefreshMs?: number;
  scanPeriodMs?: number;
}

interface Watched extends FollowedState {
  dir: string;
  /** Baseline taken (first summary, first stats); until then it is not polled. */
  ready: boolean;
  hot: boolean;
  sigs: Record<FileKey, string>;
  summarizedAt: number;
}

interface ScanState {
  root: string;
  /** Where experiments are created; null when the workspace is one experiment. */
  experimentsDir: string | null;
  /** Every folder already seen (experiments and groups, at both levels). */
  known: Set<string>;
  /**
   * Folders directly under experimentsDir that hold experiments (a grouped sweep's
   * groups), listed on every scan. Taken from the watched folders' parents, never
   * guessed from a folder's name: a data/ folder with a million files must not be listed each second.
   */
  groups: Set<string>;
  /** Groups known to hold an experiment (new folders are groups only while pending, unless confirmed). */
  confirmed: Set<string>;
  /** New folders not yet an experiment, with when they were first seen. */
  pending: Map<string, number>;
}

function emptySigs(): Record<FileKey, string> {
  return { dir: '', metrics: '', status: '', failed: '' };
}

async function sigOf(file: string): Promise<string> {
  try {
    // Batched with the tick's other stats (and a listing's) in one worker round trip.
    const st = await statSig(file);
    return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : '';
  } catch {
    return '';
  }
}

async function listDirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && isSearchedDirName(e.name))
    .map((e) => path.join(dir, e.name));
}

function isHot(s: ExperimentSummary): boolean {
  return s.status.state === 'running';
}

export class ExperimentWatcher extends PollingWatcher {
  private readonly watched = new Map<string, Watched>();
  /** Recently unwatched folders' state, reused by the next watch (see RETIRED_MS). */
  private retired = new Map<string, Watched>();
  private retiredAt = 0;
  private readonly hotRefreshMs: number;
  private readonly scanPeriodMs: number;
  private busy = false;
  private lastScan = 0;
  private scanState: ScanState | null = null;
  private nextId = 1;

  constructor(private readonly options: WatcherOptions) {
    super(options.sink, { tickMs: options.tickMs ?? TICK_MS, coldPeriodMs: options.coldPeriodMs });
    this.hotRefreshMs = options.hotRefreshMs ?? HOT_REFRESH_MS;
    this.scanPeriodMs = options.scanPeriodMs ?? SCAN_PERIOD_MS;
  }

  /**
   * Start watching these folders; resolves with the subscription id its events
   * carry once the workspace's folders are listed, so any experiment folder
   * created after this resolves is announced.
   */
  async watch(paths: string[], id = `watch-${this.nextId++}`): Promise<string> {
    const dirs = new Set(paths.map((p) => path.resolve(p)));
    this.subscriptions.set(id, dirs);
    this.pruneRetired();
    const fresh: Watched[] = [];
    for (const dir of dirs) {
      let w = this.watched.get(dir);
      if (!w) {
        w = this.adopt(dir);
        if (!w.ready) fresh.push(w);
      }
      w.subscriptions.add(id);
    }
    // Baselines in the background: the caller gets its id at once, events follow.
    void mapLimited(fresh, CONCURRENCY / 2, (w) => this.baseline(w));
    this.ensureTimer();
    const root = this.options.workspace();
    if (root && this.scanState?.root !== root) this.scanState = await this.scanBaseline(root);
    return id;
  }

  /** Stop a subscription; unknown ids are ignored (a closed connection may unwatch twice). */
  unwatch(id: string): void {
    const dirs = this.subscriptions.get(id);
    if (!dirs) return;
    this.subscriptions.delete(id);
    for (const dir of dirs) {
      const w = this.watched.get(dir);
      if (!w) continue;
      w.subscriptions.delete(id);
      if (w.subscriptions.size === 0) {
        this.watched.delete(dir);
        this.retired.set(dir, w);
        this.retiredAt = Date.now();
      }
    }
    if (this.subscriptions.size === 0) this.stopTimer();
  }

  /** Start following a folder: with its retired state when it has one, else a new entry. */
  private adopt(dir: string): Watched {
    let w = this.retired.get(dir);
    this.retired.delete(dir);
    if (!w || !w.ready) {
      w = {
        dir,
        subscriptions: new Set(),
        ready: false,
        hot: false,
        sigs: emptySigs(),
        records: 0,
        fingerprint: '',
        summarizedAt: 0,
      };
    }
    this.watched.set(dir, w);
    return w;
  }

  private pruneRetired(): void {
    if (this.retired.size > 0 && Date.now() - this.retiredAt > RETIRED_MS) this.retired = new Map();
  }

  /** Subscriptions and folders followed (for tests and diagnostics). */
  get size(): { subscriptions: number; experiments: number } {
    return { subscriptions: this.subscriptions.size, experiments: this.watched.size };
  }

  override dispose(): void {
    super.dispose();
    this.watched.clear();
    this.retired.clear();
    this.scanState = null;
  }

  private async baseline(w: Watched): Promise<ExperimentSummary> {
    const sigs = await Promise.all(HOT_FILES.map((k) => sigOf(path.join(w.dir, FILES[k]))));
    HOT_FILES.forEach((k, i) => (w.sigs[k] = sigs[i]!));
    const summary = await summarizeSafely(this.options.summaries, w.dir);
    this.takeBaseline(w, summary);
    w.hot = isHot(summary);
    w.summarizedAt = Date.now();
    w.ready = true;
    return summary;
  }

  protected async tick(): Promise<void> {
    // A slow file system must not pile ticks on top of each other.
    if (this.busy || this.disposed) return;
    this.busy = true;
    try {
      this.pruneRetired();
      const now = Date.now();
      const due: Watched[] = [];
      const cold: Watched[] = [];
      for (const w of this.watched.values()) {
        if (!w.ready) continue;
        (w.hot ? due : cold).push(w);
      }
      due.push(...this.coldTurn(cold));
      await mapLimited(due, CONCURRENCY, (w) => this.check(w, now));
      if (now - this.lastScan >= this.scanPeriodMs) {
        this.lastScan = now;
        await this.scan(now);
      }
    } catch {
      // Every step above tolerates missing files; anything else is retried on the next tick.
    } finally {
      this.busy = false;
    }
  }

  private async check(w: Watched, now: number): Promise<void> {
    const keys = w.hot ? HOT_FILES : COLD_FILES;
    const sigs = await Promise.all(keys.map((k) => sigOf(path.join(w.dir, FILES[k]))));
    if (sigs[0] === '') {
      // The folder is gone (deleted or moved): nothing to report on any more.
      this.forget(w);
      return;
    }
    let changed = false;
    keys.forEach((k, i) => {
      if (w.sigs[k] !== sigs[i]) {
        w.sigs[k] = sigs[i]!;
        changed = true;
      }
    });
    if (changed || (w.hot && now - w.summarizedAt >= this.hotRefreshMs)) await this.resummarize(w);
  }

  private async resummarize(w: Watched): Promise<void> {
    const summary = await summarizeSafely(this.options.summaries, w.dir);
    w.summarizedAt = Date.now();
    if (this.watched.get(w.dir) !== w) {
      // Unwatched (or disposed) while the summary was read: say nothing now, but forget
      // the file signatures so a later watch that adopts this entry sees the change.
      w.sigs = emptySigs();
      return;
    }
    w.hot = isHot(summary);
    this.report(w, w.dir, summary);
  }

  private forget(w: Watched): void {
    this.watched.delete(w.dir);
    for (const dirs of this.subscriptions.values()) dirs.delete(w.dir);
  }

  /** Look for experiment folders that appeared in the open workspace. */
  private async scan(now: number): Promise<void> {
    const root = this.options.workspace();
    if (!root) return;
    const s = this.scanState;
    if (!s || s.root !== root) {
      this.scanState = await this.scanBaseline(root);
      return;
    }
    if (!s.experimentsDir) return;
    const fresh: string[] = [];
    for (const parent of [s.experimentsDir, ...s.groups]) {
      for (const dir of await listDirs(parent)) {
        if (s.known.has(dir)) continue;
        s.known.add(dir);
        fresh.push(dir);
      }
    }
    for (const dir of fresh) s.pending.set(dir, now);
    for (const [dir, since] of s.pending) {
      const topLevel = path.dirname(dir) === s.experimentsDir;
      if (await isExperimentDir(dir)) {
        s.pending.delete(dir);
        s.groups.delete(dir);
        if (!topLevel) s.confirmed.add(path.dirname(dir));
        await this.discovered(dir);
      } else if (now - since > PENDING_MS) {
        s.pending.delete(dir);
        if (topLevel && !s.confirmed.has(dir)) s.groups.delete(dir);
      } else if (topLevel) {
        // Not an experiment (yet): a new sweep's group, maybe; its children are listed while it is pending.
        s.groups.add(dir);
      }
    }
  }

  private async scanBaseline(root: string): Promise<ScanState> {
    const state: ScanState = {
      root,
      experimentsDir: null,
      known: new Set(),
      groups: new Set(),
      confirmed: new Set(),
      pending: new Map(),
    };
    if (await isExperimentDir(root)) return state;
    const nested = path.join(root, 'experiments');
    const isDir = await stat(nested).then(
      (st) => st.isDirectory(),
      () => false,
    );
    const top = isDir ? nested : root;
    state.experimentsDir = top;
    for (const dir of this.watched.keys()) {
      const parent = path.dirname(dir);
      if (parent !== top && path.dirname(parent) === top) {
        state.groups.add(parent);
        state.confirmed.add(parent);
      }
    }
    for (const parent of [top, ...state.groups]) {
      for (const dir of await listDirs(parent)) state.known.add(dir);
    }
    return state;
  }

  /** A new experiment folder: announce it and follow it for every current subscription. */
  private async discovered(dir: string): Promise<void> {
    if (this.watched.has(dir) || this.subscriptions.size === 0) return;
    const w = this.adopt(dir);
    for (const [id, dirs] of this.subscriptions) {
      w.subscriptions.add(id);
      dirs.add(dir);
    }
    const summary = await this.baseline(w);
    if (this.watched.get(dir) === w && !this.disposed) this.sink.updated(summary);
  }
}
