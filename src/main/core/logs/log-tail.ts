/**
 * Following a log by byte offset: each read returns only the bytes appended
 * since the last one, with the offset they start at, so a subscriber that
 * reconnects resumes exactly where it stopped — nothing lost, nothing doubled.
 *
 * Confined to its experiment: given the experiment folder, every read first
 * resolves the log's real path and reads it only when it lies inside the
 * folder's real path and is a regular file (a log replaced by a link to
 * /etc/shadow, or by a FIFO, is never opened), so a link planted after the
 * subscription is refused as well.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ConfinementError, resolveInside } from '../fs/confine';

export interface LogChunk {
  /** Byte offset of data[0] in the file. */
  offset: number;
  data: Buffer;
}

/** Reads beyond this many bytes per call are split across calls (bounded memory). */
const MAX_READ = 4 * 1024 * 1024;

/**
 * Open `file` for reading when it is a regular file inside `root` (when given);
 * null when it does not exist (yet). Throws ConfinementError naming the file
 * when it leads out of `root` or is not a regular file.
 */
export async function openLog(file: string, root?: string): Promise<FileHandle | null> {
  let real = file;
  if (root !== undefined) {
    try {
      real = await resolveInside(root, file, 'its experiment folder');
    } catch (err) {
      if (err instanceof ConfinementError && err.problem === 'missing') return null;
      throw err;
    }
  }
  let fh: FileHandle;
  try {
    // O_NOFOLLOW: the resolved path must not have become a link since; O_NONBLOCK: a FIFO never blocks the open.
    fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    if (code === 'ELOOP') throw new ConfinementError('outside', file, `${file} became a link: not followed`);
    throw new ConfinementError('unreadable', file, `cannot read ${file}: ${(err as Error).message}`);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new ConfinementError('unreadable', file, `${file} is not a regular file: not read`);
  }
  return fh;
}

export class LogTail {
  /** Why the last read was refused (a link out, not a regular file), or null. */
  refused: string | null = null;

  constructor(
    readonly file: string,
    public offset = 0,
    /** The experiment folder the log must stay inside; unset for a trusted path. */
    readonly root?: string,
  ) {}

  /** The bytes appended since the last call, or null when there are none (or no file yet, or it is refused). */
  async read(maxBytes = MAX_READ): Promise<LogChunk | null> {
    let fh: FileHandle | null;
    try {
      fh = await openLog(this.file, this.root);
    } catch (err) {
      if (!(err instanceof ConfinementError)) throw err;
      this.refused = err.message;
      return null;
    }
    this.refused = null;
    if (!fh) return null;
    try {
      const { size } = await fh.stat();
      if (size < this.offset) this.offset = 0; // truncated: start over
      if (size === this.offset) return null;
      const n = Math.min(size - this.offset, maxBytes);
      const data = Buffer.allocUnsafe(n);
      const { bytesRead } = await fh.read(data, 0, n, this.offset);
      const chunk = { offset: this.offset, data: data.subarray(0, bytesRead) };
      this.offset += bytesRead;
      return chunk;
    } finally {
      await fh.close();
    }
  }
}

/**
 * The offset of the last `bytes` of a file: where to open a multi-gigabyte log.
 * With `root`, throws ConfinementError when the file leads out of it or is not
 * a regular file (0 when it does not exist yet).
 */
export async function tailOffset(file: string, bytes: number, root?: string): Promise<number> {
  let fh: FileHandle | null;
  try {
    fh = await openLog(file, root);
  } catch (err) {
    if (root !== undefined) throw err;
    return 0;
  }
  if (!fh) return 0;
  try {
    const { size } = await fh.stat();
    return Math.max(0, size - bytes);
  } finally {
    await fh.close();
  }
}
