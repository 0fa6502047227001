/**
 * Listing and reading experiments on a remote workspace with a bounded number
 * of round trips: ONE remote command (the helper's `gather`) discovers the
 * workspace with discover.ts's rules and returns, per experiment, the small
 * files, stat signatures and the metrics.jsonl bytes after the offset this
 * client already has. Those bytes join the experiment's local metrics mirror
 * (RemoteMetricsMirror, shared with the charts), and the experiment's
 * MetricsFeed reads them from there — once, for the summary and the chart
 * series alike — so each byte crosses the link once. The summary logic stays
 * the TypeScript one (MetricsFeed, MetricsFold, deriveFields, deriveStatus):
 * the remote ships bytes, never summaries. Cache entries live in the
 * SummaryStore under the experiment's `ssh://…` location, so a second listing
 * — even from a new process — transfers only what changed. Only metrics larger
 * than one answer's budget cost follow-up calls (bounded by data size).
 */
import type { ExperimentDetail, ExperimentSummary, WorkspaceListing } from '../../../shared/model';
import { MetricsFold } from '../../../shared/metrics-summary';
import {
  formatRemoteLocation,
  remoteBasename,
  remoteJoin,
  withRemotePath,
  type RemoteLocation,
} from '../../../shared/remote-location';
import type { MetricsFeeds } from '../metrics/metrics-feed';
import { emptyTailState } from '../metrics/metrics-tail';
import {
  buildSummary,
  CACHE_VERSION,
  sameSig,
  SMALL_KEYS,
  type FileSig,
  type SmallKey,
  type SummaryStore,
} from '../summary/summary-store';
import { deriveFields } from '../summary/derive-fields';
import { WorkspaceError } from '../workspace/discover';
import type { KeptListing } from '../workspace/summarizer';
import { configFromText, failedFromText, jsonObjectFromText, type SmallFileText } from '../workspace/files';
import { LAYOUT } from '../workspace/layout';
import { limiter } from '../../../shared/map-limited';
import { mapLimited, unreadableSummary } from '../workspace/workspace';
import type { GatherAnswer, GatherHint, GatherRequest, WireExperiment, WireSig } from './protocol';
import { RemoteMetricsMirror, type Accepted } from './remote-metrics';
import { RemoteRunFiles, type RunKind } from './remote-run-files';
import { compareRel, detailOf, osErrorText, scratchMirrorRoot, textOf, toSig, toWire } from './remote-wire';
import { callRemote, primeItemChecks, type HelperHost } from './remote-python';
import {
  absorbSystem,
  acceptBytes,
  coreError,
  feedFrom,
  freshRead,
  streamPosition,
  systemHint,
} from './remote-stream';
import { REMOTE_ENTRY_VERSION, TEXT_FILES, TEXT_KEYS, type RemoteEntry, type TextKey } from './remote-entry';

/** Metrics bytes per experiment per answer, and per answer in all. */
const MAX_BYTES_PER_EXPERIMENT = 16 * 1024 * 1024;
const MAX_TOTAL_BYTES = 64 * 1024 * 1024;
/** Experiments whose hints are made, or whose answers are absorbed (mirror and feed), at once. */
const ABSORB_CONCURRENCY = 16;
/** Follow-up calls for metrics larger than one answer: bounded so a runaway file cannot loop forever. */
const MAX_FOLLOW_UPS = 64;

export class RemoteWorkspace {
  /** The local copies of the experiments' metrics: every metrics byte received goes there, once. */
  readonly mirror: RemoteMetricsMirror;
  /** The local copies of TensorBoard and MLflow runs' metric files (beside the metrics mirrors). */
  readonly runs: RemoteRunFiles;
  private readonly feeds: MetricsFeeds;

  constructor(
    /** The SSH connection (or, in the parity tests, a local shell) that runs the helper. */
    readonly conn: HelperHost,
    /** The endpoint (user, host, port as the user wrote them); its path is ignored. */
    readonly endpoint: RemoteLocation,
    private readonly store: SummaryStore,
    /** By default the mirrors in the store's cache folder (shared in the process with the charts'). */
    mirror?: RemoteMetricsMirror,
  ) {
    this.mirror = mirror ?? new RemoteMetricsMirror(store.cacheRoot ?? scratchMirrorRoot());
    this.runs = new RemoteRunFiles(this.mirror.root);
    this.feeds = store.feeds;
  }

