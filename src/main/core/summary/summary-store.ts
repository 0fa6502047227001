/**
 * Per-experiment summaries, cached in memory and on disk under the user's
 * cache folder (never inside the experiment: analysis is read-only; one file
 * per folder of experiments, summary-disk-cache.ts), keyed by the folder's
 * path and validated by each input file's (inode, size, mtime).
 * When only metrics.jsonl changed and it grew, the cached reader state
 * resumes at its byte offset, so a live run costs O(appended) per refresh.
 * metrics.jsonl is read through the experiment's MetricsFeed
 * (core/metrics/metrics-feed.ts), shared with the charts' series store: each
 * line is parsed once for both.
 */
import path from 'node:path';
import { MetricsFold, type MetricsFoldState } from '../../../shared/metrics-summary';
import type { ExperimentSummary, Problem } from '../../../shared/model';
import { foldProblems } from '../../../shared/problems';
import { gpuSummary } from '../../../shared/system-metrics';
import { onExit } from '../app/exit-tasks';
import { userCacheDir } from '../app/paths';
import { metricsReadProblem, MetricsFeeds, processMetricsFeeds } from '../metrics/metrics-feed';
import { emptyTailState, type MetricsTailState } from '../metrics/metrics-tail';
import { divergedProblem } from '../metrics/line-faults';
import {
  isEventsState,
  sourceLabel,
  readerHparams,
  readerProblems,
  otherMetricsSource,
  withHparams,
} from '../metrics/metrics-source';
import { statSig, statSigs } from '../workspace/fs-batch';
import {
  configFromText,
  failedFromText,
  jsonObjectFromText,
  readSmallFile,
  type SmallFileText,
} from '../workspace/files';
import { LAYOUT } from '../workspace/layout';
import type { Summarizer } from '../workspace/summarizer';
import { deriveStatus } from '../workspace/status';
import { deriveFields, type Derived } from './derive';
import { SummaryDiskCache } from './summary-disk-cache';

export { deriveFields, type Derived } from './derive';

/** Bump when the cache entry's shape or the summary's semantics change. */
export const CACHE_VERSION = 7;

export type FileSig = { size: number; mtimeMs: number; ino: number } | null;

const SMALL_FILES = {
  config: LAYOUT.config,
  metadata: LAYOUT.metadata,
  failed: LAYOUT.failed,
  status: LAYOUT.status,
  final: path.join(LAYOUT.checkpoints, 'final'),
  annotations: LAYOUT.annotations,
} as const;
export type SmallKey = keyof typeof SMALL_FILES;
export const SMALL_KEYS = Object.keys(SMALL_FILES) as SmallKey[];
/**
 * Logs whose mtime tells whether a seed-written run is still writing, besides
 * logs/metrics.jsonl (statted anyway). Only statted when no status file,
 * FAILED.txt or final checkpoint decides the status.
 */
const ACTIVITY_FILES = [path.join(LAYOUT.logs, 'train.log'), path.join(LAYOUT.logs, 'train_rank0.log')];
/** What prepare() stats of every folder, in this order: the small files, metrics, system. */
const STATTED = [...SMALL_KEYS.map((k) => SMALL_FILES[k]), LAYOUT.metrics, LAYOUT.system];

export interface CacheEntry {
  version: number;
  /** The folder's path, or a remote location (`ssh://…`): the cache key. */
  dir: string;
  sigs: Record<SmallKey, FileSig>;
  metricsSig: FileSig;
  derived: Derived;
  tail: MetricsTailState;
  fold: MetricsFoldState;
  /**
   * Why metrics.jsonl could not be read at its current signature (a FIFO,
   * permission denied), kept apart from the small files' problems so that it
   * lasts exactly as long as that file does.
   */
  metricsProblem?: Problem | null;
  /**
   * logs/system.jsonl (the run wrapper's samples) read like metrics.jsonl:
   * its signature, reader state and fold, for the summary's GPU fields.
   * Absent for entries that never read one (remote workspaces).
   */
  system?: { sig: FileSig; tail: MetricsTailState; fold: MetricsFoldState } | null;
}

