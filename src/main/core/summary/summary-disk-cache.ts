/**
 * The summary cache on disk, under the user's cache folder (never inside an
 * experiment): one file per folder of experiments — the parent of each
 * experiment folder, or of a remote location — holding the entries of all of
 * its experiments, or `shards` files that share them out by key. A listing
 * of 5,000 experiments reads one file (or a few) instead of 5,000; where one
 * experiment changed, sharded entries cost a read and a write of its shard
 * only (the full entries of 5,000 seed-written runs are ~13 MB). Entries are only ever trusted after their input
 * files' signatures match (summary-store.ts), so a lost or stale file costs a
 * re-read, never a wrong summary; two processes writing one file keep the
 * last writer's entries.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { readText, writeAtomic } from '../workspace/fs-batch';

/** A cache file larger than this is damaged (or not ours): rebuilt instead of read. */
const MAX_FILE_BYTES = 512 * 1024 * 1024;

interface CacheFile<E> {
  version: number;
  folder: string;
  /** One object per entry, by key (without a codec)… */
  entries?: Record<string, E>;
  /** …or the codec's form of them (e.g. one array per field: a warm listing parses fewer objects). */
  columns?: unknown;
}

/** Another form of a file's entries than one object each (listing-cache.ts: one array per field). */
export interface EntryCodec<E> {
  encode(entries: Map<string, E>): unknown;
  /** The entries back, by key; null when the form is damaged (the file is then ignored as a whole). */
  decode(columns: unknown): Map<string, E> | null;
}

function hashed(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 40);
}

/** A key's shard among `shards` (FNV-1a of its UTF-16 units: cheap, and the same in every process). */
function shardOf(key: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}

/** The folder an entry's file is named after: the experiment's parent (`ssh://h/a/exp` → `ssh://h/a`). */
function folderOf(key: string): string {
  const trimmed = key.replace(/[\\/]+$/, '');
  const cut = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return cut > 0 ? trimmed.slice(0, cut) : trimmed;
}

export class SummaryDiskCache<E extends { version: number; dir: string }> {
  /** Each file's entries as read from disk (read once per process), by file. */
  private readonly files = new Map<string, Promise<Map<string, E>>>();
  /** Each file's entries once read: what peek() answers from, without a promise. */
  private readonly ready = new Map<string, Map<string, E>>();
  /** Entries kept since the last write, by file. */
  private readonly pending = new Map<string, Map<string, E>>();

  constructor(
    private readonly dir: string,
    private readonly version: number,
    /** Whether an entry read from disk has the shape written (else it is ignored, never trusted). */
    private readonly valid: (entry: E) => boolean = () => true,
    private readonly codec: EntryCodec<E> | null = null,
    /** How many files a folder's entries are shared out among, by key. */
    private readonly shards = 1,
  ) {}

  /** The files' path of each folder seen, without its shard and extension (a listing asks 5,000 times). */
  private readonly fileByFolder = new Map<string, string>();

  /** The file of each key seen (a listing asks for each of 5,000 keys more than once). */
  private readonly fileByKey = new Map<string, string>();

  private fileOf(key: string): string {
    let file = this.fileByKey.get(key);
    if (file) return file;
    const folder = folderOf(key);
    let base = this.fileByFolder.get(folder);
    if (!base) this.fileByFolder.set(folder, (base = path.join(this.dir, hashed(folder))));
    file = this.shards > 1 ? `${base}-${shardOf(key, this.shards)}.json` : `${base}.json`;
    this.fileByKey.set(key, file);
    return file;
  }

  private load(file: string): Promise<Map<string, E>> {
    let loaded = this.files.get(file);
    if (!loaded) {
      loaded = (async () => {
        try {
          const parsed = JSON.parse(await readText(file, MAX_FILE_BYTES)) as Partial<CacheFile<E>>;
          const read =
            parsed.version !== this.version
              ? null
              : this.codec
                ? this.codec.decode(parsed.columns)
                : parsed.entries && typeof parsed.entries === 'object'
                  ? Object.entries(parsed.entries)
                  : null;
          if (read) {
            // Checked once as read: an entry of another version, key or shape is dropped, never trusted.
            const kept = new Map<string, E>();
            for (const [key, e] of read)
              if (typeof e === 'object' && e && e.version === this.version && e.dir === key && this.valid(e))
                kept.set(key, e);
            return kept;
          }
        } catch {
          // no cache yet, or a damaged one: rebuilt
        }
        return new Map<string, E>();
      })();
      loaded = loaded.then((m) => (this.ready.set(file, m), m));
      this.files.set(file, loaded);
    }
    return loaded;
  }

  /** The entry kept for `key`, or null. */
  async get(key: string): Promise<E | null> {
    const file = this.fileOf(key);
    // Entries read were checked by load(); kept ones are this process's own.
    return this.pending.get(file)?.get(key) ?? (await this.load(file)).get(key) ?? null;
  }

  /** The entry kept for `key` if its file was read already (else undefined): get() without a promise. */
  peek(key: string): E | null | undefined {
    const file = this.fileOf(key);
    const kept = this.pending.get(file)?.get(key);
    if (kept) return kept;
    const read = this.ready.get(file);
    return read ? (read.get(key) ?? null) : undefined;
  }

  /** Keep an entry; it reaches the disk at the next write(). */
  put(entry: E): void {
    const file = this.fileOf(entry.dir);
    let kept = this.pending.get(file);
    if (!kept) this.pending.set(file, (kept = new Map()));
    kept.set(entry.dir, entry);
  }

  hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** Write every file with entries kept since the last write (temp file + rename); failures only cost speed. */
  async write(): Promise<void> {
    const files = [...this.pending];
    this.pending.clear();
    await Promise.all(
      files.map(async ([file, kept]) => {
        const entries = await this.load(file);
        for (const [key, entry] of kept) entries.set(key, entry);
        const doc: CacheFile<E> = {
          version: this.version,
          folder: folderOf(kept.keys().next().value ?? ''),
          ...(this.codec
            ? { columns: this.codec.encode(entries) }
            : { entries: Object.fromEntries(entries) }),
        };
        await writeQuietly(file, JSON.stringify(doc));
        if (this.shards > 1) await this.dropUnsharded(file);
      }),
    );
  }

  /** Folders whose unsharded file (an earlier build's) was removed, or found absent, by this process. */
  private readonly unshardedGone = new Set<string>();

  /** A sharded file's folder no longer needs the one file of an earlier build: removed, quietly. */
  private async dropUnsharded(shardFile: string): Promise<void> {
    const whole = shardFile.replace(/-\d+\.json$/, '.json');
    if (this.unshardedGone.has(whole)) return;
    this.unshardedGone.add(whole);
    await rm(whole, { force: true }).catch(() => undefined);
  }

  /** A small JSON document beside the summaries (remote workspaces: the last listing's folders). */
  async readAux<T>(name: string): Promise<T | null> {
    try {
      return JSON.parse(await readText(this.auxFile(name), MAX_FILE_BYTES)) as T;
    } catch {
      return null;
    }
  }

  async writeAux(name: string, value: unknown): Promise<void> {
    await writeQuietly(this.auxFile(name), JSON.stringify(value));
  }

  private auxFile(name: string): string {
    return path.join(this.dir, `aux-${hashed(name)}.json`);
  }
}

/** Write one cache file atomically; a read-only or full cache folder only costs speed. */
async function writeQuietly(file: string, text: string): Promise<void> {
  try {
    await writeAtomic(file, text);
  } catch {
    // The disk cache is an optimisation.
  }
}
