/**
 * Following a log into a terminal with flow control. Bytes never pass through
 * React state: they go from the `log.data` event straight to the terminal.
 *
 * The host pushes a followed log as fast as it can read it, so the producer
 * is paused the only way the contract offers, and the one that loses nothing:
 * above a high watermark of bytes written to the terminal but not yet parsed
 * (xterm's write callback tells when a chunk is done) the subscription is
 * dropped; below the low watermark it is taken again from the next byte
 * offset. Offsets make every byte arrive once: overlaps are cut, chunks of an
 * old subscription are ignored.
 */
import type { EventPayload, RequestResult } from '../../shared/contract';

export interface TerminalSink {
  /** xterm's Terminal.write: the callback runs once the chunk was parsed. */
  write(data: Uint8Array, callback: () => void): void;
}

export interface LogSource {
  subscribe(fromOffset: number): Promise<RequestResult<'log.subscribe'>>;
  unsubscribe(subscription: string): Promise<unknown>;
  onData(listener: (payload: EventPayload<'log.data'>) => void): () => void;
}

export interface LogStreamOptions {
  /** Open this many bytes before the end (a multi-GB log opens at its tail at once); 0 = from the start. */
  tailBytes: number;
  /** Pause the producer when this many bytes wait in the terminal (VS Code and xterm's docs use ~100 KB–1 MB). */
  highWatermark?: number;
  /** Resume below this. */
  lowWatermark?: number;
}

export interface LogStreamStatus {
  file: string | null;
  /** First byte shown (0 unless opened at the tail). */
  startOffset: number;
  /** Next byte expected: everything before it was handed to the terminal. */
  offset: number;
  /** File size when the subscription started, grown by what arrived since. */
  size: number;
  paused: boolean;
  error: string | null;
}

export function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export class LogStream {
  private subscription: string | null = null;
  private subscribing = false;
  /** Chunks that arrived for a subscription id we have not been told yet. */
  private early: EventPayload<'log.data'>[] = [];
  private pending = 0;
  private disposed = false;
  /** Opened mid-file: drop the partial first line. */
  private skipToNewline = false;
  private readonly high: number;
  private readonly low: number;
  private readonly offListener: () => void;
  readonly status: LogStreamStatus = {
    file: null,
    startOffset: 0,
    offset: 0,
    size: 0,
    paused: false,
    error: null,
  };

  constructor(
    private readonly source: LogSource,
    private readonly sink: TerminalSink,
    private readonly options: LogStreamOptions,
    private readonly onStatus: (s: LogStreamStatus) => void = () => undefined,
  ) {
    this.high = options.highWatermark ?? 1024 * 1024;
    this.low = options.lowWatermark ?? 128 * 1024;
    this.offListener = source.onData((p) => this.receive(p));
  }

  async start(): Promise<void> {
    await this.subscribeFrom(this.options.tailBytes > 0 ? -this.options.tailBytes : 0, true);
  }

  /** Bytes handed to the terminal and not yet parsed. */
  get backlog(): number {
    return this.pending;
  }

  dispose(): void {
    this.disposed = true;
    this.offListener();
    this.drop();
  }

  private async subscribeFrom(fromOffset: number, first: boolean): Promise<void> {
    this.subscribing = true;
    try {
      const res = await this.source.subscribe(fromOffset);
      if (this.disposed) {
        void this.source.unsubscribe(res.subscription).catch(() => undefined);
        return;
      }
      this.subscription = res.subscription;
      if (first) {
        this.status.file = res.file;
        this.status.startOffset = res.offset;
        this.status.offset = res.offset;
        this.skipToNewline = res.offset > 0;
      }
      this.status.size = Math.max(this.status.size, res.size);
      this.status.paused = false;
      this.status.error = null;
      this.onStatus({ ...this.status });
    } catch (err) {
      this.status.error = err instanceof Error ? err.message : String(err);
      this.onStatus({ ...this.status });
    } finally {
      this.subscribing = false;
    }
    const early = this.early;
    this.early = [];
    for (const p of early) this.receive(p);
  }

  private receive(p: EventPayload<'log.data'>): void {
    if (this.disposed) return;
    if (p.subscription !== this.subscription) {
      // An answer may trail its first event on some transports; keep a few until we know our id.
      if (this.subscribing && this.early.length < 64) this.early.push(p);
      return;
    }
    let bytes = decodeBase64(p.data);
    const end = p.offset + bytes.length;
    if (end <= this.status.offset) return; // already shown
    if (p.offset > this.status.offset) {
      // A gap can only mean a lost event: take the log again from the first missing byte.
      this.drop();
      void this.subscribeFrom(this.status.offset, false);
      return;
    }
    if (p.offset < this.status.offset) bytes = bytes.subarray(this.status.offset - p.offset);
    this.status.offset = end;
    this.status.size = Math.max(this.status.size, end);
    if (this.skipToNewline) {
      const nl = bytes.indexOf(0x0a);
      if (nl === -1) return;
      bytes = bytes.subarray(nl + 1);
      this.skipToNewline = false;
    }
    if (bytes.length) this.write(bytes);
    this.onStatus({ ...this.status });
  }

  private write(bytes: Uint8Array): void {
    const n = bytes.length;
    this.pending += n;
    this.sink.write(bytes, () => {
      this.pending -= n;
      if (this.status.paused && this.pending < this.low && !this.disposed) {
        void this.subscribeFrom(this.status.offset, false);
      }
    });
    if (this.pending > this.high && !this.status.paused) {
      this.drop();
      this.status.paused = true;
      this.onStatus({ ...this.status });
    }
  }

  private drop(): void {
    const sub = this.subscription;
    this.subscription = null;
    if (sub) void this.source.unsubscribe(sub).catch(() => undefined);
  }
}
