/**
 * Incremental reader of a metrics.jsonl file, by byte offset. Each call reads
 * only the bytes appended since the last one, so following a growing file
 * costs O(appended), not O(file). A partial last line (no newline yet) is left
 * for the next call: a writer mid-flush must not produce a malformed record.
 * Malformed lines are skipped, counted and remembered with their line number.
 */
import type { Stats } from 'node:fs';
import { stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { openRegular } from '../fs/safe-read';
import { parseJsonLine } from '../../../shared/jsonl';

/** 4 MiB: large enough that syscalls do not dominate, small enough to stay cache-friendly. */
const CHUNK_BYTES = 4 * 1024 * 1024;
/** The longest metrics line read (newline included); a longer one is skipped as malformed. */
export const MAX_LINE_BYTES = CHUNK_BYTES;
/** Bytes before the offset remembered to detect a file replaced by one of equal or larger size. */
const FINGERPRINT_BYTES = 64;
/**
 * A file whose last change (mtime, ctime) was this long before a read is
 * "settled": a later change gets a later time. Younger, a change in the same
 * clock tick could keep size and times (Linux stamps files with a coarse
 * clock, FAT to 2 s), so such a file is always opened and read.
 */
const SETTLED_MS = 3000;

/**
 * What is wrong with a line: not JSON, binary bytes, longer than a read
 * chunk, JSON but not an object, or an object with values of the wrong type
 * (read, those values left out). The first four skip the line.
 */
export type LineFault = 'json' | 'binary' | 'long' | 'not-object' | 'wrong-type' | 'record';

/** Every line with one fault, folded: the first line, how many, their bytes. */
export interface MalformedLine {
  fault: LineFault;
  /** The first line with this fault. */
  line: number;
  count: number;
  /** Bytes of all such lines, and of the longest. */
  bytes: number;
  maxBytes: number;
  /** For wrong-type: the first offending key and what it held; for record: what is wrong with it. */
  detail?: string;
  /** Set by readers of other files than metrics.jsonl (TensorBoard event files, fault `record`): the file, and the byte offset. */
  file?: string;
  offset?: number;
}

export interface MetricsTailState {
  /** Bytes consumed: always just after a newline (or 0). */
  offset: number;
  /** Complete lines consumed (empty ones included), so the next line is lineCount + 1. */
  lineCount: number;
  /** Lines skipped (every fault but wrong-type). */
  malformedCount: number;
  /** One entry per fault met, in order of first appearance. */
  malformed: MalformedLine[];
  /** Up to FINGERPRINT_BYTES bytes ending at offset, base64, to detect a rewritten file. */
  fingerprint: string;
}

export function emptyTailState(): MetricsTailState {
  return { offset: 0, lineCount: 0, malformedCount: 0, malformed: [], fingerprint: '' };
}

export type RecordSink = (record: Record<string, unknown>, line: number) => void;

export interface ReadResult {
  /** The file shrank or was replaced: the state was reset and the whole file re-read. */
  reset: boolean;
  bytes: number;
  lines: number;
}

/** The file as a read left it: unchanged since (same inode, size and times), there is nothing to read. */
interface Settled {
  state: MetricsTailState;
  offset: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export class MetricsTail {
  /**
   * The inode of the file read so far (null: not known yet). Another inode
   * means the file was replaced — even by one that starts with the same bytes.
   */
  ino: number | null = null;
  /** Times the file was opened (tests: a settled, unchanged file costs one stat, not an open and a read). */
  opens = 0;
  private settled: Settled | null = null;

  constructor(
    readonly file: string,
    public state: MetricsTailState = emptyTailState(),
    private readonly chunkBytes = CHUNK_BYTES,
    /** How old a file's last change must be for its times to be trusted (tests: 0). */
    private readonly settledMs = SETTLED_MS,
  ) {}

  /**
   * Read what was appended since the last call and hand each record to `sink`.
   * When the file no longer continues what was read (shrunk, replaced), the
   * state is reset and `onReset` runs before the file is re-read from the start.
   */
  async readAppended(sink: RecordSink, onReset?: () => void): Promise<ReadResult> {
    // A chart of 100 finished runs asks for each run's series again and again: one stat each.
    if (await this.unchanged()) return { reset: false, bytes: 0, lines: 0 };
    // Never blocks on a FIFO and refuses anything but a regular file; reads are by range.
    const label = path.join(path.basename(path.dirname(this.file)), path.basename(this.file));
    const { fh, stat } = await openRegular(this.file, { label });
    this.opens++;
    this.settled = null;
    try {
      const { size } = stat;
      let reset = false;
      const replaced = this.ino !== null && stat.ino !== this.ino;
      this.ino = stat.ino;
      if (replaced || !(await this.continuesFrom(fh, size))) {
        this.state = emptyTailState();
        onReset?.();
        reset = true;
      }
      const start = this.state.offset;
      const startLines = this.state.lineCount;
      await this.readRange(fh, start, size, sink);
      this.settle(stat);
      return { reset, bytes: this.state.offset - start, lines: this.state.lineCount - startLines };
    } finally {
      await fh.close();
    }
  }

  /** Remember the file as read up to `st.size`, if its last change is old enough to trust its times. */
  private settle(st: Stats): void {
    if (Date.now() - Math.max(st.mtimeMs, st.ctimeMs) < this.settledMs) return;
    const { ino, size, mtimeMs, ctimeMs } = st;
    this.settled = { state: this.state, offset: this.state.offset, ino, size, mtimeMs, ctimeMs };
  }

  /**
   * Whether the file is as the last read left it — same reader state, same
   * inode, size, mtime and ctime — so nothing was appended or replaced.
   * Anything else (changed, missing, no longer a regular file) is read the
   * ordinary way, which opens it safely and says what is wrong.
   */
  private async unchanged(): Promise<boolean> {
    const s = this.settled;
    if (s === null || s.state !== this.state || s.offset !== this.state.offset || s.ino !== this.ino)
      return false;
    const st = await stat(this.file).catch(() => null);
    return (
      st !== null &&
      st.isFile() &&
      st.ino === s.ino &&
      st.size === s.size &&
      st.mtimeMs === s.mtimeMs &&
      st.ctimeMs === s.ctimeMs
    );
  }

  private async continuesFrom(fh: FileHandle, size: number): Promise<boolean> {
    const { offset, fingerprint } = this.state;
    if (offset === 0) return true;
    if (size < offset) return false;
    const expected = Buffer.from(fingerprint, 'base64');
    const actual = Buffer.alloc(expected.length);
    await fh.read(actual, 0, actual.length, offset - actual.length);
    return actual.equals(expected);
  }

  private async readRange(fh: FileHandle, start: number, end: number, sink: RecordSink): Promise<void> {
    const buf = Buffer.allocUnsafe(Math.min(this.chunkBytes, Math.max(end - start, 1)));
    let pos = start; // file position of buf[0]
    let filled = 0; // bytes of buf holding data not yet consumed
    const st = this.state;
    while (pos + filled < end) {
      if (filled === buf.length) {
        // One line longer than the whole chunk: no metrics record is that big,
        // so count it as malformed and skip to its end instead of buffering it.
        const skipped = await this.skipLongLine(fh, pos + filled, end);
        if (skipped === null) break; // no newline yet: wait for the writer
        st.lineCount++;
        this.malformed('long', skipped - pos);
        pos = skipped;
        st.offset = pos;
        st.fingerprint = '';
        filled = 0;
        continue;
      }
      const want = Math.min(buf.length - filled, end - (pos + filled));
      const { bytesRead } = await fh.read(buf, filled, want, pos + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      const consumed = this.consumeLines(buf, filled, sink);
      if (consumed === 0) continue; // no complete line yet
      pos += consumed;
      // Keep the partial tail of this chunk at the start of the buffer.
      buf.copy(buf, 0, consumed, filled);
      filled -= consumed;
    }
  }

  /**
   * Consume the complete lines at the start of `buf[0, filled)`, whose first
   * byte is the byte at the current offset; returns the bytes consumed (0 when
   * no line is complete yet) and advances offset, line count and fingerprint.
   */
  private consumeLines(buf: Buffer, filled: number, sink: RecordSink): number {
    const lastNl = buf.lastIndexOf(10, filled - 1);
    if (lastNl < 0) return 0;
    const st = this.state;
    // Newline bytes never occur inside a UTF-8 multi-byte sequence, so cutting
    // at a newline never splits a character.
    const text = buf.toString('utf8', 0, lastNl);
    // A line's size in bytes (its newline included) is only needed for a faulty line. Bytes that
    // are not UTF-8 decode to U+FFFD, so it is measured in `buf`: newlines map one to one, and a
    // cursor that only moves forward keeps it linear however many lines are faulty.
    let lineIndex = 0;
    let cursorLine = 0;
    let cursorByte = 0;
    const bytesOf = (): number => {
      for (; cursorLine < lineIndex; cursorLine++) cursorByte = buf.indexOf(10, cursorByte) + 1;
      const end = buf.indexOf(10, cursorByte);
      return (end < 0 || end > lastNl ? lastNl : end) - cursorByte + 1;
    };
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      const raw = nl < 0 ? text.slice(from) : text.slice(from, nl);
      st.lineCount++;
      this.handleLine(raw, sink, bytesOf);
      if (nl < 0) break;
      from = nl + 1;
      lineIndex++;
    }
    const consumed = lastNl + 1;
    st.offset += consumed;
    st.fingerprint = buf.toString('base64', Math.max(0, consumed - FINGERPRINT_BYTES), consumed);
    return consumed;
  }

  /**
   * Consume bytes read elsewhere (a remote workspace ships them): `data` starts
   * at the current offset. Complete lines are handed to `sink`; a trailing
   * partial line is left for the next call, which must start at the new offset.
   */
  feed(data: Buffer, sink: RecordSink): ReadResult {
    const startLines = this.state.lineCount;
    const startOffset = this.state.offset;
    let from = 0;
    while (from < data.length) {
      // A line longer than a read chunk is skipped, as readAppended skips it.
      const long = this.longLineAt(data, from);
      const upto = long < 0 ? data.length : long;
      if (upto > from) from += this.consumeLines(data.subarray(from, upto), upto - from, sink);
      if (long < 0 || from !== long) break;
      const nl = data.indexOf(10, long);
      if (nl < 0) break; // no newline yet: wait for the writer
      this.skipLineTo(startOffset + nl + 1);
      from = nl + 1;
    }
    return { reset: false, bytes: this.state.offset - startOffset, lines: this.state.lineCount - startLines };
  }

  /** Where the first line longer than a read chunk (its newline included) starts in `data[from…]`, or -1. */
  private longLineAt(data: Buffer, from: number): number {
    if (data.length - from <= this.chunkBytes) return -1;
    for (let pos = from; pos < data.length;) {
      const nl = data.indexOf(10, pos);
      const end = nl < 0 ? data.length : nl + 1;
      if (end - pos > this.chunkBytes) return pos;
      if (nl < 0) return -1;
      pos = end;
    }
    return -1;
  }

  /** Skip a line too long to be a metrics record, ending at byte `end` (found by whoever read the file). */
  skipLineTo(end: number): void {
    this.state.lineCount++;
    this.malformed('long', end - this.state.offset);
    this.state.offset = end;
    this.state.fingerprint = '';
  }

  /** Position just after the next newline at or after `from`, or null when there is none before `end`. */
  private async skipLongLine(fh: FileHandle, from: number, end: number): Promise<number | null> {
    const probe = Buffer.allocUnsafe(64 * 1024);
    for (let p = from; p < end;) {
      const { bytesRead } = await fh.read(probe, 0, Math.min(probe.length, end - p), p);
      if (bytesRead === 0) return null;
      const nl = probe.subarray(0, bytesRead).indexOf(10);
      if (nl >= 0) return p + nl + 1;
      p += bytesRead;
    }
    return null;
  }

  private handleLine(raw: string, sink: RecordSink, bytesOf: () => number): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length === 0 || line.trim().length === 0) return;
    const st = this.state;
    let record: unknown;
    try {
      record = parseJsonLine(line);
    } catch {
      // Never the parser's words: binary bytes are described, not echoed (issue 16).
      this.malformed(looksBinary(line) ? 'binary' : 'json', bytesOf());
      return;
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      this.malformed('not-object', bytesOf());
      return;
    }
    const wrong = wrongTypedValue(record as Record<string, unknown>);
    if (wrong !== null) this.malformed('wrong-type', bytesOf(), wrong);
    sink(record as Record<string, unknown>, st.lineCount);
  }

  private malformed(fault: LineFault, bytes: number, detail?: string): void {
    const st = this.state;
    if (fault !== 'wrong-type') st.malformedCount++;
    const had = st.malformed.find((m) => m.fault === fault);
    if (had) {
      had.count++;
      had.bytes += bytes;
      had.maxBytes = Math.max(had.maxBytes, bytes);
      return;
    }
    st.malformed.push({
      fault,
      line: st.lineCount,
      count: 1,
      bytes,
      maxBytes: bytes,
      ...(detail ? { detail } : {}),
    });
  }
}

