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
import { MetricsFold } from '../../../shared/metrics-summary';
import type { ExperimentSummary } from '../../../shared/model';
import { userCacheDir } from '../app/paths';
import { metricsReadProblem, MetricsFeeds, processMetricsFeeds } from '../metrics/metrics-feed';
import { emptyTailState } from '../metrics/metrics-tail';
import { otherMetricsSource } from '../metrics/metrics-source';
import { statGrid, type StatRow } from '../workspace/fs-batch';
import { LAYOUT } from '../workspace/layout';
import { madeFrom, sigOf, sigsByKey, type CacheEntry } from './cache-entry';
import type { SummarizeOptions, Summarizer } from '../workspace/summarizer';
import type { Derived } from './derive';
import {
  LISTED_FORMAT,
  ListingCache,
  sameSig,
  sigAt,
  type FileSig,
  type StatusInputs,
} from './listing-cache';
import { finishSummary, statusInferred, summaryParts, type SummaryParts } from './summary-build';
import { SummaryDiskCache } from './summary-disk-cache';
import { CacheFlusher } from './cache-flush';
import { inDir, readDerived, resolved, SMALL_FILES, SMALL_KEYS, type SmallKey } from './small-files';
import { ACTIVITY_FILES, LISTING_INPUTS, STATTED } from './listing-inputs';

export { type Derived } from './derive';
export { flushSummaryCaches } from './cache-flush';
export { buildSummary } from './summary-build';
export { sameSig, type FileSig } from './listing-cache';
export { SMALL_KEYS, type SmallKey } from './small-files';

/**
 * The full entries of a folder's experiments are shared out among this many
 * files: a warm listing reads none of them (listing-cache.ts holds what it
 * needs), and one experiment changed reads and rewrites 1/64 of them.
 */
const ENTRY_SHARDS = 64;

/** Bump when the cache entry's shape or the summary's semantics change. */
export const CACHE_VERSION = 7;

// What every folder's stats are, and why each: listing-inputs.ts.

export type { CacheEntry } from './cache-entry';

