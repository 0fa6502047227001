/**
 * The one way files of an experiment folder (and Expdesk's own cache files)
 * are opened for reading. A folder is untrusted: a FIFO named metrics.jsonl
 * would block `open(2)` until a writer appears (holding one of libuv's four
 * thread-pool threads, and with them every later file call and shutdown), a
 * device would never end, a multi-GB "config" would fill memory. So:
 *
 * - the file is opened with O_NONBLOCK (opening a FIFO never waits), and
 *   O_NOFOLLOW when the caller has already resolved the path;
 * - the *opened* descriptor is fstat'ed and must be a regular file: checking
 *   the path before opening it would race with a swap to a FIFO;
 * - at most `maxBytes` are read; a larger file is refused (or, for
 *   `openRegular` callers, read by range).
 *
 * A refused file is a `SafeReadError` whose message names the file and says
 * what it is ("logs/metrics.jsonl is a FIFO, not a regular file").
 */
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Flags for reading an untrusted path: never block on open (FIFOs), never a controlling tty. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | (constants.O_NOCTTY ?? 0);

export interface SafeOpenOptions {
  /** Refuse a symlink as the last component (for a path already resolved with realpath). */
  noFollow?: boolean;
  /** How the file is named in messages (a relative name such as "config.yaml"); default the path. */
  label?: string;
}

export interface SafeReadOptions extends SafeOpenOptions {
  /** Largest file read whole; a larger one is refused with code EFBIG. */
  maxBytes: number;
}

/** Why a file was not read: its `code` is ENOTREG (not a regular file), EFBIG (too large) or a system code. */
export class SafeReadError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SafeReadError';
  }
}

/** What a non-regular file is, for messages. */
export function fileKind(
  st: Pick<Stats, 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice' | 'isDirectory'>,
): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

function notRegular(label: string, st: Stats): SafeReadError {
  const kind = fileKind(st);
  return new SafeReadError(
    'ENOTREG',
    kind === 'not a regular file'
      ? `${label} is not a regular file`
      : `${label} is ${kind}, not a regular file`,
  );
}

function tooLarge(label: string, size: number, maxBytes: number): SafeReadError {
  return new SafeReadError('EFBIG', `${label} is ${size} bytes: too large to read (limit ${maxBytes})`);
}

function openError(err: unknown, label: string, noFollow: boolean): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  // O_NOFOLLOW on a symlink fails with ELOOP (without it, ELOOP is a link loop); a socket cannot be opened (ENXIO).
  if (code === 'ELOOP' && noFollow)
    return new SafeReadError('ELOOP', `${label} is a symbolic link, not followed`);
  if (code === 'ENXIO') return new SafeReadError('ENOTREG', `${label} is a socket, not a regular file`);
  return err;
}

/**
 * Open a regular file for reading without ever blocking on the open; rejects
 * with a SafeReadError for anything else (FIFO, socket, device, folder) and
 * with the system error (ENOENT, EACCES, …) when it cannot be opened.
 */
export async function openRegular(
  file: string,
  options: SafeOpenOptions = {},
): Promise<{ fh: FileHandle; stat: Stats }> {
  const label = options.label ?? file;
  const flags = READ_FLAGS | (options.noFollow ? constants.O_NOFOLLOW : 0);
  let fh: FileHandle;
  try {
    fh = await open(file, flags);
  } catch (err) {
    throw openError(err, label, options.noFollow === true);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(label, st);
    return { fh, stat: st };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/** Read `want` bytes from the start of an opened file (fewer if it shrank). */
async function readHead(fh: FileHandle, want: number): Promise<Buffer> {
  const buf = Buffer.alloc(want);
  let got = 0;
  while (got < want) {
    const { bytesRead } = await fh.read(buf, got, want - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === want ? buf : buf.subarray(0, got);
}

/** A regular file's bytes, whole, at most `maxBytes` (a larger file is refused). */
export async function readRegularFile(file: string, options: SafeReadOptions): Promise<Buffer> {
  const label = options.label ?? file;
  const { fh, stat } = await openRegular(file, options);
  try {
    if (stat.size > options.maxBytes) throw tooLarge(label, stat.size, options.maxBytes);
    // One byte more than the stat said tells a file that grew past the bound since.
    const buf = await readHead(fh, Math.min(stat.size + 1, options.maxBytes + 1));
    if (buf.length > options.maxBytes) throw tooLarge(label, buf.length, options.maxBytes);
    return buf;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** A regular file's text (UTF-8), at most `maxBytes`. */
export async function readRegularText(file: string, options: SafeReadOptions): Promise<string> {
  return (await readRegularFile(file, options)).toString('utf8');
}

/**
 * The start of a regular file: up to `maxBytes`, with its size. For files
 * shown truncated (file.read) rather than refused when large.
 */
export async function readRegularHead(
  file: string,
  maxBytes: number,
  options: SafeOpenOptions = {},
): Promise<{ data: Buffer; size: number }> {
  const { fh, stat } = await openRegular(file, options);
  try {
    return { data: await readHead(fh, Math.min(stat.size, maxBytes)), size: stat.size };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * The synchronous form, for the listing's worker thread and the few
 * synchronous callers. Self-contained on purpose (it takes `fs` and refers to
 * nothing else, and declares no inner functions, which tsx/esbuild's
 * keepNames would wrap in a helper): fs-batch's worker is eval'd from text
 * and embeds this function's source, so the worker and the main thread share
 * one implementation. Throws an Error with `code` ENOTREG / EFBIG / ELOOP, or
 * the system error.
 */
export function readRegularFileSync(
  fs: typeof import('node:fs'),
  file: string,
  maxBytes: number,
  label?: string,
  noFollow?: boolean,
): Buffer {
  const name = label === undefined ? file : label;
  const c = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, c.O_RDONLY | c.O_NONBLOCK | (c.O_NOCTTY || 0) | (noFollow ? c.O_NOFOLLOW : 0));
  } catch (e) {
    const code = e && (e as { code?: string }).code;
    if (code === 'ELOOP' && noFollow)
      throw Object.assign(new Error(name + ' is a symbolic link, not followed'), { code });
    if (code === 'ENXIO') {
      throw Object.assign(new Error(name + ' is a socket, not a regular file'), { code: 'ENOTREG' });
    }
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isFIFO()
        ? ' is a FIFO, not a regular file'
        : st.isSocket()
          ? ' is a socket, not a regular file'
          : st.isCharacterDevice()
            ? ' is a character device, not a regular file'
            : st.isBlockDevice()
              ? ' is a block device, not a regular file'
              : st.isDirectory()
                ? ' is a folder, not a regular file'
                : ' is not a regular file';
      throw Object.assign(new Error(name + kind), { code: 'ENOTREG' });
    }
    let size = st.size;
    let buf: Buffer | null = null;
    let got = 0;
    if (size <= maxBytes) {
      // One byte more than the stat said tells a file that grew past the bound since.
      const want = Math.min(size + 1, maxBytes + 1);
      buf = Buffer.alloc(want);
      while (got < want) {
        const n = fs.readSync(fd, buf, got, want - got, got);
        if (n === 0) break;
        got += n;
      }
      size = got;
    }
    if (buf === null || got > maxBytes) {
      throw Object.assign(
        new Error(name + ' is ' + size + ' bytes: too large to read (limit ' + maxBytes + ')'),
        {
          code: 'EFBIG',
        },
      );
    }
    return got === buf.length ? buf : buf.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}
