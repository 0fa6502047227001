/**
 * Local mirrors of remote TensorBoard and MLflow runs (issue 12): the run's
 * metric files — the event files directly in its folder, or MLflow's
 * meta.yaml, metrics/** and params/** — copied byte for byte, by offset, into
 * `<cache>/remote-runs-v1/<hash of the location>/` under their own names, so
 * the one TypeScript reader of each kind (`EventsTail`, `MlflowTail`, through
 * a MetricsFeed keyed on the mirror folder) reads a remote run exactly as it
 * reads a local one: the same CRC checks, damaged-record problems, merging by
 * step and hparams, for the listing's summary and the charts alike.
 *
 * Decided: ship bytes, not values. A second decoder in the Python helper
 * would have to agree with tfevents-decode.ts forever (and be tested for
 * it); bytes cost a little more transfer for event files that also hold
 * images or histograms, bounded by the same budgets as metrics.jsonl (16 MiB
 * per run per answer, the rest in follow-up calls).
 *
 * The helper (`run_files`, and `gather` for a listing) answers each current
 * file's bytes after the mirror's copy, checked against the inode and the
 * bytes before the offset; a file that does not continue the copy is copied
 * again from byte 0 (written beside and renamed over, so the reader sees a
 * new inode and starts over), and a file the remote no longer has is
 * removed here. Names are untrusted: only the shapes a reader reads are
 * accepted, each confined to the mirror folder.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isInside } from '../fs/confine';
import { metricsReadProblem, type MetricsFeeds } from '../metrics/metrics-feed';
import type { MetricsTailState } from '../metrics/metrics-tail';
import { TFEVENTS_FILES } from '../metrics/metrics-source';
import { mlflowKey } from '../metrics/mlflow-tail';
import { tfeventsKey } from '../metrics/tfevents-tail';
import { isTfeventsName } from '../workspace/layout';
import type { MetricsFoldState } from '../../../shared/metrics-summary';
import type { Problem } from '../../../shared/model';
import type { RunFilesKnown, WireRunFiles } from './protocol';
import { MIRROR_MAX_AGE_MS } from './remote-metrics';
import { callRemote, RemoteOpError, type HelperHost } from './remote-python';
import { keepsChanging, oneAtATime } from './remote-wire';

const VERSION = 1;
const FINGERPRINT_BYTES = 64;
const MAX_BYTES_PER_RUN = 16 * 1024 * 1024;
const MAX_TOTAL_BYTES = 64 * 1024 * 1024;
/** Follow-up calls for runs larger than one answer: bounded so a runaway file cannot loop forever. */
const MAX_ROUNDS = 256;

export type RunKind = 'tfevents' | 'mlflow';

/** A remote run's mirror brought up to date. */
export interface RunMirrorResult {
  /** The local folder holding the run's files (a reader's run folder). */
  dir: string;
  /** A file was copied again or removed: readers of the folder start over. */
  reset: boolean;
}

/** What accept() did. */
export interface RunAccepted {
  reset: boolean;
  /** Bytes are still missing (an answer's budget, or a file to copy again): ask again. */
  more: boolean;
}

/** The feed key of a mirrored run (the key a MetricsFeed picks its reader by). */
export function runFeedKey(dir: string, kind: RunKind): string {
  return kind === 'tfevents' ? tfeventsKey(dir) : mlflowKey(dir);
}

/** A file name from the remote as a reader of `kind` would read it, or null (anything else is ignored). */
function acceptedName(kind: RunKind, name: string): string[] | null {
  const parts = name.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\') || p.includes('\0')))
    return null;
  if (kind === 'tfevents') return parts.length === 1 && isTfeventsName(name) ? parts : null;
  if (name === 'meta.yaml') return parts;
  const top = parts[0];
  return (top === 'metrics' || top === 'params') && parts.length > 1 && !parts.some((p) => p.startsWith('.'))
    ? parts
    : null;
}

interface RunState {
  /** Inode on the remote of each mirrored file, by name. */
  ino: Record<string, number | null>;
}

/** Per cache folder: one state and one queue per location in the process, whichever object asks. */
const shared = new Map<string, { states: Map<string, RunState>; locks: Map<string, Promise<unknown>> }>();

export class RemoteRunFiles {
  private readonly states: Map<string, RunState>;
  private readonly locks: Map<string, Promise<unknown>>;