/** What a file that exists but cannot be statted (EACCES, …) is recorded as: read, and its problem reported. */
const UNSTATTABLE: NonNullable<FileSig> = { size: -1, mtimeMs: -1, ino: -1 };

/** `dir` (resolved) joined with a normalized relative name: path.join's cost, 40,000 times a listing, saved. */
function inDir(dir: string, name: string): string {
  return dir.endsWith(path.sep) ? dir + name : dir + path.sep + name;
}

/** null for a missing file; never throws. */
async function sigOf(file: string): Promise<FileSig> {
  try {
    return await statSig(file);
  } catch {
    return UNSTATTABLE;
  }
}

/** A small file's text given its fresh signature: a missing file is not opened at all. */
function readKnown(dir: string, key: SmallKey, sig: FileSig): Promise<SmallFileText> {
  if (sig === null) return Promise.resolve({ text: null });
  const name = SMALL_FILES[key];
  return readSmallFile(inDir(dir, name), name, sig.size >= 0 ? sig.size : undefined);
}

export function sameSig(a: FileSig, b: FileSig): boolean {
  if (a === null || b === null) return a === b;
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/** Cache writes wait for this long without a summary being read, so a listing never waits for them… */
const FLUSH_DELAY_MS = 200;
/** …but no longer than this while summaries keep being read (a watcher refreshing live runs). */
const FLUSH_MAX_WAIT_MS = 5_000;
/** Background writes at most this often: a file holds a whole folder's entries (live runs change often). */
const FLUSH_INTERVAL_MS = 10_000;

/** Stores with cache entries not written yet (see flushSummaryCaches). */
const unflushed = new Set<SummaryStore>();

/**
 * Write every store's pending cache entries, before the process exits; gives
 * up after `limitMs` (a stuck cache folder must not keep the app from quitting).
 */
export async function flushSummaryCaches(limitMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs)));
  await Promise.race([Promise.all([...unflushed].map((s) => s.flush())), limit]);
  clearTimeout(timer);
}
// The CLI's entry flushes at exit through app/exit-tasks, without importing this module.
onExit(() => flushSummaryCaches());

export interface SummaryStoreOptions {
  /** Cache folder; defaults to userCacheDir(). `false` disables the disk cache. */
  cacheDir?: string | false;
  /** The metrics feeds to read through; by default the process's (shared with the series store). */
  feeds?: MetricsFeeds;
}

export class SummaryStore implements Summarizer {
  private readonly memory = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<ExperimentSummary>>();
  private readonly disk: SummaryDiskCache<CacheEntry> | null;
  private readonly aux = new Map<string, unknown>();
  /** Stats made by prepare() for the summarize calls after it (STATTED; the logs' where statted). */
  private readonly prepared = new Map<string, { sigs: FileSig[]; activity: FileSig[] | null }>();
  private flushTimer: NodeJS.Timeout | null = null;
  private dirtySince = 0;
  private lastFlush = 0;
  private flushing: Promise<void> | null = null;
  /** The metrics feeds read through (see core/metrics/metrics-feed.ts). */
  readonly feeds: MetricsFeeds;
  /** The cache folder given (or the user's), null when the disk cache is off. */
  readonly cacheRoot: string | null;

  constructor(options: SummaryStoreOptions = {}) {
    this.feeds = options.feeds ?? processMetricsFeeds;
    this.cacheRoot = options.cacheDir === false ? null : (options.cacheDir ?? userCacheDir());
    this.disk = this.cacheRoot
      ? new SummaryDiskCache(path.join(this.cacheRoot, `summaries-v${CACHE_VERSION}`), CACHE_VERSION)
      : null;
  }

