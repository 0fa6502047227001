/**
 * Per-experiment summaries, cached in memory and on disk under the user's
 * cache folder (never inside the experiment: analysis is read-only), keyed by
 * the folder's path and validated by each input file's (inode, size, mtime).
 * When only metrics.jsonl changed and it grew, the cached reader state
 * resumes at its byte offset, so a live run costs O(appended) per refresh.
 * metrics.jsonl is read through the experiment's MetricsFeed
 * (core/metrics/metrics-feed.ts), shared with the charts' series store: each
 * line is parsed once for both.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { MetricsFold, type MetricsFoldState } from '../../../shared/metrics-summary';
import { flattenConfig } from '../../../shared/config-diff';
import { LISTED_CONFIG_KEYS } from '../../../shared/listed-config';
import type { ExperimentSummary, JsonValue, Problem } from '../../../shared/model';
import { foldProblems } from '../../../shared/problems';
import { userCacheDir } from '../app/paths';
import { metricsReadProblem, MetricsFeeds, processMetricsFeeds } from '../metrics/metrics-feed';
import { emptyTailState, type MetricsTailState } from '../metrics/metrics-tail';
import { divergedProblem } from '../metrics/line-faults';
import {
  isEventsState,
  readerHparams,
  readerProblems,
  tfeventsSource,
  withHparams,
} from '../metrics/metrics-source';
import { readText, statSig, writeAtomic } from '../workspace/fs-batch';
import {
  configFromText,
  failedFromText,
  jsonObjectFromText,
  readSmallFile,
  type FailedInfo,
  type JsonObject,
  type Parsed,
  type SmallFileText,
} from '../workspace/files';
import { LAYOUT } from '../workspace/layout';
import type { Summarizer } from '../workspace/summarizer';
import { deriveStatus, parseStatusFile, type StatusFile } from '../workspace/status';

/** A cache entry or aux document larger than this is damaged (or not ours): rebuilt instead of read. */
const CACHE_MAX_BYTES = 64 * 1024 * 1024;

/** Bump when the cache entry's shape or the summary's semantics change. */
export const CACHE_VERSION = 5;

export type FileSig = { size: number; mtimeMs: number; ino: number } | null;

const SMALL_FILES = {
  config: LAYOUT.config,
  metadata: LAYOUT.metadata,
  failed: LAYOUT.failed,
  status: LAYOUT.status,
  final: path.join(LAYOUT.checkpoints, 'final'),
} as const;
export type SmallKey = keyof typeof SMALL_FILES;
export const SMALL_KEYS = Object.keys(SMALL_FILES) as SmallKey[];
/**
 * Logs whose mtime tells whether a seed-written run is still writing, besides
 * logs/metrics.jsonl (statted anyway). Only statted when no status file,
 * FAILED.txt or final checkpoint decides the status.
 */
const ACTIVITY_FILES = [path.join(LAYOUT.logs, 'train.log'), path.join(LAYOUT.logs, 'train_rank0.log')];

/** What a summary needs from the small files; cached until one of them changes. */
export interface Derived {
  name: string;
  algorithm: string | null;
  model: string | null;
  startedAt: string | null;
  gitHash: string | null;
  gitDirty: boolean | null;
  failed: FailedInfo | null;
  statusFile: StatusFile | null;
  hasFinalCheckpoint: boolean;
  problems: Problem[];
  /** The config's LISTED_CONFIG_KEYS values (absent in entries written by older versions). */
  params?: Record<string, JsonValue>;
}

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