  /** What the helper is told this client has of an experiment (no entry: only the mirror's bytes). */
  private async hintOf(key: string, entry: RemoteEntry | null): Promise<GatherHint> {
    const sigs: Record<string, WireSig> = {};
    const at = await streamPosition(this.mirror, key, entry?.remote.other ? undefined : entry?.tail);
    if (entry) {
      for (const k of SMALL_KEYS) sigs[k] = toWire(entry.sigs[k]);
      // A mirror shorter than what was read of it (its cache folder cleaned): ask for the metrics again.
      sigs.metrics = at.offset >= entry.tail.offset ? toWire(entry.metricsSig) : null;
    }
    const system = await systemHint(this.mirror, key, entry?.system, Boolean(entry?.remote.systemMore));
    if (entry) sigs.system = system.sig;
    // What the run mirror holds (asked only where the folder may be a TensorBoard or MLflow run).
    const files = !entry || entry.remote.other ? await this.runs.known(key) : {};
    return {
      sigs,
      offset: at.offset,
      fingerprint: at.fingerprint,
      more: entry?.remote.more || undefined,
      system_offset: system.offset,
      system_fingerprint: system.fingerprint,
      system_more: system.more,
      ...(Object.keys(files).length > 0 ? { files } : {}),
    };
  }

  /** Bring the experiment's feed up to its mirror (the bytes just added from memory); the entry takes its state and fold. */
  private async readFeed(entry: RemoteEntry, added?: Accepted['added'], only?: boolean): Promise<boolean> {
    const feed = this.feeds.open(this.mirror.fileOf(entry.dir), () => ({
      tail: entry.tail,
      fold: entry.fold,
      ino: null, // the mirror's own inode is learnt on the first read; the fingerprint decides until then
    }));
    const took = await feedFrom(this.mirror, entry.dir, feed, added, only);
    entry.tail = feed.tailState;
    entry.fold = feed.foldState;
    return took;
  }

  /** Forget an experiment's feed: its reader state starts over. */
  private forgetFeed(key: string): Pick<RemoteEntry, 'tail' | 'fold'> {
    this.feeds.forget(this.mirror.fileOf(key));
    return freshRead();
  }

  /** The `ssh://…` text of a remote path on this endpoint. */
  locate(p: string): string {
    return formatRemoteLocation(withRemotePath(this.endpoint, p));
  }

  private async loadEntry(key: string): Promise<RemoteEntry | null> {
    const e = (await this.store.getEntry(key)) as RemoteEntry | null;
    return e && e.remote?.version === REMOTE_ENTRY_VERSION ? e : null;
  }