  /** The summary of one experiment folder; concurrent calls for one folder share the work. */
  summarize(dir: string): Promise<ExperimentSummary> {
    const key = path.resolve(dir);
    const running = this.inflight.get(key);
    if (running) return running;
    const p = this.refresh(key).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /**
   * Stat every input of these folders in one batch (one message to the
   * stat worker, one promise) and load their cache file, so that the
   * summarize calls that follow only compare and build: a warm listing of
   * 5,000 experiments pays no per-file promise. Call the returned function
   * when done; signatures not used by then are dropped (never reused later).
   */
  async prepare(dirs: string[]): Promise<() => void> {
    const keys = dirs.map((d) => path.resolve(d));
    const stat = async (names: string[], at: string[]): Promise<FileSig[][]> => {
      const files: string[] = [];
      for (const k of at) for (const f of names) files.push(inDir(k, f));
      const outcomes = await statSigs(files);
      return at.map((_, i) =>
        names.map((_n, j) => {
          const o = outcomes[i * names.length + j]!;
          return o instanceof Error ? UNSTATTABLE : o;
        }),
      );
    };
    // The inputs, while the cache file is read; then the logs' mtimes where a status may be inferred.
    const [sigs] = await Promise.all([stat(STATTED, keys), keys.length ? this.loadEntry(keys[0]!) : null]);
    const cached = await Promise.all(keys.map((k) => this.loadEntry(k)));
    const inferred = keys.filter((_, i) => {
      const d = cached[i]?.derived;
      return !d || (!d.failed && !d.statusFile && !d.hasFinalCheckpoint);
    });
    const activity = new Map(
      (await stat(ACTIVITY_FILES, inferred)).map((a, i) => [inferred[i]!, a] as const),
    );
    keys.forEach((k, i) => this.prepared.set(k, { sigs: sigs[i]!, activity: activity.get(k) ?? null }));
    return () => {
      for (const k of keys) this.prepared.delete(k);
    };
  }

  private async loadEntry(dir: string): Promise<CacheEntry | null> {
    return this.memory.get(dir) ?? (this.disk ? this.disk.get(dir) : null);
  }

  /**
   * Keep a refreshed entry, and write it to the disk cache later: a first
   * listing must not wait for the write. Losing unwritten entries (a crash)
   * only costs a re-read.
   */
  private keepEntry(entry: CacheEntry): void {
    this.memory.set(entry.dir, entry);
    if (!this.disk) return;
    if (!this.disk.hasPending()) this.dirtySince = Date.now();
    this.disk.put(entry);
    unflushed.add(this);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.flushing) return;
    const wait = Math.max(FLUSH_DELAY_MS, this.lastFlush + FLUSH_INTERVAL_MS - Date.now());
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flush(false);
    }, wait);
    this.flushTimer.unref();
  }

  /** Whether background writes should wait: summaries are being read (a listing), for not too long. */
  private yielding(): boolean {
    return this.inflight.size > 0 && Date.now() - this.dirtySince < FLUSH_MAX_WAIT_MS;
  }

  /**
   * Write the entries kept since the last flush; resolves when they are on
   * disk (or failed to be). In the background (`all` false) it waits while
   * summaries are being read, and goes on later.
   */
  async flush(all = true): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    while (this.flushing) await this.flushing;
    const disk = this.disk;
    if (!disk?.hasPending()) {
      unflushed.delete(this);
      return;
    }
    if (!all && this.yielding()) {
      this.scheduleFlush();
      return;
    }
    this.flushing = disk.write();
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
      this.lastFlush = Date.now();
      if (!disk.hasPending()) unflushed.delete(this);
      else this.scheduleFlush();
    }
  }

  private async refresh(dir: string): Promise<ExperimentSummary> {
    const jsonlFile = inDir(dir, LAYOUT.metrics);
    const systemFile = inDir(dir, LAYOUT.system);
    // Every signature and the cached entry at once: a listing's cost is these stats.
    const pre = this.prepared.get(dir);
    this.prepared.delete(dir);
    const ns = SMALL_KEYS.length;
    const [sigList, jsonlSig, systemSig, cached] = pre
      ? [pre.sigs.slice(0, ns), pre.sigs[ns]!, pre.sigs[ns + 1]!, await this.loadEntry(dir)]
      : await Promise.all([
          Promise.all(SMALL_KEYS.map((k) => sigOf(inDir(dir, SMALL_FILES[k])))),
          sigOf(jsonlFile),
          sigOf(systemFile),
          this.loadEntry(dir),
        ]);
    // No metrics.jsonl: a TensorBoard run's event files or an MLflow run's metrics, if the folder holds some.
    const tb = jsonlSig === null ? await otherMetricsSource(dir) : null;
    const metricsFile = tb ? tb.file : jsonlFile;
    const metricsSig = tb ? tb.sig : jsonlSig;
    const sigs = Object.fromEntries(SMALL_KEYS.map((k, i) => [k, sigList[i]!])) as Record<SmallKey, FileSig>;

    let entry: CacheEntry;
    let changed = false;
    if (cached && (Object.keys(sigs) as SmallKey[]).every((k) => sameSig(sigs[k], cached.sigs[k]))) {
      entry = cached;
    } else {
      entry = {
        version: CACHE_VERSION,
        dir,
        sigs,
        metricsSig: cached?.metricsSig ?? null,
        derived: await this.readDerived(dir, sigs),
        tail: cached?.tail ?? emptyTailState(),
        fold: cached?.fold ?? new MetricsFold().state,
        metricsProblem: cached?.metricsProblem ?? null,
        system: cached?.system ?? null,
      };
      changed = true;
    }
    if (!sameSig(systemSig, entry.system?.sig ?? null)) {
      changed = true;
      entry.system = await this.readSystem(systemFile, systemSig, entry.system ?? null);
    }

    if (!sameSig(metricsSig, entry.metricsSig)) {
      changed = true;
      if (metricsSig === null) {
        this.feeds.forget(metricsFile);
        entry.tail = emptyTailState();
        entry.fold = new MetricsFold().state;
      } else {
        // A feed in memory checks the file itself (inode, fingerprint); a new one resumes at the
        // cached offset — unless another inode says the file was replaced: then it starts over.
        const prior = entry;
        const feed = this.feeds.open(metricsFile, () =>
          prior.metricsSig !== null && prior.metricsSig.ino === metricsSig.ino
            ? { tail: prior.tail, fold: prior.fold, ino: metricsSig.ino }
            : undefined,
        );
        try {
          await feed.read();
          entry.metricsProblem = null;
        } catch (err) {
          entry.metricsProblem = { file: LAYOUT.metrics, message: metricsReadProblem(err) };
        }
        entry.tail = feed.tailState;
        entry.fold = feed.foldState;
      }
      if (metricsSig === null) entry.metricsProblem = null;
      entry.metricsSig = metricsSig;
    }
    if (changed) this.keepEntry(entry);
    else this.memory.set(dir, entry);
    return this.build(entry, metricsSig, pre?.activity ?? undefined);
  }

  /**
   * logs/system.jsonl brought up to date through its feed (resuming at the
   * cached offset, like metrics.jsonl); null when missing. An unreadable one
   * only costs the GPU fields: `expdesk show` names its problem.
   */
  private async readSystem(
    file: string,
    sig: FileSig,
    prior: CacheEntry['system'],
  ): Promise<CacheEntry['system']> {
    if (sig === null) {
      this.feeds.forget(file);
      return null;
    }
    const feed = this.feeds.open(file, () =>
      prior && prior.sig !== null && prior.sig.ino === sig.ino
        ? { tail: prior.tail, fold: prior.fold, ino: sig.ino }
        : undefined,
    );
    try {
      await feed.read();
    } catch {
      return { sig, tail: emptyTailState(), fold: new MetricsFold().state };
    }
    return { sig, tail: feed.tailState, fold: feed.foldState };
  }

  /** Read the small files whose signatures say they exist (a missing one is never opened). */
  private async readDerived(dir: string, sigs: Record<SmallKey, FileSig>): Promise<Derived> {
    const [config, metadata, failed, statusRaw, notes] = await Promise.all([
      readKnown(dir, 'config', sigs.config),
      readKnown(dir, 'metadata', sigs.metadata),
      readKnown(dir, 'failed', sigs.failed),
      readKnown(dir, 'status', sigs.status),
      readKnown(dir, 'annotations', sigs.annotations),
    ]);
    return deriveFields(
      path.basename(dir),
      {
        config: configFromText(config),
        metadata: jsonObjectFromText(metadata, LAYOUT.metadata),
        failed: failedFromText(failed),
        statusRaw: jsonObjectFromText(statusRaw, LAYOUT.status),
        notes: notes.text,
      },
      sigs.final !== null,
    );
  }

  private async build(
    entry: CacheEntry,
    metricsSig: FileSig,
    activitySigs?: FileSig[],
  ): Promise<ExperimentSummary> {
    const d = entry.derived;
    // The logs' mtimes only matter to a status inferred from recent writes.
    const inferred = !d.failed && !d.statusFile && !d.hasFinalCheckpoint;
    const activity = inferred
      ? [
          metricsSig,
          ...(activitySigs ?? (await Promise.all(ACTIVITY_FILES.map((f) => sigOf(inDir(entry.dir, f)))))),
        ]
      : [];
    const lastWriteMs = activity.reduce<number | null>(
      (acc, s) => (s && s.mtimeMs >= 0 && (acc === null || s.mtimeMs > acc) ? s.mtimeMs : acc),
      null,
    );
    return buildSummary(entry, { lastWriteMs, path: entry.dir, folder: path.basename(entry.dir) });
  }

  /** A cache entry by key (remote workspaces keep theirs under `ssh://…` keys). */
  async getEntry(key: string): Promise<CacheEntry | null> {
    return this.loadEntry(key);
  }

  /** Keep an entry (remote workspaces); it reaches the disk with the next flush. */
  async putEntry(entry: CacheEntry): Promise<void> {
    this.keepEntry(entry);
  }

  /** A small JSON document beside the summaries (remote workspaces: the last listing's folders). */
  async readAux<T>(name: string): Promise<T | null> {
    const kept = (this.aux.get(name) as T | undefined) ?? null;
    return (this.disk && (await this.disk.readAux<T>(name))) ?? kept;
  }

  async writeAux(name: string, value: unknown): Promise<void> {
    this.aux.set(name, value);
    await this.disk?.writeAux(name, value);
  }
}

