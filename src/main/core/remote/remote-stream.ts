/**
 * A remote experiment's streams of records in the gather answer — its
 * logs/metrics.jsonl and the run wrapper's logs/system.jsonl — taken into
 * their local mirrors (RemoteMetricsMirror) the same way: the bytes after
 * the client's copy, a line longer than one answer fetched by `tail`, and
 * "ask again" where an answer does not continue the copy. The summaries stay
 * the TypeScript ones (MetricsFold; shared/system-metrics.ts for the GPU
 * fields): the remote ships bytes, never summaries, so a listing's GPU
 * columns are computed by the one definition the local listing uses.
 */
import { MetricsFold } from '../../../shared/metrics-summary';
import { remoteJoin } from '../../../shared/remote-location';
import type { MetricsFeed, MetricsFeeds } from '../metrics/metrics-feed';
import { emptyTailState, type MetricsTailState } from '../metrics/metrics-tail';
import type { CacheEntry, FileSig } from '../summary/summary-store';
import { WorkspaceError } from '../workspace/discover';
import { LAYOUT } from '../workspace/layout';
import type { WireExperiment, WireMetrics } from './protocol';
import type { Accepted, MirrorTarget, RemoteMetricsMirror } from './remote-metrics';
import { RemoteOpError, type HelperHost } from './remote-python';
import { toSig, toWire } from './remote-wire';

/** The mirror key of an experiment's logs/system.jsonl: its location's, kept apart from its metrics.jsonl's. */
export function systemMirrorKey(location: string): string {
  return `${location}#system`;
}

export function coreError(err: unknown): unknown {
  if (err instanceof RemoteOpError && err.code !== 'internal')
    return new WorkspaceError(err.code, err.message);
  return err;
}

type WireBytes = Exclude<WireMetrics, { error: string }>;

/**
 * Brings a feed up to its mirror: given the bytes just added (and where), from
 * memory when the feed can take them. `only`: there is no file to fall back
 * to (bytes resumed from the reader's offset); false when the feed did not take them.
 */
export type FeedRead = (added?: Accepted['added'], only?: boolean) => Promise<boolean>;

/**
 * Where the remote sends a stream's bytes from: after the mirror's copy; or,
 * where a lazy mirror holds none of it (a CLI listing in a new process writes
 * no mirror files), after what the summary's reader consumed — the cache
 * entry's offset and fingerprint — so a later listing brings only what was
 * appended, not the whole file again.
 */
export async function streamPosition(
  mirror: RemoteMetricsMirror,
  location: string,
  tail: MetricsTailState | undefined,
): Promise<{ offset: number; fingerprint: string }> {
  const at = await mirror.position(location);
  if (at.offset > 0 || !mirror.options.lazy || !tail?.offset || !tail.fingerprint) return at;
  return { offset: tail.offset, fingerprint: tail.fingerprint };
}

/**
 * One answer's bytes into `target`'s mirror, then `read` (the feed over the
 * mirror); bytes resumed from the reader's offset (streamPosition) go to the
 * feed alone. 'again': the answer did not continue the mirror (now empty), or
 * the feed could not take resumed bytes: forget the reader, ask from the
 * start; else whether bytes remain on the remote beyond this answer.
 */
export async function acceptBytes(
  mirror: RemoteMetricsMirror,
  conn: HelperHost,
  target: MirrorTarget,
  m: WireBytes,
  ino: number | null,
  read: FeedRead,
): Promise<'again' | { more: boolean }> {
  if (
    m.start > 0 &&
    !m.reset &&
    mirror.options.lazy &&
    (await mirror.position(target.location)).offset === 0
  ) {
    // A line longer than the budget is fetched into the mirror by `tail`, from the first byte: ask again.
    const took = m.skip_to === undefined && (await read({ data: m.data, at: m.start }, true));
    return took ? { more: m.more && m.start + m.data.length < m.size } : 'again';
  }
  const got = await mirror.accept(target.location, {
    start: m.start,
    reset: m.reset,
    data: m.data,
    ino,
  });
  if (got.again) return 'again';
  let more = m.more;
  let added: Accepted['added'] | undefined = got.added;
  if (m.skip_to !== undefined) {
    // One line longer than the gather's budget: the mirror takes it by `tail`, in pieces, so the
    // feed counts it as malformed with its line number, as for a local file.
    const [r] = await mirror.sync(conn, [target]);
    if (r instanceof Error) throw coreError(r);
    more = false;
    added = undefined; // the mirror grew beyond this answer: read it
  }
  await read(added);
  const { offset } = await mirror.position(target.location);
  return { more: more && offset < m.size };
}