  constructor(private readonly root: string) {
    const key = path.resolve(root);
    let s = shared.get(key);
    if (!s) shared.set(key, (s = { states: new Map(), locks: new Map() }));
    this.states = s.states;
    this.locks = s.locks;
  }

  /** The local folder of a location's mirror (whether or not it exists yet). */
  dirOf(location: string): string {
    const hash = createHash('sha256').update(location).digest('hex').slice(0, 32);
    return path.join(this.root, `remote-runs-v${VERSION}`, hash);
  }

  /** What the mirror holds, for the helper: name → [offset, remote inode, fingerprint]. */
  known(location: string): Promise<RunFilesKnown> {
    return this.locked(location, async () => {
      const st = await this.state(location);
      const dir = this.dirOf(location);
      const out: RunFilesKnown = {};
      for (const [name, ino] of Object.entries(st.ino)) {
        const file = path.join(dir, ...name.split('/'));
        const size = await stat(file).then(
          (s) => s.size,
          () => -1,
        );
        if (size < 0) continue; // gone here (cache cleaned): copied again from byte 0
        out[name] = [size, ino, await lastBytes(file, size)];
      }
      return out;
    });
  }

  /** Bring a location's mirror to what an answer says the remote run holds. */
  accept(location: string, answer: WireRunFiles): Promise<RunAccepted> {
    return this.locked(location, async () => {
      const st = await this.state(location);
      const dir = this.dirOf(location);
      const kind = answer.kind;
      let reset = false;
      let more = false;
      await mkdir(dir, { recursive: true });
      // A reader of an MLflow run needs its metrics/ folder, even when it holds no file yet.
      if (kind === 'mlflow') await mkdir(path.join(dir, 'metrics'), { recursive: true });
      const current = new Set<string>();
      for (const w of answer.files) {
        const parts = kind ? acceptedName(kind, w.name) : null;
        const file = parts ? path.join(dir, ...parts) : null;
        if (!file || !isInside(file, dir)) continue;
        current.add(w.name);
        const data = w.data;
        const size = await stat(file).then(
          (s) => s.size,
          () => -1,
        );
        more = more || w.more;
        if (w.reset || size < 0 || w.start > size || w.start + data.length < size) {
          if (w.start !== 0) {
            // Not the continuation of our copy: drop it and ask again from the first byte.
            await rm(file, { force: true });
            delete st.ino[w.name];
            reset = reset || size >= 0;
            more = true;
            continue;
          }
          await mkdir(path.dirname(file), { recursive: true });
          const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
          await writeFile(tmp, data);
          await rename(tmp, file);
          reset = reset || size >= 0;
        } else if (w.start + data.length > size) {
          await appendFile(file, data.subarray(size - w.start));
        }
        st.ino[w.name] = w.ino;
      }
      for (const name of Object.keys(st.ino)) {
        if (current.has(name)) continue;
        await rm(path.join(dir, ...name.split('/')), { force: true });
        delete st.ino[name];
        reset = true;
      }
      await writeFile(path.join(dir, 'mirror.json'), JSON.stringify({ location, kind, ino: st.ino }));
      return { reset, more };
    });
  }

  /**
   * An answer's bytes into the location's mirror, then the run's reader over
   * the mirror (resuming at `prior`, a cached reader state and fold): the
   * state, fold and read problem a summary is built from.
   */
  async feed(
    feeds: MetricsFeeds,
    location: string,
    kind: RunKind,
    answer: WireRunFiles,
    prior: { tail: MetricsTailState; fold: MetricsFoldState },
  ): Promise<{ tail: MetricsTailState; fold: MetricsFoldState; problem: Problem | null; more: boolean }> {
    const got = await this.accept(location, answer);
    const feed = feeds.open(runFeedKey(this.dirOf(location), kind), () => ({ ...prior, ino: null }));
    let problem: Problem | null = null;
    try {
      await feed.read();
    } catch (err) {
      problem = {
        file: kind === 'tfevents' ? TFEVENTS_FILES : 'metrics/*',
        message: metricsReadProblem(err),
      };
    }
    return { tail: feed.tailState, fold: feed.foldState, problem, more: got.more };
  }

