/**
 * Local mirrors of remote experiments' logs/metrics.jsonl: every metrics
 * byte that comes over SSH lands here, once, and the experiment's
 * MetricsFeed (core/metrics/metrics-feed.ts) reads the mirror — for the
 * summary and the charts alike — so the code that reads metrics here
 * (summaries, SeriesStore, verify) runs unchanged on remote runs. The
 * listing's `gather` (remote-workspace.ts) and the charts' `tail` both hand
 * their bytes to accept(), which appends them after what the mirror has, and
 * both ask from the mirror's length: no byte is asked for twice. A mirror lives in the user's cache folder, never on the
 * remote: `<cache>/remote-metrics-v1/<hash of the location>/logs/metrics.jsonl`
 * and a small `mirror.json` (the location and the remote file's inode).
 *
 * Bringing mirrors up to date is one remote command for all the experiments
 * of a host asked together (the helper's `tail`), transferring only the
 * bytes after the mirror's length. The helper checks that the remote file
 * still continues the mirror (same inode, the bytes before the offset equal
 * the mirror's last bytes, not shorter); when it does not (truncated,
 * replaced, rewritten) the mirror starts over from the first byte and the
 * caller is told, so cached series built on it are dropped. A partial last
 * line is copied as it is: readers of the mirror wait for its newline, as
 * they do locally. Files larger than one answer's budget cost follow-up
 * calls (bounded by data size, never by the number of experiments).
 *
 * Mirrors of one cache folder share their state within the process
 * (whichever RemoteMetricsMirror object holds them), and the changes of one
 * location's mirror run one at a time.
 *
 * Mirrors do not pile up in the cache: a mirror whose experiment the remote
 * says is gone is removed by the sync that learns it, and prune() removes the
 * mirrors nobody used for MIRROR_MAX_AGE_MS (a folder's modification time is
 * its last use: refreshed when a mirror is first used in a process, then at
 * most every USE_MARK_MS while it is used).
 */