  /** Fold one gathered experiment into its cache entry (its metrics bytes into the mirror and the feed). */
  private async absorb(key: string, g: WireExperiment, cached: RemoteEntry | null): Promise<RemoteEntry> {
    const sigs = Object.fromEntries(SMALL_KEYS.map((k) => [k, toSig(g.sigs?.[k])])) as Record<
      SmallKey,
      FileSig
    >;
    const texts = {} as Record<TextKey, SmallFileText>;
    for (const k of TEXT_KEYS) {
      const sent = g.texts && k in g.texts;
      // Not sent means unchanged since the hint: keep the cached text.
      texts[k] = sent ? textOf(g.texts![k], TEXT_FILES[k]) : (cached?.remote.texts[k] ?? { text: null });
    }
    const smallSame =
      cached !== null &&
      SMALL_KEYS.every((k) => sameSig(sigs[k], cached.sigs[k])) &&
      !TEXT_KEYS.some((k) => g.texts && k in g.texts);
    const derived = smallSame
      ? cached.derived
      : deriveFields(
          remoteBasename(g.path),
          {
            config: configFromText(texts.config),
            metadata: jsonObjectFromText(texts.metadata, LAYOUT.metadata),
            failed: failedFromText(texts.failed),
            statusRaw: jsonObjectFromText(texts.status, LAYOUT.status),
            notes: texts.annotations.text,
          },
          sigs.final !== null,
        );
    const entry: RemoteEntry = {
      version: CACHE_VERSION,
      dir: key,
      sigs,
      metricsSig: cached?.metricsSig ?? null,
      derived,
      tail: cached?.tail ?? emptyTailState(),
      fold: cached?.fold ?? new MetricsFold().state,
      metricsProblem: cached?.metricsProblem ?? null,
      remote: { version: REMOTE_ENTRY_VERSION, texts, more: false },
    };
    const system = await absorbSystem(
      { mirror: this.mirror, conn: this.conn, feeds: this.feeds },
      key,
      g,
      cached?.system,
    );
    entry.system = system.system;
    entry.remote.systemMore = system.more;
    const metricsSig = toSig(g.sigs?.metrics);
    if (metricsSig === null && g.other_metrics && g.run_files) {
      if (cached?.remote.other !== g.other_metrics) Object.assign(entry, freshRead());
      return this.absorbRun(key, g.other_metrics, g.run_files, entry);
    }
    if (metricsSig === null) {
      Object.assign(entry, { metricsProblem: null, metricsSig: null }, this.forgetFeed(key));
      if ((await this.mirror.position(key)).offset > 0) await this.mirror.clear(key);
      return entry;
    }
    const m = g.metrics;
    if (!m) return entry; // unchanged since the hint
    if (!('data' in m)) {
      // Refusals come in the local words ("logs/metrics.jsonl is a FIFO, …", permission denied);
      // other system errors carry errno and syscall, worded as Node words them.
      const message = m.error.startsWith('cannot read: ') ? `cannot read: ${osErrorText(m)}` : m.error;
      entry.metricsProblem = { file: LAYOUT.metrics, message };
      return entry;
    }
    entry.metricsProblem = null;
    // Read before, but the answer starts over (replaced; no mirror kept): so does the reader.
    if (m.start === 0 && entry.tail.offset > 0) Object.assign(entry, this.forgetFeed(key));
    const got = await acceptBytes(
      this.mirror,
      this.conn,
      { location: key, remotePath: g.path },
      m,
      metricsSig.ino,
      (added, only) => this.readFeed(entry, added, only),
    );
    if (got === 'again') {
      // The answer does not continue the mirror (now empty), or the feed's: ask again from the start.
      Object.assign(entry, this.forgetFeed(key), { metricsSig: null });
      entry.remote.more = true;
      return entry;
    }
    entry.remote.more = got.more;
    // The signature is recorded only once everything up to it was read.
    entry.metricsSig = entry.remote.more ? null : metricsSig;
    return entry;
  }

  /** A TensorBoard or MLflow run: read from its files' mirror (RemoteRunFiles.feed). */
  private async absorbRun(
    key: string,
    kind: RunKind,
    files: NonNullable<WireExperiment['run_files']>,
    entry: RemoteEntry,
  ): Promise<RemoteEntry> {
    if ((await this.mirror.position(key)).offset > 0) await this.mirror.clear(key);
    const got = await this.runs.feed(this.feeds, key, kind, files, entry);
    Object.assign(entry, { tail: got.tail, fold: got.fold, metricsProblem: got.problem, metricsSig: null });
    entry.remote.other = kind;
    entry.remote.more = got.more;
    return entry;
  }

  private summaryOf(entry: RemoteEntry, g: WireExperiment, nowMs: number): ExperimentSummary {
    return buildSummary(entry, {
      path: entry.dir,
      folder: remoteBasename(g.path),
      lastWriteMs: g.last_write_ms ?? null,
      now: nowMs,
      // Checked on the remote: the local process table says nothing about it.
      processGone: g.pid_alive === false,
    });
  }

