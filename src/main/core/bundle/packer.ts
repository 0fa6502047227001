/**
 * Writing a bundle's archive: entries one at a time into archiver (so a huge
 * tree never opens thousands of files at once), each hashed as it streams
 * through for the MANIFEST, with bytes reported as they pass. A .zip or a
 * .tar.gz, written to a partial file that is fsynced before it is renamed.
 *
 * A file entry is opened without following a link (O_NOFOLLOW) and without
 * blocking (O_NONBLOCK), and must still be the regular file the plan
 * lstat'ed (same device and inode): a file swapped for a link or a FIFO
 * between planning and packing fails the export instead of being read.
 */
import type { Archiver, ArchiverOptions } from 'archiver';
import { createHash } from 'node:crypto';
import { constants, createWriteStream, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Transform } from 'node:stream';
import { MANIFEST_NAME, manifestText, type ManifestEntry } from './manifest';

/**
 * The installed archiver (7) exports a factory function, while @types/archiver
 * (8) declares archiver 8's classes; the instance API used here is the same
 * in both, so the factory is loaded with its own signature.
 */
const createArchive = createRequire(import.meta.url)('archiver') as (
  format: 'zip' | 'tar',
  options?: ArchiverOptions,
) => Archiver;

export type BundleFormat = 'zip' | 'tar.gz';

/** A regular file to copy into the bundle. */
export interface FileItem {
  kind: 'file';
  /** Path inside the bundle folder, '/'-separated. */
  rel: string;
  /** Where to read it: a regular file (a link's resolved path when the link stays inside the experiment). */
  abs: string;
  size: number;
  mode: number;
  stats: Stats;
}
export interface BufferItem {
  kind: 'buffer';
  rel: string;
  data: Buffer;
  mode: number;
}
/** A link stored as a link (the source tree's symlinks, as git recorded them). */
export interface SymlinkItem {
  kind: 'symlink';
  rel: string;
  target: string;
}
export type Item = FileItem | BufferItem | SymlinkItem;

/** Thrown by the packer; the orchestrator turns it into a BundleError. */
export class PackError extends Error {
  constructor(
    message: string,
    readonly aborted = false,
  ) {
    super(message);
  }
}

export class Packer {
  readonly manifest: ManifestEntry[] = [];
  private readonly archive: Archiver;
  private readonly failure: Promise<never>;
  private fail!: (err: Error) => void;
  private readonly closed: Promise<void>;
  entries = 0;

  constructor(
    format: BundleFormat,
    private readonly partial: string,
    private readonly folder: string,
    private readonly onBytes: (n: number) => void,
  ) {
    this.failure = new Promise<never>((_resolve, reject) => {
      this.fail = reject;
    });
    // Always observed: a failure before anyone awaits must not be an unhandled rejection.
    this.failure.catch(() => undefined);
    this.archive =
      format === 'zip'
        ? createArchive('zip', { zlib: { level: 6 } })
        : createArchive('tar', { gzip: true, gzipOptions: { level: 6 } });
    // 'wx': the partial name is random; an existing file there is not ours to overwrite.
    const out = createWriteStream(partial, { flags: 'wx', mode: 0o644 });
    this.closed = new Promise<void>((resolve) => out.on('close', () => resolve()));
    out.on('error', (err) => this.fail(err));
    this.archive.on('error', (err) => this.fail(err));
    this.archive.on('warning', (err) => this.fail(err));
    this.archive.pipe(out);
  }

  /** Rejects when the archive or its file fails, or when `signal` aborts. */
  watch(signal?: AbortSignal): void {
    if (!signal) return;
    const onAbort = (): void => this.fail(new PackError('the export was interrupted', true));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }

  /** Resolves when the failure promise would reject: for waiting on one entry at a time. */
  private race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.failure]);
  }

  private nextEntry(): Promise<void> {
    return new Promise<void>((resolve) => this.archive.once('entry', () => resolve()));
  }

  async add(item: Item): Promise<void> {
    const name = `${this.folder}/${item.rel}`;
    if (item.kind === 'symlink') {
      const done = this.nextEntry();
      this.archive.symlink(name, item.target, 0o777);
      await this.race(done);
      this.manifest.push({
        path: item.rel,
        sha256: createHash('sha256').update(item.target).digest('hex'),
      });
    } else if (item.kind === 'buffer' || item.size === 0) {
      if (item.kind === 'file') await (await this.openPlanned(item)).close();
      const data = item.kind === 'buffer' ? item.data : Buffer.alloc(0);
      const done = this.nextEntry();
      this.archive.append(data, {
        name,
        mode: item.mode,
        date: item.kind === 'file' ? item.stats.mtime : new Date(),
      });
      await this.race(done);
      this.manifest.push({ path: item.rel, sha256: createHash('sha256').update(data).digest('hex') });
      this.onBytes(data.length);
    } else {
      const fh = await this.openPlanned(item);
      const hash = createHash('sha256');
      const onBytes = this.onBytes;
      const tap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          onBytes(chunk.length);
          cb(null, chunk);
        },
      });
      // Exactly the size recorded in the header (tar needs it first): a file
      // that grows meanwhile (a live log) is cut there, one that shrinks fails.
      const src = fh.createReadStream({ start: 0, end: item.size - 1 });
      const streamFailed = new Promise<never>((_resolve, reject) => {
        src.on('error', (err) => reject(new PackError(`cannot read ${item.abs}: ${err.message}`)));
        tap.on('error', reject);
      });
      streamFailed.catch(() => undefined);
      src.pipe(tap);
      const done = this.nextEntry();
      this.archive.append(tap, { name, mode: item.mode, stats: item.stats, date: item.stats.mtime });
      try {
        await Promise.race([this.race(done), streamFailed]);
      } finally {
        src.destroy();
      }
      this.manifest.push({ path: item.rel, sha256: hash.digest('hex') });
    }
    this.entries++;
  }

  /** Open a planned file: still the regular file that was lstat'ed, not a link or FIFO put in its place. */
  private async openPlanned(item: FileItem): Promise<FileHandle> {
    const fh = await open(item.abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
      (err: unknown) => {
        throw new PackError(`cannot read ${item.abs}: ${(err as Error).message}`);
      },
    );
    const st = await fh.stat();
    if (!st.isFile() || st.ino !== item.stats.ino || st.dev !== item.stats.dev) {
      await fh.close();
      throw new PackError(`${item.abs} changed while exporting (it is no longer the file that was planned)`);
    }
    return fh;
  }

  async finish(): Promise<void> {
    const text = manifestText(this.manifest);
    this.archive.append(Buffer.from(text), {
      name: `${this.folder}/${MANIFEST_NAME}`,
      mode: 0o644,
      date: new Date(),
    });
    await this.race(this.archive.finalize());
    await this.race(this.closed);
    // Durable before it gets its final name: a crash after the rename must not leave a torn bundle.
    const fh = await open(this.partial, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Wait until the export fails or is aborted (the interrupt test's hook). */
  async stall(): Promise<never> {
    // A pending promise alone does not keep Node running: hold the loop open.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      return await this.failure;
    } finally {
      clearInterval(keepAlive);
    }
  }

  async abort(): Promise<void> {
    this.archive.abort();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2000))]);
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some filesystems refuse to fsync a folder; the rename itself is still atomic.
  }
}