/** Bring a feed up to its mirror: the bytes just added, from memory, else the file (a lazy mirror's written first). */
export async function feedFrom(
  mirror: RemoteMetricsMirror,
  location: string,
  feed: MetricsFeed,
  added: Accepted['added'] | undefined,
  only = false,
): Promise<boolean> {
  if (added && (await feed.take(added.data, added.at))) return true;
  if (only) return false;
  await mirror.materialize(location);
  await feed.read();
  return true;
}

/** A metrics reader state from the first byte. */
export const freshRead = (): Pick<CacheEntry, 'tail' | 'fold'> => ({
  tail: emptyTailState(),
  fold: new MetricsFold().state,
});

type SystemState = NonNullable<CacheEntry['system']>;

/** What the helper is told of the client's copy of logs/system.jsonl. */
export async function systemHint(
  mirror: RemoteMetricsMirror,
  key: string,
  system: CacheEntry['system'] | undefined,
  more: boolean,
): Promise<{ sig: ReturnType<typeof toWire>; offset: number; fingerprint: string; more?: true }> {
  const at = await streamPosition(mirror, systemMirrorKey(key), system?.tail);
  // A mirror shorter than what was read of it (its cache folder cleaned): ask for the file again.
  const sig = system && at.offset >= system.tail.offset ? toWire(system.sig) : null;
  return { sig, offset: at.offset, fingerprint: at.fingerprint, ...(more ? { more: true } : {}) };
}

/**
 * The experiment's logs/system.jsonl after this answer: its signature,
 * reader state and fold (null when the remote has none), and whether the
 * rest must be asked for. An unreadable file costs only the GPU fields, as
 * locally (`expdesk show` names its problem).
 */
export async function absorbSystem(
  ctx: { mirror: RemoteMetricsMirror; conn: HelperHost; feeds: MetricsFeeds },
  key: string,
  g: WireExperiment,
  prior: CacheEntry['system'] | undefined,
): Promise<{ system: CacheEntry['system']; more: boolean }> {
  const location = systemMirrorKey(key);
  const file = ctx.mirror.fileOf(location);
  const sig: FileSig = toSig(g.sigs?.system);
  if (sig === null) {
    ctx.feeds.forget(file);
    if ((await ctx.mirror.position(location)).offset > 0) await ctx.mirror.clear(location);
    return { system: null, more: false };
  }
  const m = g.system;
  if (!m) return { system: prior ?? null, more: false }; // unchanged since the hint
  const empty = (): SystemState => ({ sig, tail: emptyTailState(), fold: new MetricsFold().state });
  if (!('data' in m)) return { system: empty(), more: false };
  // Read before, but the answer starts over (replaced, or resumed bytes not taken): so does the reader.
  if (m.start === 0 && prior?.tail.offset) ctx.feeds.forget(file);
  let state: SystemState = m.start === 0 ? empty() : (prior ?? empty());
  const got = await acceptBytes(
    ctx.mirror,
    ctx.conn,
    { location, remotePath: remoteJoin(g.path, LAYOUT.logs, 'system.jsonl'), allowFile: true },
    m,
    sig.ino,
    async (added, only) => {
      const feed = ctx.feeds.open(file, () => ({ tail: state.tail, fold: state.fold, ino: null }));
      const took = await feedFrom(ctx.mirror, location, feed, added, only);
      state = { sig, tail: feed.tailState, fold: feed.foldState };
      return took;
    },
  );
  if (got === 'again') {
    ctx.feeds.forget(file);
    return { system: { ...empty(), sig: null }, more: true };
  }
  // The signature is recorded only once everything up to it was read.
  return { system: got.more ? { ...state, sig: null } : state, more: got.more };
}