function getPath(obj: JsonObject | null, ...keys: string[]): JsonValue | undefined {
  let cur: JsonValue | undefined = obj ?? undefined;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function str(v: JsonValue | undefined): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/** Cache writes wait for this long without a summary being read, so a listing never waits for them… */
const FLUSH_DELAY_MS = 200;
/** …but no longer than this while summaries keep being read (a watcher refreshing live runs). */
const FLUSH_MAX_WAIT_MS = 5_000;
/** Cache files written per batch, so a listing's stats are never queued behind thousands of writes. */
const FLUSH_CHUNK = 128;

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

export interface SummaryStoreOptions {
  /** Cache folder; defaults to userCacheDir(). `false` disables the disk cache. */
  cacheDir?: string | false;
  /** The metrics feeds to read through; by default the process's (shared with the series store). */
  feeds?: MetricsFeeds;
}

export class SummaryStore implements Summarizer {
  private readonly memory = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<ExperimentSummary>>();
  private readonly cacheDir: string | null;
  private readonly aux = new Map<string, unknown>();
  /** Entries summarized but not yet written to the disk cache, by folder. */
  private readonly dirty = new Map<string, CacheEntry>();
  private flushTimer: NodeJS.Timeout | null = null;
  private dirtySince = 0;
  private flushing: Promise<void> | null = null;
  /** The metrics feeds read through (see core/metrics/metrics-feed.ts). */
  readonly feeds: MetricsFeeds;
  /** The cache folder given (or the user's), null when the disk cache is off. */
  readonly cacheRoot: string | null;

  constructor(options: SummaryStoreOptions = {}) {
    this.feeds = options.feeds ?? processMetricsFeeds;
    this.cacheRoot = options.cacheDir === false ? null : (options.cacheDir ?? userCacheDir());
    this.cacheDir = this.cacheRoot && path.join(this.cacheRoot, `summaries-v${CACHE_VERSION}`);
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

  private cacheFile(dir: string): string | null {
    if (!this.cacheDir) return null;
    const hash = createHash('sha256').update(dir).digest('hex').slice(0, 40);
    return path.join(this.cacheDir, `${hash}.json`);
  }

  private async loadEntry(dir: string): Promise<CacheEntry | null> {
    const mem = this.memory.get(dir);
    if (mem) return mem;
    const file = this.cacheFile(dir);
    if (!file) return null;
    try {
      const entry = JSON.parse(await readText(file, CACHE_MAX_BYTES)) as CacheEntry;
      return entry.version === CACHE_VERSION && entry.dir === dir ? entry : null;
    } catch {
      return null; // no cache yet, or a damaged one: rebuild
    }
  }

  /**
   * Keep a refreshed entry, and write it to the disk cache later: creating
   * 5,000 cache files costs seconds on some disks, which a first listing must
   * not wait for. Losing unwritten entries (a crash) only costs a re-read.
   */
  private keepEntry(entry: CacheEntry): void {
    this.memory.set(entry.dir, entry);
    if (!this.cacheDir) return;
    if (this.dirty.size === 0) this.dirtySince = Date.now();
    this.dirty.set(entry.dir, entry);
    unflushed.add(this);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.flushing) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flush(false);
    }, FLUSH_DELAY_MS);
    this.flushTimer.unref();
  }

  /** Whether background writes should wait: summaries are being read (a listing), for not too long. */
  private yielding(): boolean {
    return this.inflight.size > 0 && Date.now() - this.dirtySince < FLUSH_MAX_WAIT_MS;
  }

  /**
   * Write the entries kept since the last flush; resolves when they are on
   * disk (or failed to be). In the background (`all` false) it stops between
   * chunks while summaries are being read, and goes on later.
   */
  async flush(all = true): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    while (this.flushing) await this.flushing;
    if (this.dirty.size === 0) {
      unflushed.delete(this);
      return;
    }
    this.flushing = (async () => {
      while (this.dirty.size > 0 && (all || !this.yielding())) {
        const chunk = [...this.dirty.values()].slice(0, FLUSH_CHUNK);
        for (const e of chunk) this.dirty.delete(e.dir);
        await Promise.all(
          chunk.map((e) => {
            const file = this.cacheFile(e.dir);
            return file ? this.writeCacheFile(file, JSON.stringify(e)) : undefined;
          }),
        );
      }
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
      if (this.dirty.size === 0) unflushed.delete(this);
      else this.scheduleFlush();
    }
  }

  private async saveEntry(entry: CacheEntry): Promise<void> {
    this.memory.set(entry.dir, entry);
    const file = this.cacheFile(entry.dir);
    if (!file) return;
    await this.writeCacheFile(file, JSON.stringify(entry));
  }

  /** Write one cache file atomically (temp file, rename); failures only cost speed. */
  private async writeCacheFile(file: string, text: string): Promise<void> {
    try {
      await writeAtomic(file, text);
    } catch {
      // The disk cache is an optimisation: a read-only or full cache folder only costs speed.
    }
  }

  private async refresh(dir: string): Promise<ExperimentSummary> {
    const jsonlFile = inDir(dir, LAYOUT.metrics);
    // Every signature and the cached entry at once: a listing's cost is these stats.
    const [sigList, jsonlSig, cached] = await Promise.all([
      Promise.all(SMALL_KEYS.map((k) => sigOf(inDir(dir, SMALL_FILES[k])))),
      sigOf(jsonlFile),
      this.loadEntry(dir),
    ]);
    // No metrics.jsonl: a TensorBoard run's event files, if the folder holds some.
    const tb = jsonlSig === null ? await tfeventsSource(dir) : null;
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
      };
      changed = true;
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
    return this.build(entry, metricsSig);
  }

  /** Read the small files whose signatures say they exist (a missing one is never opened). */
  private async readDerived(dir: string, sigs: Record<SmallKey, FileSig>): Promise<Derived> {
    const [config, metadata, failed, statusRaw] = await Promise.all([
      readKnown(dir, 'config', sigs.config),
      readKnown(dir, 'metadata', sigs.metadata),
      readKnown(dir, 'failed', sigs.failed),
      readKnown(dir, 'status', sigs.status),
    ]);
    return deriveFields(
      path.basename(dir),
      {
        config: configFromText(config),
        metadata: jsonObjectFromText(metadata, LAYOUT.metadata),
        failed: failedFromText(failed),
        statusRaw: jsonObjectFromText(statusRaw, LAYOUT.status),
      },
      sigs.final !== null,
    );
  }

  private async build(entry: CacheEntry, metricsSig: FileSig): Promise<ExperimentSummary> {
    const d = entry.derived;
    // The logs' mtimes only matter to a status inferred from recent writes.
    const inferred = !d.failed && !d.statusFile && !d.hasFinalCheckpoint;
    const activity = inferred
      ? [metricsSig, ...(await Promise.all(ACTIVITY_FILES.map((f) => sigOf(inDir(entry.dir, f)))))]
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

  async putEntry(entry: CacheEntry): Promise<void> {
    await this.saveEntry(entry);
  }

  /** A small JSON document beside the summaries (remote workspaces: the last listing's folders). */
  async readAux<T>(name: string): Promise<T | null> {
    const file = this.cacheFile(`aux:${name}`);
    if (!file) return (this.aux.get(name) as T | undefined) ?? null;
    try {
      return JSON.parse(await readText(file, CACHE_MAX_BYTES)) as T;
    } catch {
      return (this.aux.get(name) as T | undefined) ?? null;
    }
  }

  async writeAux(name: string, value: unknown): Promise<void> {
    this.aux.set(name, value);
    const file = this.cacheFile(`aux:${name}`);
    if (!file) return;
    await this.writeCacheFile(file, JSON.stringify(value));
  }
}

