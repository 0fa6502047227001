/**
 * Incremental reader of a TensorBoard run: the `events.out.tfevents.*` files
 * directly in one folder (TensorBoard's rule for what a run is), by byte
 * offset per file, like MetricsTail reads metrics.jsonl. It has MetricsTail's
 * shape (`state`, `ino`, `readAppended`), so a MetricsFeed — and through it
 * the summary and the chart's columns — reads either without knowing which.
 *
 * - A record is framed as TFRecord: each one's length and data are checked
 *   against their masked crc32c. A damaged record is a problem naming the
 *   file and byte offset, and reading goes on: after a bad data checksum at
 *   the next record (the length was good), after a bad length checksum at the
 *   next offset where a record header checks out.
 * - A record not yet whole (a writer mid-flush) waits for the next read.
 * - Each event becomes one record `{step, timestamp, <tag>: value…}` (the
 *   wall time as Unix seconds), so the fold and columns are metrics.jsonl's.
 *   Several files with new records in one read are merged by step.
 * - hparams (the "hparams" plugin's session start) are kept as the run's
 *   config. NaN and ±Inf are passed on as they are (the fold counts them).
 */
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { openRegular } from '../fs/safe-read';
import { readDirents } from '../workspace/fast-fs';
import { isTfeventsName, TFEVENTS_PREFIX } from '../workspace/layout';
import type { JsonValue } from '../../../shared/model';
import { decodeEvent, maskedCrc32c, type DecodedEvent, type TagPlugins } from './tfevents-decode';
import { MultiFileTail } from './multi-file-tail';
import type { MalformedLine, MetricsTailState, ReadResult, RecordSink } from './metrics-tail';

/** The feed key of a folder's event files (a MetricsFeeds key, never a file on disk). */
export const TFEVENTS_KEY = `${TFEVENTS_PREFIX}*`;

/** The feed key of the event files of `dir`. */
export function tfeventsKey(dir: string): string {
  return path.join(dir, TFEVENTS_KEY);
}

export function isTfeventsKey(file: string): boolean {
  return path.basename(file) === TFEVENTS_KEY;
}

const CHUNK_BYTES = 4 * 1024 * 1024;
/** A record longer than this (a huge image or graph) is skipped unread: no scalar is that big. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;
const HEADER = 12;
const FOOTER = 4;
const MAX_REMEMBERED_ERRORS = 50;

interface EventsFileState {
  name: string;
  offset: number;
  ino: number;
  /** Inside a damaged stretch (a bad length checksum): looking for the next good header. */
  resync: boolean;
}

export interface EventsTailState extends MetricsTailState {
  files?: EventsFileState[];
  plugins?: TagPlugins;
  /** The run's hparams (its config), from the last hparams summary read. */
  hparams?: Record<string, JsonValue> | null;
}

interface Ranged {
  step: number;
  record: Record<string, unknown>;
}

function toRecord(ev: DecodedEvent): Record<string, unknown> {
  const record: Record<string, unknown> = { step: ev.step, timestamp: ev.wallTime };
  for (const [tag, value] of ev.scalars) {
    // Tags are data: one named like a reserved key or __proto__ must not change the record's shape.
    if (tag === 'step' || tag === 'timestamp' || tag === 'prefix' || tag === '__proto__') continue;
    record[tag] = value;
  }
  return record;
}

export class EventsTail extends MultiFileTail<EventsTailState> {
  protected normalize(state?: MetricsTailState): EventsTailState {
    const s = (state ?? {}) as Partial<EventsTailState>;
    return {
      ...this.common(s),
      files: s.files ?? [],
      plugins: s.plugins ?? {},
      hparams: s.hparams ?? null,
    };
  }

  async readAppended(sink: RecordSink, onReset?: () => void): Promise<ReadResult> {
    const names = (await readDirents(this.dir))
      .filter((d) => isTfeventsName(d.name) && !d.isDirectory())
      .map((d) => d.name)
      .sort();
    const known = new Map((this.st.files ?? []).map((f) => [f.name, f]));
    const opened: { name: string; fh: FileHandle; size: number; ino: number }[] = [];
    let reset = names.length < known.size || [...known.keys()].some((n) => !names.includes(n));
    try {
      for (const name of names) {
        const { fh, stat } = await openRegular(path.join(this.dir, name), { label: name });
        opened.push({ name, fh, size: stat.size, ino: stat.ino });
        const k = known.get(name);
        if (k && (k.ino !== stat.ino || stat.size < k.offset)) reset = true;
      }
      if (reset) {
        this.st = this.normalize();
        onReset?.();
      }
      const startOffset = this.st.offset;
      const startLines = this.st.lineCount;
      const files = new Map((this.st.files ?? []).map((f) => [f.name, f]));
      const growing = opened.filter((o) => o.size > (files.get(o.name)?.offset ?? 0));
      // One file with new records (the usual case) streams; several are merged by step.
      const merged: Ranged[] = [];
      const merge = growing.length > 1;
      for (const o of growing) {
        let f = files.get(o.name);
        if (!f) {
          f = { name: o.name, offset: 0, ino: o.ino, resync: false };
          files.set(o.name, f);
        }
        await this.readFile(o.fh, o.size, f, (rec) => {
          if (merge) merged.push({ step: rec.step as number, record: rec });
          else sink(rec, this.st.lineCount);
        });
      }
      if (merge) {
        merged.sort((a, b) => a.step - b.step); // stable: one file's order kept within a step
        for (const m of merged) sink(m.record, this.st.lineCount);
      }
      this.st.files = [...files.values()].sort((a, b) => a.name.localeCompare(b.name));
      this.st.offset = this.st.files.reduce((acc, f) => acc + f.offset, 0);
      return { reset, bytes: this.st.offset - startOffset, lines: this.st.lineCount - startLines };
    } finally {
      await Promise.all(opened.map((o) => o.fh.close()));
    }
  }