/** NUL or other control bytes (tab, CR aside), or bytes that were not UTF-8: not a line of text. */
function looksBinary(line: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffd]/.test(line);
}

/**
 * Whether a record's value has the type its key wants: the seed's reserved keys
 * theirs, a metric (the seed's `prefix/name`) a number or null (Python's None);
 * keys without a slash are free-form extras and may hold anything. A switch,
 * not a lookup table: keys come from the file, and "constructor" must not find
 * Object's.
 */
function typeFits(key: string, v: unknown): boolean {
  switch (key) {
    case 'step':
      return typeof v === 'number';
    case 'prefix':
      return typeof v === 'string';
    case 'timestamp':
      // The seed writes isoformat strings; epoch seconds are common elsewhere.
      return typeof v === 'string' || typeof v === 'number';
    default:
      return v === null || typeof v === 'number' || !key.includes('/');
  }
}

/** The first value of a record with the wrong type ("step" is a string), or null when all are right. */
export function wrongTypedValue(record: Record<string, unknown>): string | null {
  for (const key in record) {
    const v = record[key];
    if (typeFits(key, v)) continue;
    const got =
      v === null
        ? 'null'
        : Array.isArray(v)
          ? 'a list'
          : typeof v === 'object'
            ? 'an object'
            : `a ${typeof v}`;
    return `${JSON.stringify(key.length > 60 ? key.slice(0, 60) + '…' : key)} is ${got}`;
  }
  return null;
}