/** The fields a summary takes from the small files (pure: local and remote folders share it). */
export function deriveFields(
  folder: string,
  files: {
    config: Parsed<JsonObject>;
    metadata: Parsed<JsonObject>;
    failed: Parsed<FailedInfo>;
    statusRaw: Parsed<JsonObject>;
  },
  hasFinalCheckpoint: boolean,
): Derived {
  const { config, metadata, failed, statusRaw } = files;
  const status = statusRaw.value ? parseStatusFile(statusRaw.value) : { value: null, problems: [] };
  const c = config.value;
  const m = metadata.value;
  const dirty = getPath(m, 'git_dirty');
  const flat = c ? flattenConfig(c) : {};
  const params: Record<string, JsonValue> = {};
  for (const k of LISTED_CONFIG_KEYS) if (Object.prototype.hasOwnProperty.call(flat, k)) params[k] = flat[k]!;
  return {
    name: str(getPath(c, 'experiment', 'name')) ?? str(getPath(m, 'name')) ?? folder,
    algorithm: str(getPath(c, 'algorithm', 'name')),
    model: str(getPath(c, 'model', 'name')),
    startedAt: str(getPath(m, 'started_at')),
    gitHash: str(getPath(m, 'git_hash')),
    gitDirty: typeof dirty === 'boolean' ? dirty : null,
    failed: failed.value,
    statusFile: status.value,
    hasFinalCheckpoint,
    params,
    problems: [
      ...config.problems,
      ...metadata.problems,
      ...failed.problems,
      ...statusRaw.problems,
      ...status.problems,
    ],
  };
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
  const hparams = readerHparams(tail);
  const events = 'files' in tail; // a TensorBoard run's reader (EventsTailState)
  if (diverged) malformed.push(divergedProblem(diverged, fold, events ? 'events.out.tfevents.*' : undefined));
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
    ...(d.statusFile?.sweep ? { sweep: d.statusFile.sweep } : {}),
  };
}