  private damaged(f: EventsFileState, at: number, why: string): void {
    const st = this.st;
    st.malformedCount++;
    if (st.malformed.length < MAX_REMEMBERED_ERRORS) {
      const entry: MalformedLine = {
        fault: 'record',
        line: 0,
        count: 1,
        bytes: 0,
        maxBytes: 0,
        file: f.name,
        offset: at,
        detail: why,
      };
      st.malformed.push(entry);
    }
  }

  /** Read the whole records of one file from its offset to `size`. */
  private async readFile(
    fh: FileHandle,
    size: number,
    f: EventsFileState,
    emit: (rec: Record<string, unknown>) => void,
  ): Promise<void> {
    let buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(size - f.offset, HEADER)));
    let pos = f.offset; // file position of buf[0]
    let filled = 0;
    for (;;) {
      if (filled < buf.length && pos + filled < size) {
        const want = Math.min(buf.length - filled, size - pos - filled);
        const { bytesRead } = await fh.read(buf, filled, want, pos + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      const r = this.records(buf, filled, pos, size, f, emit);
      if (r.skipTo !== null) {
        // A record too large to be a scalar, whole in the file: skipped unread.
        pos = f.offset = r.skipTo;
        filled = 0;
        continue;
      }
      f.offset = pos + r.consumed;
      buf.copy(buf, 0, r.consumed, filled);
      filled -= r.consumed;
      pos += r.consumed;
      if (r.wait || pos + filled >= size) break;
      if (r.need > buf.length) {
        const bigger = Buffer.allocUnsafe(r.need);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
    }
  }

  /**
   * The whole records at the start of buf[0, filled) (buf[0] is at file
   * position `pos`): how many bytes were consumed, how many one record needs
   * (when it is not whole in buf), where to skip to past a huge record, and
   * whether to wait for the writer.
   */
  private records(
    buf: Buffer,
    filled: number,
    pos: number,
    size: number,
    f: EventsFileState,
    emit: (rec: Record<string, unknown>) => void,
  ): { consumed: number; need: number; skipTo: number | null; wait: boolean } {
    const plugins = (this.st.plugins ??= {});
    let i = 0;
    while (i + HEADER <= filled) {
      if (maskedCrc32c(buf, i, i + 8) !== buf.readUInt32LE(i + 8)) {
        // In a damaged stretch: reported once, then every offset is tried until a header checks out.
        if (!f.resync) this.damaged(f, pos + i, 'length checksum mismatch');
        f.resync = true;
        i++;
        continue;
      }
      f.resync = false;
      const len = Number(buf.readBigUInt64LE(i));
      const total = HEADER + len + FOOTER;
      if (len > MAX_RECORD_BYTES) {
        if (pos + i + total > size) return { consumed: i, need: 0, skipTo: null, wait: true };
        this.damaged(f, pos + i, `record of ${len} bytes skipped (larger than ${MAX_RECORD_BYTES})`);
        return { consumed: i, need: 0, skipTo: pos + i + total, wait: false };
      }
      if (i + total > filled) return { consumed: i, need: total, skipTo: null, wait: false };
      const dataStart = i + HEADER;
      const dataEnd = dataStart + len;
      if (maskedCrc32c(buf, dataStart, dataEnd) !== buf.readUInt32LE(dataEnd)) {
        this.damaged(f, pos + i, 'data checksum mismatch');
      } else {
        try {
          const ev = decodeEvent(buf, dataStart, dataEnd, plugins);
          if (ev?.hparams) this.st.hparams = ev.hparams;
          if (ev && ev.scalars.length > 0) {
            this.st.lineCount++;
            emit(toRecord(ev));
          }
        } catch (err) {
          this.damaged(f, pos + i, (err as Error).message);
        }
      }
      i += total;
    }
    return { consumed: i, need: HEADER, skipTo: null, wait: false };
  }
}