  /**
   * Bring the mirrors of these remote folders (all on the host of `conn`) up
   * to date in one round trip (plus follow-ups for large files). Each result
   * is the mirror, null for a folder that is not a TensorBoard or MLflow run
   * (or has a logs/metrics.jsonl, which wins), or the error for that folder.
   */
  async sync(
    conn: HelperHost,
    targets: Array<{ location: string; remotePath: string }>,
  ): Promise<Array<RunMirrorResult | null | Error>> {
    const out = new Map<string, RunMirrorResult | null | Error>();
    const resets = new Set<string>();
    let pending = targets;
    for (let round = 0; pending.length > 0; round++) {
      if (round >= MAX_ROUNDS) {
        for (const t of pending) out.set(t.location, keepsChanging(t.location));
        break;
      }
      const runs = await Promise.all(
        pending.map(async (t) => ({ path: t.remotePath, files: await this.known(t.location) })),
      );
      const answer = await callRemote(
        conn,
        { op: 'run_files', runs, max_bytes_per_run: MAX_BYTES_PER_RUN, max_total_bytes: MAX_TOTAL_BYTES },
        { retry: true },
      );
      const next: typeof targets = [];
      for (let i = 0; i < pending.length; i++) {
        const t = pending[i]!;
        const w = answer.runs[i];
        if (!w) {
          out.set(t.location, new RemoteOpError('internal', `no answer for ${t.location}`));
          continue;
        }
        if (w.kind === null) {
          // Not (or no longer) such a run: a mirror of it has nothing left to copy.
          await this.remove(t.location);
          out.set(t.location, null);
          continue;
        }
        const got = await this.accept(t.location, w);
        if (got.reset) resets.add(t.location);
        if (got.more) next.push(t);
        else out.set(t.location, { dir: this.dirOf(t.location), reset: resets.has(t.location) });
      }
      pending = next;
    }
    return targets.map((t) =>
      out.has(t.location)
        ? out.get(t.location)!
        : new RemoteOpError('internal', `no answer for ${t.location}`),
    );
  }

  /**
   * Remove the run mirrors nobody read for `maxAgeMs` (each read by a
   * listing or a chart rewrites its mirror.json), as RemoteMetricsMirror.prune
   * does for metrics mirrors; returns how many went.
   */
  async prune(maxAgeMs = MIRROR_MAX_AGE_MS, now = Date.now()): Promise<number> {
    const base = path.join(this.root, `remote-runs-v${VERSION}`);
    let removed = 0;
    for (const name of await readdir(base).catch(() => [] as string[])) {
      const dir = path.join(base, name);
      const side = path.join(dir, 'mirror.json');
      const used = await stat(side).then(
        (s) => s.mtimeMs,
        () => 0,
      );
      if (now - used < maxAgeMs) continue;
      const location = await readFile(side, 'utf8').then(
        (t) => (JSON.parse(t) as { location?: unknown }).location,
        () => undefined,
      );
      if (typeof location === 'string' && this.dirOf(location) === dir) await this.remove(location);
      else await rm(dir, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /** Remove a location's mirror (its run is gone); a later sync copies from byte 0. */
  private remove(location: string): Promise<void> {
    return this.locked(location, async () => {
      this.states.delete(location);
      await rm(this.dirOf(location), { recursive: true, force: true });
    });
  }

  private async state(location: string): Promise<RunState> {
    let st = this.states.get(location);
    if (st) return st;
    st = { ino: {} };
    try {
      const side = JSON.parse(await readFile(path.join(this.dirOf(location), 'mirror.json'), 'utf8')) as {
        location?: unknown;
        ino?: unknown;
      };
      if (side.location === location && side.ino && typeof side.ino === 'object')
        st.ino = side.ino as Record<string, number | null>;
    } catch {
      // no mirror yet: everything is copied from byte 0
    }
    this.states.set(location, st);
    return st;
  }

  private locked<T>(location: string, fn: () => Promise<T>): Promise<T> {
    return oneAtATime(this.locks, location, fn);
  }
}

/** The base64 of a file's last bytes before `size` (the helper checks its copy continues them). */
async function lastBytes(file: string, size: number): Promise<string> {
  const n = Math.min(FINGERPRINT_BYTES, size);
  if (n === 0) return '';
  const buf = Buffer.alloc(n);
  const fh = await open(file, 'r');
  try {
    await fh.read(buf, 0, n, size - n);
  } finally {
    await fh.close();
  }
  return buf.toString('base64');
}