  /**
   * Gather, then fetch the rest of any metrics file larger than one answer.
   * Returns the experiments' entries in the order gathered.
   */
  private async gatherAndAbsorb(
    request: Omit<GatherRequest, 'op'>,
  ): Promise<{ result: GatherAnswer; entries: Map<string, RemoteEntry> }> {
    const hints: Record<string, GatherHint> = request.hints ?? {};
    // Each experiment is absorbed (mirror and feed, side by side) as soon as it arrives, while the
    // helper still reads the next ones: the answer's ~6 MB of metrics are parsed during its transfer.
    const absorbing: Array<Promise<RemoteEntry | null>> = [];
    const gate = limiter(ABSORB_CONCURRENCY);
    const absorbOne = (g: WireExperiment): void => {
      const done =
        g.error || g.unreadable
          ? Promise.resolve(null)
          : gate(async () => {
              const key = this.locate(g.path);
              const cached = (await this.loadEntry(key)) ?? null;
              return this.absorb(key, g, hints[g.path] ? cached : null);
            });
      done.catch(() => {}); // handled below, once the answer is in (not an unhandled rejection meanwhile)
      absorbing.push(done);
    };
    // While the channel opens and the remote starts (~2 round trips), set up what the answer needs.
    const prime = setTimeout(() => {
      primeItemChecks();
      compareRel([], ['']); // the collator ordering the folders (~10 ms to make)
    });
    let result: GatherAnswer;
    try {
      result = await callRemote(
        this.conn,
        {
          op: 'gather',
          max_bytes_per_experiment: MAX_BYTES_PER_EXPERIMENT,
          max_total_bytes: MAX_TOTAL_BYTES,
          ...request,
        },
        { retry: true, onItem: absorbOne },
      );
    } catch (err) {
      clearTimeout(prime);
      // What was absorbed is recorded (its mirrors already hold the bytes): the next call starts there.
      for (const r of await Promise.allSettled(absorbing))
        if (r.status === 'fulfilled' && r.value) await this.store.putEntry(r.value);
      throw coreError(err);
    }
    const absorbed = await Promise.all(absorbing);
    const entries = new Map<string, RemoteEntry>();
    const byPath = new Map<string, WireExperiment>();
    result.experiments.forEach((g, i) => {
      const entry = absorbed[i];
      if (!entry) return;
      entries.set(g.path, entry);
      byPath.set(g.path, g);
    });
    for (let round = 0; round < MAX_FOLLOW_UPS; round++) {
      const pending = [...entries].filter(([, e]) => e.remote.more || e.remote.systemMore);
      if (pending.length === 0) break;
      const more = await callRemote(
        this.conn,
        {
          op: 'gather',
          root: null,
          experiments: pending.map(([p]) => p),
          hints: Object.fromEntries(
            await Promise.all(pending.map(async ([p, e]) => [p, await this.hintOf(e.dir, e)] as const)),
          ),
          max_bytes_per_experiment: MAX_BYTES_PER_EXPERIMENT,
          max_total_bytes: MAX_TOTAL_BYTES,
        },
        { retry: true },
      );
      for (const g of more.experiments) {
        const prev = entries.get(g.path);
        if (!prev || g.error || g.unreadable) continue;
        entries.set(g.path, await this.absorb(prev.dir, g, prev));
        byPath.set(g.path, { ...byPath.get(g.path)!, ...g, texts: g.texts });
      }
      result.now_ms = more.now_ms;
    }
    for (const e of entries.values()) await this.store.putEntry(e);
    result.experiments = result.experiments.map((g) => byPath.get(g.path) ?? g);
    return { result, entries };
  }

  private async hintsFor(paths: string[]): Promise<Record<string, GatherHint>> {
    const hints: Record<string, GatherHint> = {};
    const found = await mapLimited(paths, ABSORB_CONCURRENCY, async (p) => {
      const key = this.locate(p);
      const e = await this.loadEntry(key);
      return { e, hint: await this.hintOf(key, e) };
    });
    paths.forEach((p, i) => {
      const { e, hint } = found[i]!;
      if (e || hint.offset > 0 || hint.files) hints[p] = hint;
    });
    return hints;
  }

  /** List a remote workspace (same shapes and rules as a local one). */
  async list(root: string): Promise<WorkspaceListing> {
    const listed = await this.listUnlessKept(root, undefined);
    if (listed.unchanged) throw new Error('a listing asked for no kept table answered unchanged');
    return listed.listing;
  }

