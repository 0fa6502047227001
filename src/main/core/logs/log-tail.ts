/**
 * Following a log by byte offset: each read returns only the bytes appended
 * since the last one, with the offset they start at, so a subscriber that
 * reconnects resumes exactly where it stopped — nothing lost, nothing doubled.
 */
import { open } from 'node:fs/promises';

export interface LogChunk {
  /** Byte offset of data[0] in the file. */
  offset: number;
  data: Buffer;
}

/** Reads beyond this many bytes per call are split across calls (bounded memory). */
const MAX_READ = 4 * 1024 * 1024;

export class LogTail {
  constructor(
    readonly file: string,
    public offset = 0,
  ) {}

  /** The bytes appended since the last call, or null when there are none (or no file yet). */
  async read(maxBytes = MAX_READ): Promise<LogChunk | null> {
    let fh;
    try {
      fh = await open(this.file, 'r');
    } catch {
      return null;
    }
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

/** The offset of the last `bytes` of a file: where to open a multi-gigabyte log. */
export async function tailOffset(file: string, bytes: number): Promise<number> {
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      return Math.max(0, size - bytes);
    } finally {
      await fh.close();
    }
  } catch {
    return 0;
  }
}