/** The latest of some mtimes (null where a file is missing or unstattable), or null. */
function latest(mtimes: ReadonlyArray<number | null>): number | null {
  let out: number | null = null;
  for (const m of mtimes) if (m !== null && (out === null || m > out)) out = m;
  return out;
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
  private readonly disk: SummaryDiskCache<CacheEntry> | null;
  /** What a listing needs of each entry (listing-cache.ts): a warm listing reads only this. */
  private readonly listed: ListingCache | null;
  private readonly aux = new Map<string, unknown>();
  /** Stats made by prepare() for the summarize calls after it (STATTED; the logs' where statted). */
  private readonly prepared = new Map<
    string,
    { sigs: FileSig[]; activity: FileSig[] | null; summary: ExperimentSummary | null }
  >();
  private readonly flusher = new CacheFlusher({
    hasPending: () => Boolean(this.disk?.hasPending() || this.listed?.hasPending()),
    // The full entries first: a listing record never points at state a crash left unwritten
    // (either file alone is checked against the folder's files anyway).
    write: async () => {
      await this.disk?.write();
      await this.listed?.write();
    },
    reading: () => this.inflight.size > 0,
  });
  /** The metrics feeds read through (see core/metrics/metrics-feed.ts). */
  readonly feeds: MetricsFeeds;
  /** The cache folder given (or the user's), null when the disk cache is off. */
  readonly cacheRoot: string | null;

  constructor(options: SummaryStoreOptions = {}) {
    this.feeds = options.feeds ?? processMetricsFeeds;
    this.cacheRoot = options.cacheDir === false ? null : (options.cacheDir ?? userCacheDir());
    this.disk = this.cacheRoot
      ? new SummaryDiskCache(
          path.join(this.cacheRoot, `summaries-v${CACHE_VERSION}`),
          CACHE_VERSION,
          undefined,
          null,
          ENTRY_SHARDS,
        )
      : null;
    this.listed = this.cacheRoot
      ? new ListingCache(
          path.join(this.cacheRoot, `listings-v${CACHE_VERSION}.${LISTED_FORMAT}`),
          CACHE_VERSION,
          SMALL_KEYS,
        )
      : null;
  }

  /**
   * The summary of one experiment folder; concurrent calls for one folder
   * share the work. `tableOnly` (a text listing): see SummarizeOptions.
   */
  summarize(dir: string, opts: SummarizeOptions = {}): Promise<ExperimentSummary> {
    const key = resolved(dir);
    const tableOnly = opts.tableOnly === true;
    const flight = tableOnly ? `${key}\0table` : key;
    const running = this.inflight.get(flight);
    if (running) return running;
    const p = this.refresh(key, tableOnly).finally(() => this.inflight.delete(flight));
    this.inflight.set(flight, p);
    return p;
  }

  /**
   * The files prepare() stats of every folder: discovery stats them with its
   * markers, in one batch. The logs' (whose mtimes matter only where a status
   * is inferred, most seed-written runs) go with them: one round of stats.
   */
  readonly inputs: readonly string[] = LISTING_INPUTS;

  /**
   * A listing of `root` begins: read the listing cache files its experiments
   * are likely in (root's, for a folder of experiments; root/experiments',
   * for a project) while discovery's stats go on.
   */
  expect(root: string, opts: SummarizeOptions = {}): void {
    const dir = resolved(root);
    // Any key in a folder names that folder's file.
    for (const folder of [dir, inDir(dir, 'experiments')])
      void this.listed?.load(inDir(folder, '.'), opts.tableOnly === true);
  }

  /**
   * Stat every input of these folders in one batch (one message to the
   * stat worker, one promise) and load their cache file, so that the
   * summarize calls that follow only compare and build: a warm listing of
   * 5,000 experiments pays no per-file promise. `statted`: the stats of
   * `inputs` discovery took already, by folder. Call the returned function
   * when done; signatures not used by then are dropped (never reused later).
   */
  async prepare(
    dirs: string[],
    opts: SummarizeOptions = {},
    statted?: ReadonlyMap<string, StatRow>,
  ): Promise<() => void> {
    const keys = dirs.map(resolved);
    const stat = async (names: string[], at: string[]): Promise<FileSig[][]> => {
      const grid = await statGrid(at, names);
      return at.map((_, i) => names.map((_n, j) => sigAt(grid, i, j)));
    };
    // The inputs not statted yet, while the listing cache is read.
    const unstatted = statted ? keys.filter((k) => !statted.has(k)) : keys;
    const [fresh] = await Promise.all([
      unstatted.length ? stat(STATTED, unstatted) : [],
      keys.length ? this.listed?.load(keys[0]!, opts.tableOnly === true) : null,
    ]);
    const freshOf = new Map(unstatted.map((k, i) => [k, fresh[i]!] as const));
    const tableOnly = opts.tableOnly === true;
    const n = STATTED.length;
    // From discovery's stats where the listing record holds (a warm listing: all), compared as
    // numbers; the others' signatures as objects, for the full path.
    const slow: string[] = [];
    const rows = new Map<string, { sigs: FileSig[]; activity: FileSig[] | null }>();
    for (const k of keys) {
      const given = statted?.get(k);
      if (given && this.fromGrid(k, given, tableOnly)) continue;
      slow.push(k);
      if (!given) rows.set(k, { sigs: freshOf.get(k)!, activity: null });
      else {
        const all = given.cols.map((j) => sigAt(given.grid, given.row, j));
        rows.set(k, { sigs: all.slice(0, n), activity: all.slice(n) });
      }
    }
    // The logs' mtimes where not statted yet and a status may be inferred (the
    // listing cache's status inputs without a promise each, where it answers).
    const need = slow.filter((k) => !rows.get(k)!.activity);
    const known: (StatusInputs | Derived | null | undefined)[] = need.map((k) =>
      this.listed?.peekStatusInputs(k),
    );
    await Promise.all(
      need.map(async (k, i) => {
        if (!known[i]) known[i] = (await this.listed?.statusInputs(k)) ?? (await this.loadEntry(k))?.derived;
      }),
    );
    const inferred = need.filter((_, i) => !known[i] || statusInferred(known[i]!));
    (await stat(ACTIVITY_FILES, inferred)).forEach((a, i) => (rows.get(inferred[i]!)!.activity = a));
    // Where the listing cache still holds, the summary now, without a promise each.
    const ns = SMALL_KEYS.length;
    for (const k of slow) {
      const { sigs: s, activity: act } = rows.get(k)!;
      const now = { sigs: s, metricsSig: s[ns]!, systemSig: s[ns + 1]! };
      // No metrics.jsonl: its source (TensorBoard, MLflow) is looked up by summarize.
      const seen = now.metricsSig && this.listed ? this.listed.peek(k, now, tableOnly) : null;
      const parts = seen === undefined ? await this.listed!.get(k, now, tableOnly) : seen;
      const summary = parts && this.finishWith(parts, k, now.metricsSig, act ?? []);
      this.prepared.set(k, { sigs: s, activity: act, summary });
    }
    return () => {
      for (const k of keys) this.prepared.delete(k);
    };
  }

  /** The grid's columns of STATTED, of the columns of `inputs` discovery hands over (one array for all rows). */
  private tableCols: { of: readonly number[]; cols: readonly number[]; writes: readonly number[] } | null =
    null;

  /**
   * A warm listing's summary of `dir` from discovery's stats (its grid row),
   * when its listing record was made from files with these signatures:
   * compared as numbers, no object a file. True when it is made.
   */
  private fromGrid(dir: string, given: StatRow, tableOnly: boolean): boolean {
    const ns = SMALL_KEYS.length;
    const n = STATTED.length;
    const { grid, row } = given;
    // No metrics.jsonl (its source, TensorBoard or MLflow, is looked up by summarize) or an unstattable one.
    if (
      !this.listed ||
      given.cols.length !== this.inputs.length ||
      grid.exists(row, given.cols[ns]!) !== true
    )
      return false;
    if (this.tableCols?.of !== given.cols)
      this.tableCols = { of: given.cols, cols: given.cols.slice(0, n), writes: [ns, n, n + 1] };
    const { cols, writes } = this.tableCols;
    const parts = this.listed.peekGrid(dir, { grid, row, cols }, tableOnly);
    if (!parts) return false;
    // The status inferred from recent writes: the latest of metrics.jsonl's and the logs' mtimes.
    const lastWriteMs = statusInferred(parts)
      ? latest(writes.map((j) => grid.mtimeMs(row, given.cols[j]!)))
      : null;
    this.prepared.set(dir, { sigs: [], activity: null, summary: this.finishAt(parts, dir, lastWriteMs) });
    return true;
  }

  /** The summary prepare() made of `dir` from the listing cache, without a promise; else undefined (summarize it). */
  takePrepared(dir: string): ExperimentSummary | undefined {
    const key = resolved(dir);
    const summary = this.prepared.get(key)?.summary;
    if (summary) this.prepared.delete(key);
    return summary ?? undefined;
  }

  private async loadEntry(dir: string): Promise<CacheEntry | null> {
    return this.memory.get(dir) ?? (this.disk ? this.disk.get(dir) : null);
  }

  /**
   * Keep a refreshed entry, and write it to the disk cache later: a first
   * listing must not wait for the write. Losing unwritten entries (a crash)
   * only costs a re-read.
   */
  private keepEntry(entry: CacheEntry, parts: SummaryParts | null = null, tableOnly = false): void {
    this.memory.set(entry.dir, entry);
    if (!this.disk) return;
    this.keepListed(entry, parts, tableOnly);
    this.disk.put(entry);
  }

  /** Keep an entry's listing record (written with the next flush, after the full entries). */
  private keepListed(entry: CacheEntry, parts: SummaryParts | null, tableOnly: boolean): void {
    if (!this.disk) return;
    this.flusher.willKeep();
    if (parts) this.listed?.put(entry.dir, madeFrom(entry), parts, tableOnly);
    this.flusher.kept();
  }

  /**
   * Write the entries kept since the last flush; resolves when they are on
   * disk (or failed to be).
   */
  flush(): Promise<void> {
    return this.flusher.flush();
  }

  private async refresh(dir: string, tableOnly: boolean): Promise<ExperimentSummary> {
    const jsonlFile = inDir(dir, LAYOUT.metrics);
    const systemFile = inDir(dir, LAYOUT.system);
    // Every signature and the cached entry at once: a listing's cost is these stats.
    const pre = this.prepared.get(dir);
    this.prepared.delete(dir);
    if (pre?.summary) return pre.summary;
    const ns = SMALL_KEYS.length;
    const [sigList, jsonlSig, systemSig] = pre
      ? [pre.sigs.slice(0, ns), pre.sigs[ns]!, pre.sigs[ns + 1]!]
      : await Promise.all([
          Promise.all(SMALL_KEYS.map((k) => sigOf(inDir(dir, SMALL_FILES[k])))),
          sigOf(jsonlFile),
          sigOf(systemFile),
        ]);
    // No metrics.jsonl: a TensorBoard run's event files or an MLflow run's metrics, if the folder holds some.
    const tb = jsonlSig === null ? await otherMetricsSource(dir) : null;
    const metricsFile = tb ? tb.file : jsonlFile;
    const metricsSig = tb ? tb.sig : jsonlSig;
    const sigs = sigsByKey(sigList);
    // Nothing changed since the listing record: the summary without the full entry (a warm listing).
    const listed = await this.listed?.get(dir, { sigs: sigList, metricsSig, systemSig }, tableOnly);
    if (listed) return this.finish(listed, dir, metricsSig, pre?.activity ?? undefined);

    const cached = await this.loadEntry(dir);
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
        derived: await readDerived(dir, sigs),
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
    const parts = summaryParts(entry);
    if (changed) this.keepEntry(entry, parts, tableOnly);
    else {
      // The full entry holds, the listing record was missing or stale (a crash between writes, an older version).
      this.memory.set(dir, entry);
      this.keepListed(entry, parts, tableOnly);
    }
    return this.finish(parts, dir, metricsSig, pre?.activity ?? undefined);
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

  private async finish(
    parts: SummaryParts,
    dir: string,
    metricsSig: FileSig,
    activitySigs?: FileSig[],
  ): Promise<ExperimentSummary> {
    // The logs' mtimes only matter to a status inferred from recent writes.
    const activity =
      activitySigs ??
      (statusInferred(parts) ? await Promise.all(ACTIVITY_FILES.map((f) => sigOf(inDir(dir, f)))) : []);
    return this.finishWith(parts, dir, metricsSig, activity);
  }

  /** The summary, given the logs' signatures where the status is inferred (else unused). */
  private finishWith(
    parts: SummaryParts,
    dir: string,
    metricsSig: FileSig,
    activity: FileSig[],
  ): ExperimentSummary {
    const lastWriteMs = statusInferred(parts)
      ? latest([metricsSig, ...activity].map((s) => (s && s.mtimeMs >= 0 ? s.mtimeMs : null)))
      : null;
    return this.finishAt(parts, dir, lastWriteMs);
  }

  /** The summary of a resolved folder, given when its files were last written (where the status is inferred). */
  private finishAt(parts: SummaryParts, dir: string, lastWriteMs: number | null): ExperimentSummary {
    // dir is resolved (no trailing separator): its last name without path.basename's checks.
    const folder = dir.slice(dir.lastIndexOf(path.sep) + 1);
    return finishSummary(parts, { lastWriteMs, path: dir, folder });
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
