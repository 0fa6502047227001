/**
 * Local mirrors of remote experiments' logs/metrics.jsonl, so the code that
 * reads metrics here (SeriesStore for the charts, verify) runs unchanged on
 * remote runs. A mirror lives in the user's cache folder, never on the
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
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LAYOUT } from '../workspace/layout';
import { callRemote, RemoteOpError, type HelperHost } from './remote-python';

const MIRROR_VERSION = 1;
const FINGERPRINT_BYTES = 64;
const MAX_BYTES_PER_FILE = 16 * 1024 * 1024;
const MAX_TOTAL_BYTES = 64 * 1024 * 1024;
/** Follow-up calls for files larger than one answer: bounded so a runaway file cannot loop forever. */
const MAX_ROUNDS = 256;

export interface MirrorTarget {
  /** The experiment's `ssh://…` text: the mirror's key. */
  location: string;
  /** The path on the remote: an experiment folder, or with `allowFile` a metrics file itself. */
  remotePath: string;
  allowFile?: boolean;
}

export interface MirrorResult {
  /** The local folder holding logs/metrics.jsonl. */
  dir: string;
  /** The mirror started over (the remote file was replaced or shrank): cached reads of it are stale. */
  reset: boolean;
  /** Bytes brought over by this sync. */
  bytes: number;
}

interface MirrorState {
  location: string;
  dir: string;
  file: string;
  offset: number;
  ino: number | null;
}

export class RemoteMetricsMirror {
  private readonly states = new Map<string, MirrorState>();
  private readonly inflight = new Map<string, Promise<MirrorResult | Error>>();
  /** Round trips made (tests and figures). */
  readonly stats = { calls: 0, bytes: 0 };

  constructor(private readonly root: string) {}

  /** The local folder of a location's mirror (whether or not it exists yet). */
  dirOf(location: string): string {
    const hash = createHash('sha256').update(location).digest('hex').slice(0, 32);
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
    let st = this.states.get(location);
    if (st) return st;
    const dir = this.dirOf(location);
    const file = path.join(dir, LAYOUT.metrics);
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
    st = { location, dir, file, offset: size < 0 ? 0 : size, ino: size < 0 ? null : ino };
    this.states.set(location, st);
    return st;
  }

  private async fingerprint(st: MirrorState): Promise<string> {
    if (st.offset === 0) return '';
    const n = Math.min(FINGERPRINT_BYTES, st.offset);
    const buf = Buffer.alloc(n);
    const fh = await open(st.file, 'r');
    try {
      await fh.read(buf, 0, n, st.offset - n);
    } finally {
      await fh.close();
    }
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
        for (const t of pending)
          out.set(
            t.location,
            new RemoteOpError('internal', `${t.location}: metrics keep changing under the copy`),
          );
        break;
      }
      const states = await Promise.all(pending.map((t) => this.state(t.location)));
      const exists = await Promise.all(states.map((st) => fileExists(st.file)));
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
          out.set(t.location, new RemoteOpError(w.error[0], w.error[1]));
          continue;
        }
        if ('missing' in w) {
          // No metrics yet (or any more): an empty mirror, like a local experiment without the file.
          if (st.offset !== 0 || !exists[i]) {
            await this.replace(st, Buffer.alloc(0), null);
            acc.reset = true;
          }
          out.set(t.location, acc);
          continue;
        }
        const data = Buffer.from(w.data, 'latin1');
        if (w.reset || w.start !== st.offset || !exists[i]) {
          if (w.start !== 0 && !w.reset) {
            // Not the continuation of our copy: ask again from the first byte.
            await this.replace(st, Buffer.alloc(0), null);
            acc.reset = true;
            next.push(t);
            continue;
          }
          await this.replace(st, data, w.ino);
          acc.reset = acc.reset || exists[i]!;
        } else if (data.length > 0) {
          await appendFile(st.file, data);
          st.offset += data.length;
          if (st.ino !== w.ino) await this.recordIno(st, w.ino);
        } else if (st.ino !== w.ino) {
          await this.recordIno(st, w.ino);
        }
        acc.bytes += data.length;
        this.stats.bytes += data.length;
        if (w.more) next.push(t);
        else out.set(t.location, acc);
      }
      pending = next;
    }
    return out;
  }

  /** Start the mirror over with these bytes (a new local file, renamed into place). */
  private async replace(st: MirrorState, data: Buffer, ino: number | null): Promise<void> {
    await mkdir(path.dirname(st.file), { recursive: true });
    const tmp = `${st.file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, st.file);
    st.offset = data.length;
    await this.recordIno(st, ino);
  }

  private async recordIno(st: MirrorState, ino: number | null): Promise<void> {
    st.ino = ino;
    await mkdir(st.dir, { recursive: true });
    await writeFile(path.join(st.dir, 'mirror.json'), JSON.stringify({ location: st.location, ino }));
  }
}

function fileExists(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}