import { createHash } from 'node:crypto';
import {
  appendFile,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { LAYOUT } from '../workspace/layout';
import type { Accepted, MirrorResult, MirrorTarget, RemoteBytes } from './remote-mirror-types';
import { callRemote, RemoteOpError, type HelperHost } from './remote-python';
import {
  FINGERPRINT_BYTES,
  fileExists,
  keepsChanging,
  lastBytes,
  lastUse,
  nothingAdded,
  oneAtATime,
} from './remote-wire';

export type { Accepted, MirrorResult, MirrorTarget, RemoteBytes } from './remote-mirror-types';

const MIRROR_VERSION = 1;
const MAX_BYTES_PER_FILE = 16 * 1024 * 1024;
const MAX_TOTAL_BYTES = 64 * 1024 * 1024;
/** Follow-up calls for files larger than one answer: bounded so a runaway file cannot loop forever. */
const MAX_ROUNDS = 256;
/** A mirror not used this long is removed by prune() (the experiment is fetched again if it is ever asked for). */
export const MIRROR_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
/** How often a mirror in use marks its folder as used (a utimes, not one per read). */
const USE_MARK_MS = 3600 * 1000;

interface MirrorState {
  location: string;
  dir: string;
  file: string;
  offset: number;
  ino: number | null;
  /** The mirror's last bytes (up to FINGERPRINT_BYTES), when known without reading the file. */
  last: Buffer | null;
  /** When its folder was last marked as used (0: not yet in this process). */
  markedAt: number;
  /** Its folder was not in the cache when this process first looked: no file to stat, read or mark. */
  absent: boolean;
  /** A lazy mirror's bytes, held in memory and not written yet (materialize() writes them). */
  held?: Buffer[];
}

interface SharedMirrors {
  states: Map<string, MirrorState>;
  /**
   * The mirror folders present when this process first needed one (one
   * readdir): a first listing then costs no stat, read or utimes per new
   * experiment. Safe if another process adds one meanwhile: an absent
   * mirror only ever takes an answer from byte 0, written by rename.
   */
  present: Promise<Set<string>> | null;
  inflight: Map<string, Promise<MirrorResult | Error>>;
  locks: Map<string, Promise<unknown>>;
}

/** Per cache folder: one state per location in the process, whichever object asks; each location's hash (asked for often). */
const shared = new Map<string, SharedMirrors>();
const hashes = new Map<string, string>();

export class RemoteMetricsMirror {
  private readonly states: Map<string, MirrorState>;
  private readonly inflight: Map<string, Promise<MirrorResult | Error>>;
  private readonly locks: Map<string, Promise<unknown>>;
  /** Round trips made and metrics bytes received, by this object (tests and figures). */
  readonly stats = { calls: 0, bytes: 0 };

  constructor(
    /** The cache folder the mirrors live in. */
    readonly root: string,
    /**
     * Lazy: new mirrors stay in memory until something reads their file
     * (materialize(); sync() always does). A CLI listing needs the summaries,
     * not the files: it then writes none, and the next listing asks again.
     */
    readonly options: { lazy?: boolean } = {},
  ) {
    const key = path.resolve(root);
    let s = shared.get(key);
    if (!s) {
      s = { states: new Map(), inflight: new Map(), locks: new Map(), present: null };
      shared.set(key, s);
    }
    this.states = s.states;
    this.inflight = s.inflight;
    this.locks = s.locks;
    this.shared = s;
  }

  private readonly shared: SharedMirrors;

  /** The mirror folders' names present at this process's first look. */
  private presentDirs(): Promise<Set<string>> {
    this.shared.present ??= readdir(path.join(this.root, `remote-metrics-v${MIRROR_VERSION}`)).then(
      (names) => new Set(names),
      () => new Set<string>(),
    );
    return this.shared.present;
  }

  /** The local metrics file of a location's mirror (whether or not it exists yet). */
  fileOf(location: string): string {
    return path.join(this.dirOf(location), LAYOUT.metrics);
  }

  /** Where to ask the remote from: the mirror's length and the fingerprint of its last bytes. */
  position(location: string): Promise<{ offset: number; fingerprint: string }> {
    return this.locked(location, async () => {
      // The state was read from the disk once; a mirror removed since (cache cleaned) is found by
      // accept(), which then asks again from the first byte.
      const st = await this.state(location);
      if (st.offset === 0) return { offset: 0, fingerprint: '' };
      const offset = st.offset;
      return { offset, fingerprint: await this.fingerprint(st) };
    });
  }

  /**
   * Add an answer's bytes to a location's mirror: appended after what it
   * has (bytes it already has are skipped: another request may have brought
   * them meanwhile), or the mirror started over on a reset.
   */
  accept(location: string, bytes: RemoteBytes): Promise<Accepted> {
    return this.locked(location, async () => {
      const st = await this.state(location);
      const exists = await this.onDisk(st);
      if (!exists) {
        st.offset = 0;
        st.ino = null;
        st.last = null;
      }
      const { data, start } = bytes;
      if (bytes.reset || !exists) {
        if (start !== 0) {
          // Not the continuation of our copy: ask again from the first byte.
          await this.replace(st, Buffer.alloc(0), null);
          return { reset: true, bytes: 0, again: true, added: nothingAdded() };
        }
        await this.replace(st, data, bytes.ino);
        this.stats.bytes += data.length;
        return { reset: exists, bytes: data.length, again: false, added: { data, at: 0 } };
      }
      if (start > st.offset || start + data.length < st.offset) {
        // A gap, or bytes before what the answer should continue: start over.
        await this.replace(st, Buffer.alloc(0), null);
        return { reset: true, bytes: 0, again: true, added: nothingAdded() };
      }
      const fresh = data.subarray(st.offset - start);
      const added = { data: fresh, at: st.offset };
      this.stats.bytes += data.length;
      if (fresh.length > 0) {
        if (st.held) st.held.push(fresh);
        else await appendFile(st.file, fresh);
        st.offset += fresh.length;
        st.last = lastBytes(st.last, fresh);
      }
      if (st.ino !== bytes.ino) await this.recordIno(st, bytes.ino);
      return { reset: false, bytes: fresh.length, again: false, added };
    });
  }

  /** An empty mirror for a remote experiment without metrics (yet, or any more). */
  clear(location: string): Promise<boolean> {
    return this.locked(location, async () => {
      const st = await this.state(location);
      const exists = st.held !== undefined || (await fileExists(st.file));
      if (st.offset === 0 && exists) return false;
      await this.replace(st, Buffer.alloc(0), null);
      return true;
    });
  }

  /**
   * Remove the mirrors not used for `maxAgeMs` (default MIRROR_MAX_AGE_MS),
   * and any leftover folder without a mirror record; mirrors used by this
   * process within that time stay. Returns how many were removed. (`now`:
   * the time to measure ages from.)
   */
  async prune(maxAgeMs = MIRROR_MAX_AGE_MS, now = Date.now()): Promise<number> {
    const base = path.join(this.root, `remote-metrics-v${MIRROR_VERSION}`);
    const names = await readdir(base).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      const dir = path.join(base, name);
      const location = await readFile(path.join(dir, 'mirror.json'), 'utf8').then(
        (t) => (JSON.parse(t) as { location?: unknown }).location,
        () => undefined,
      );
      const own = typeof location === 'string' && this.dirOf(location) === dir ? location : null;
      const gone = own
        ? await this.locked(own, async () => {
            const st = this.states.get(own);
            if (st && now - st.markedAt < maxAgeMs) return false;
            if (now - (await lastUse(dir)) < maxAgeMs) return false;
            this.states.delete(own);
            await rm(dir, { recursive: true, force: true });
            return true;
          })
        : now - (await lastUse(dir)) >= maxAgeMs &&
          (await rm(dir, { recursive: true, force: true }).then(() => true));
      if (gone) removed++;
    }
    return removed;
  }

  /** Remove a location's mirror (its experiment is gone); a later sync starts from the first byte. */
  private remove(location: string): Promise<void> {
    return this.locked(location, async () => {
      this.states.delete(location);
      await rm(this.dirOf(location), { recursive: true, force: true });
    });
  }

  private locked<T>(location: string, fn: () => Promise<T>): Promise<T> {
    return oneAtATime(this.locks, location, fn);
  }

  /** The local folder of a location's mirror (whether or not it exists yet). */
  dirOf(location: string): string {
    const hash = hashes.get(location) ?? createHash('sha256').update(location).digest('hex').slice(0, 32);
    hashes.set(location, hash);
    return path.join(this.root, `remote-metrics-v${MIRROR_VERSION}`, hash);
  }

  /**
   * Bring the mirrors of these experiments (all on the host of `conn`) up to
   * date in one round trip (plus follow-ups for large files). Each result is
   * the mirror, or the error for that experiment (not an experiment, gone …).
   * Concurrent syncs of one location share one transfer.
   */
  async sync(conn: HelperHost, targets: MirrorTarget[]): Promise<Array<MirrorResult | Error>> {
    const own: MirrorTarget[] = [];
    let release: (r: Map<string, MirrorResult | Error>) => void = () => undefined;
    const mine = new Promise<Map<string, MirrorResult | Error>>((r) => (release = r));
    for (const t of targets) {
      if (this.inflight.has(t.location) || own.some((o) => o.location === t.location)) continue;
      own.push(t);
      const p = mine.then((m) => m.get(t.location) ?? new Error(`no answer for ${t.location}`));
      this.inflight.set(t.location, p);
      void p.finally(() => {
        if (this.inflight.get(t.location) === p) this.inflight.delete(t.location);
      });
    }
    const waiting = targets.map((t) => this.inflight.get(t.location)!);
    let results: Map<string, MirrorResult | Error>;
    try {
      results = own.length ? await this.transfer(conn, own) : new Map();
    } catch (err) {
      results = new Map(own.map((t) => [t.location, err as Error]));
    }
    release(results);
    return Promise.all(waiting);
  }

  private async state(location: string): Promise<MirrorState> {
    const st = this.states.get(location) ?? (await this.load(location));
    const now = Date.now();
    if (!st.absent && now - st.markedAt >= USE_MARK_MS) {
      st.markedAt = now;
      // Its folder's time is its last use (prune); no folder yet: nothing to mark.
      await utimes(st.dir, now / 1000, now / 1000).catch(() => undefined);
    }
    return st;
  }

  private async load(location: string): Promise<MirrorState> {
    const dir = this.dirOf(location);
    const file = path.join(dir, LAYOUT.metrics);
    if (!(await this.presentDirs()).has(path.basename(dir))) {
      const st: MirrorState = {
        location,
        dir,
        file,
        offset: 0,
        ino: null,
        last: null,
        markedAt: 0,
        absent: true,
      };
      this.states.set(location, st);
      return st;
    }
    // A mirror from an earlier run of Expdesk: its length is the offset, its inode record says which file it copies.
    const size = await stat(file).then(
      (s) => s.size,
      () => -1,
    );
    let ino: number | null = null;
    try {
      const side = JSON.parse(await readFile(path.join(dir, 'mirror.json'), 'utf8')) as {
        location?: string;
        ino?: number;
      };
      if (side.location === location && typeof side.ino === 'number') ino = side.ino;
    } catch {
      // no record: the fingerprint alone decides
    }
    const st: MirrorState = {
      location,
      dir,
      file,
      offset: size < 0 ? 0 : size,
      ino: size < 0 ? null : ino,
      last: null,
      markedAt: 0,
      absent: false,
    };
    this.states.set(location, st);
    return st;
  }

  private async fingerprint(st: MirrorState): Promise<string> {
    if (st.offset === 0) return '';
    const n = Math.min(FINGERPRINT_BYTES, st.offset);
    if (st.last !== null && st.last.length === n) return st.last.toString('base64');
    if (st.held) await this.replace(st, Buffer.concat(st.held), st.ino, true);
    const buf = Buffer.alloc(n);
    const fh = await open(st.file, 'r');
    try {
      await fh.read(buf, 0, n, st.offset - n);
    } finally {
      await fh.close();
    }
    st.last = buf;
    return buf.toString('base64');
  }

  private async transfer(
    conn: HelperHost,
    targets: MirrorTarget[],
  ): Promise<Map<string, MirrorResult | Error>> {
    const out = new Map<string, MirrorResult | Error>();
    const progress = new Map<string, MirrorResult>();
    let pending = targets;
    for (let round = 0; pending.length > 0; round++) {
      if (round >= MAX_ROUNDS) {
        for (const t of pending) out.set(t.location, keepsChanging(t.location));
        break;
      }
      const states = await Promise.all(pending.map((t) => this.state(t.location)));
      const exists = await Promise.all(states.map((st) => this.onDisk(st)));
      const files = await Promise.all(
        pending.map(async (t, i) => {
          const st = states[i]!;
          // No local file yet, or it went missing (cache cleaned): copy from the first byte.
          if (!exists[i]) {
            st.offset = 0;
            st.ino = null;
          }
          return {
            path: t.remotePath,
            file_ok: Boolean(t.allowFile),
            offset: st.offset,
            fingerprint: await this.fingerprint(st),
            ino: st.ino,
          };
        }),
      );
      this.stats.calls++;
      const answer = await callRemote(
        conn,
        { op: 'tail', files, max_bytes_per_file: MAX_BYTES_PER_FILE, max_total_bytes: MAX_TOTAL_BYTES },
        { retry: true },
      );
      const next: MirrorTarget[] = [];
      for (let i = 0; i < pending.length; i++) {
        const t = pending[i]!;
        const st = states[i]!;
        const w = answer.files[i];
        const acc = progress.get(t.location) ?? { dir: st.dir, reset: false, bytes: 0 };
        progress.set(t.location, acc);
        if (!w) {
          out.set(t.location, new RemoteOpError('internal', `no answer for ${t.location}`));
          continue;
        }
        if ('error' in w) {
          // Gone (or never an experiment): its mirror has nothing left to copy.
          if (w.error[0] === 'not-found') await this.remove(t.location);
          out.set(t.location, new RemoteOpError(w.error[0], w.error[1]));
          continue;
        }
        if ('missing' in w) {
          // No metrics yet (or any more): an empty mirror, like a local experiment without the file.
          if (await this.clear(t.location)) acc.reset = true;
          out.set(t.location, acc);
          continue;
        }
        const data = Buffer.from(w.data, 'latin1');
        const got = await this.accept(t.location, { start: w.start, reset: w.reset, data, ino: w.ino });
        acc.reset = acc.reset || got.reset;
        acc.bytes += got.bytes;
        if (got.again) {
          next.push(t);
          continue;
        }
        if (w.more) next.push(t);
        else out.set(t.location, acc);
      }
      pending = next;
    }
    // The caller reads the mirrors' files (charts, `show`): write what is held.
    await Promise.all(targets.map((t) => this.materialize(t.location)));
    return out;
  }

  /** Whether the mirror has a copy (a file, or held bytes). */
  private async onDisk(st: MirrorState): Promise<boolean> {
    return st.held !== undefined || (!st.absent && (await fileExists(st.file)));
  }

  /** Write a lazy mirror's held bytes to its file (temp + rename), before a reader reads it. */
  materialize(location: string): Promise<void> {
    return this.locked(location, async () => {
      const st = this.states.get(location);
      if (st?.held) await this.replace(st, Buffer.concat(st.held), st.ino, true);
    });
  }

  /** Start the mirror over with these bytes (a new local file, renamed into place). */
  private async replace(
    st: MirrorState,
    data: Buffer,
    ino: number | null,
    write = !this.options.lazy,
  ): Promise<void> {
    st.held = write ? undefined : [data];
    if (!write) {
      Object.assign(st, {
        absent: false,
        markedAt: Date.now(),
        offset: data.length,
        last: lastBytes(null, data),
        ino,
      });
      return;
    }
    await mkdir(path.dirname(st.file), { recursive: true });
    const tmp = `${st.file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, st.file);
    st.absent = false;
    st.markedAt = Date.now(); // just written: its folder's time is now
    st.offset = data.length;
    st.last = lastBytes(null, data);
    await this.recordIno(st, ino, false);
  }

  private async recordIno(st: MirrorState, ino: number | null, makeDir = true): Promise<void> {
    st.ino = ino;
    if (st.held) return; // written with the bytes
    if (makeDir) await mkdir(st.dir, { recursive: true });
    await writeFile(path.join(st.dir, 'mirror.json'), JSON.stringify({ location: st.location, ino }));
  }
}
