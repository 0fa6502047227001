// @vitest-environment happy-dom
/** Following a log into a terminal: offsets, the partial first line, and flow control by pausing the subscription. */
import { describe, expect, it } from 'vitest';
import type { EventPayload } from '../../../src/shared/contract';
import { LogStream, type LogSource } from '../../../src/renderer/lib/log-stream';
import { flush } from './fakes';

const b64 = (s: string): string => btoa(s);
const text = (chunks: Uint8Array[]): string => chunks.map((c) => new TextDecoder().decode(c)).join('');

/** A host that answers log.subscribe like RunService: offsets into a file of known content. */
class FakeLogHost implements LogSource {
  file = '';
  subs: { id: string; from: number }[] = [];
  unsubscribed: string[] = [];
  private listeners = new Set<(p: EventPayload<'log.data'>) => void>();
  private n = 0;

  async subscribe(fromOffset: number) {
    const size = this.file.length;
    let offset = fromOffset < 0 ? Math.max(0, size + fromOffset) : fromOffset;
    offset = Math.min(offset, size);
    const id = `s${++this.n}`;
    this.subs.push({ id, from: offset });
    return { subscription: id, file: 'train.log', offset, size };
  }
  async unsubscribe(subscription: string) {
    this.unsubscribed.push(subscription);
    return {};
  }
  onData(listener: (p: EventPayload<'log.data'>) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(subscription: string, offset: number, data: string): void {
    for (const l of this.listeners) l({ subscription, offset, data: b64(data) });
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
}

/** A terminal whose write callbacks the test releases, like xterm parsing later. */
class FakeTerminal {
  written: Uint8Array[] = [];
  private callbacks: (() => void)[] = [];
  write(data: Uint8Array, cb: () => void): void {
    this.written.push(data);
    this.callbacks.push(cb);
  }
  parseAll(): void {
    const cbs = this.callbacks;
    this.callbacks = [];
    for (const cb of cbs) cb();
  }
}

describe('LogStream', () => {
  it('opens at the tail, drops the partial first line, and writes each byte once', async () => {
    const host = new FakeLogHost();
    host.file = 'line one\nline two\nline three\n';
    const term = new FakeTerminal();
    const stream = new LogStream(host, term, { tailBytes: 15 });
    await stream.start();
    const from = host.subs[0]!.from;
    expect(from).toBe(host.file.length - 15);
    host.emit('s1', from, host.file.slice(from));
    host.emit('s1', from, host.file.slice(from)); // a duplicate
    expect(text(term.written)).toBe('line three\n');
    host.emit('s1', host.file.length - 3, 'ee\nmore\n'); // overlaps by 3 bytes
    expect(text(term.written)).toBe('line three\nmore\n');
    expect(stream.status.offset).toBe(host.file.length + 5);
    stream.dispose();
    expect(host.listenerCount).toBe(0);
    expect(host.unsubscribed).toEqual(['s1']);
  });

  it('pauses the producer above the high watermark and resumes from the next byte below the low one', async () => {
    const host = new FakeLogHost();
    host.file = '0123456789abclate';
    const term = new FakeTerminal();
    const statuses: boolean[] = [];
    const stream = new LogStream(host, term, { tailBytes: 0, highWatermark: 10, lowWatermark: 4 }, (s) =>
      statuses.push(s.paused),
    );
    await stream.start();
    host.emit('s1', 0, '0123456');
    host.emit('s1', 7, '789abc'); // 13 bytes waiting in the terminal: over the watermark
    expect(stream.backlog).toBe(13);
    expect(stream.status.paused).toBe(true);
    expect(host.unsubscribed).toEqual(['s1']);
    host.emit('s1', 13, 'late'); // a chunk of the dropped subscription: ignored, read again later
    term.parseAll();
    await flush();
    expect(stream.status.paused).toBe(false);
    expect(host.subs.at(-1)).toEqual({ id: 's2', from: 13 });
    host.emit('s2', 13, 'late');
    expect(text(term.written)).toBe('0123456789abclate');
    expect(statuses).toContain(true);
    stream.dispose();
  });

  it('takes the log again from the first missing byte after a gap', async () => {
    const host = new FakeLogHost();
    host.file = 'abcdefghijxyz';
    const term = new FakeTerminal();
    const stream = new LogStream(host, term, { tailBytes: 0 });
    await stream.start();
    host.emit('s1', 0, 'abc');
    host.emit('s1', 10, 'xyz'); // bytes 3..9 never arrived
    await flush();
    expect(host.unsubscribed).toEqual(['s1']);
    expect(host.subs.at(-1)).toEqual({ id: 's2', from: 3 });
    stream.dispose();
  });

  it('keeps chunks that arrive before the subscribe answer', async () => {
    const host = new FakeLogHost();
    const term = new FakeTerminal();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: LogSource = {
      subscribe: async (from) => {
        await gate;
        return host.subscribe(from);
      },
      unsubscribe: (s) => host.unsubscribe(s),
      onData: (l) => host.onData(l),
    };
    const stream = new LogStream(slow, term, { tailBytes: 0 });
    const started = stream.start();
    host.emit('s1', 0, 'early\n');
    release();
    await started;
    expect(text(term.written)).toBe('early\n');
    stream.dispose();
  });
});