  /**
   * list(), unless the text table kept from an earlier listing still holds:
   * `kept` is its fingerprint (null: none kept; undefined: ask for none).
   * The helper digests what the listing is made from (its discovery and
   * every file it stats) and answers `unchanged`, with no experiment, when
   * that is `kept`; else the listing comes with its fingerprint (null where
   * it cannot be kept).
   */
  async listUnlessKept(root: string, kept: string | null | undefined): Promise<KeptListing> {
    const indexKey = `remote-index:${this.locate(root)}`;
    // The hints are read from the cache while the handshake's round trips (a new connection) pass;
    // the exec does not wait for the connection to be ready (its channel may go ahead of the key's answer).
    const hints = await this.store
      .readAux<string[]>(indexKey)
      .then((previous) => this.hintsFor(previous ?? []));
    const { result, entries } = await this.gatherAndAbsorb({
      root,
      hints,
      ...(kept !== undefined ? { kept } : {}),
    });
    if (result.unchanged) return { unchanged: true };
    await this.store.writeAux(
      indexKey,
      result.experiments.map((g) => g.path),
    );
    const ordered = [...result.experiments].sort((a, b) => compareRel(a.rel ?? [], b.rel ?? []));
    const experiments = ordered.map((g) => {
      const entry = entries.get(g.path);
      if (!entry)
        return unreadableSummary(
          this.locate(g.path),
          new Error(g.unreadable ?? g.error?.[1] ?? 'unreadable'),
        );
      return this.summaryOf(entry, g, result.now_ms);
    });
    const listing: WorkspaceListing = {
      root: this.locate(result.root ?? root),
      experimentsDir: this.locate(result.experimentsDir ?? root),
      kind: result.kind ?? 'experiments-folder',
      experiments,
    };
    return { unchanged: false, listing, fingerprint: result.fingerprint ?? null };
  }

  /** Details of several experiments of this endpoint in one round trip (show, summarize, compare). */
  async details(paths: string[]): Promise<Array<ExperimentDetail | Error>> {
    const hints = await this.hintsFor(paths);
    const { result, entries } = await this.gatherAndAbsorb({
      root: null,
      experiments: paths,
      hints,
      detail: true,
    });
    return result.experiments.map((g) => {
      if (g.error) return new WorkspaceError(g.error[0] as WorkspaceError['code'], g.error[1]);
      if (g.unreadable) return new Error(`cannot read ${g.path}: ${g.unreadable}`);
      const entry = entries.get(g.path)!;
      const summary = this.summaryOf(entry, g, result.now_ms);
      const config = configFromText(entry.remote.texts.config);
      const metadata = jsonObjectFromText(entry.remote.texts.metadata, LAYOUT.metadata);
      return {
        summary,
        config: config.value ?? summary.hparams ?? null,
        metadata: metadata.value,
        ...detailOf(g.detail, (...parts) => this.locate(remoteJoin(g.path, ...parts))),
      };
    });
  }

  /**
   * Current summaries of several experiments in one round trip, transferring
   * only what changed since the last call (watching runs' states).
   */
  async summaries(paths: string[]): Promise<Array<ExperimentSummary | Error>> {
    return (await this.poll(paths, null)).summaries;
  }

  /**
   * summaries(), and in the same round trip, when `discoverRoot` is given,
   * the remote paths of the experiments now in that workspace (null if it
   * cannot be listed): what a watch needs each tick.
   */
  async poll(
    paths: string[],
    discoverRoot: string | null,
  ): Promise<{ summaries: Array<ExperimentSummary | Error>; discovered: string[] | null }> {
    const hints = await this.hintsFor(paths);
    const { result, entries } = await this.gatherAndAbsorb({
      root: null,
      experiments: paths,
      hints,
      ...(discoverRoot !== null ? { discover: discoverRoot } : {}),
    });
    const summaries = result.experiments.map((g) => {
      if (g.error) return new WorkspaceError(g.error[0] as WorkspaceError['code'], g.error[1]);
      if (g.unreadable) return new Error(`cannot read ${g.path}: ${g.unreadable}`);
      return this.summaryOf(entries.get(g.path)!, g, result.now_ms);
    });
    return { summaries, discovered: result.discovered ?? null };
  }

  /** One experiment's details; throws WorkspaceError like readExperimentDetail. */
  async detail(p: string): Promise<ExperimentDetail> {
    const [d] = await this.details([p]);
    if (d instanceof Error) throw d;
    return d!;
  }

  /** Bytes of a remote file from an offset (negative: from the end). */
  async readFile(
    p: string,
    offset = 0,
    max = 1024 * 1024,
  ): Promise<{ size: number; offset: number; data: Buffer; missing: boolean }> {
    const r = await callRemote(this.conn, { op: 'read', path: p, offset, max }, { retry: true }).catch(
      (err: unknown) => {
        throw coreError(err);
      },
    );
    return {
      size: r.size,
      offset: r.offset,
      data: Buffer.from(r.data, 'base64'),
      missing: Boolean(r.missing),
    };
  }
}