/** A summary from a cache entry (pure: the caller says where the folder is and when it was last written). */
export function buildSummary(
  entry: CacheEntry,
  where: { path: string; folder: string; lastWriteMs: number | null; now?: number; processGone?: boolean },
): ExperimentSummary {
  const { derived: d, tail } = entry;
  const fold = new MetricsFold(entry.fold);
  const status = deriveStatus({
    failed: d.failed,
    statusFile: d.statusFile,
    hasFinalCheckpoint: d.hasFinalCheckpoint,
    lastWriteMs: where.lastWriteMs,
    now: where.now,
    processGone: where.processGone,
  });
  const malformed = readerProblems(tail);
  const f = fold.state;
  const diverged = f.firstNonFinite ?? null;
  if (diverged) malformed.push(divergedProblem(diverged, fold, sourceLabel(tail)));
  const hparams = readerHparams(tail);
  return {
    path: where.path,
    folder: where.folder,
    name: d.name,
    algorithm: d.algorithm,
    model: d.model,
    // A TensorBoard run has no train records: its last step counts.
    total_steps: f.lastTrainStep ?? (isEventsState(tail) ? f.lastStep : null),
    final_loss: f.lastTrainLoss,
    final_loss_nonfinite: f.lastTrainLossNonFinite ?? null,
    diverged,
    final_eval: f.lastEval,
    status,
    startedAt: d.startedAt ?? status.startedAt ?? null,
    gitHash: d.gitHash,
    gitDirty: d.gitDirty,
    metrics: fold.metricStats(),
    records: f.records,
    malformedLines: tail.malformedCount,
    problems: foldProblems([
      ...d.problems,
      ...(entry.metricsProblem ? [entry.metricsProblem] : []),
      ...malformed,
    ]),
    ...withHparams(d.params, hparams),
    ...(d.annotations ? { annotations: d.annotations } : {}),
    ...(d.statusFile?.sweep ? { sweep: d.statusFile.sweep } : {}),
    gpu: entry.system ? gpuSummary(entry.system.fold) : null,
    recordTimes: { first: f.firstTimestamp ?? null, last: f.lastTimestamp },
  };
}
