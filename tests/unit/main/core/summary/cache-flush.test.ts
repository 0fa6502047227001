/**
 * When a store's cache files are written (core/summary/cache-flush.ts): in the
 * background after what was kept, not while summaries are being read (a
 * listing never waits for its own writes) unless that goes on too long, and
 * all at once by flushSummaryCaches (exit).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CacheFlusher, flushSummaryCaches } from '../../../../../src/main/core/summary/cache-flush';

function target(): { pending: number; writes: number; reading: boolean; flusher: CacheFlusher } {
  const t = {
    pending: 0,
    writes: 0,
    reading: false,
    flusher: null as unknown as CacheFlusher,
  };
  t.flusher = new CacheFlusher({
    hasPending: () => t.pending > 0,
    write: async () => {
      t.writes++;
      t.pending = 0;
    },
    reading: () => t.reading,
  });
  return t;
}

function keep(t: ReturnType<typeof target>): void {
  t.flusher.willKeep();
  t.pending++;
  t.flusher.kept();
}

describe('CacheFlusher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('writes what was kept in the background, once, and not again until more is kept', async () => {
    const t = target();
    keep(t);
    keep(t);
    expect(t.writes).toBe(0); // never during the call that kept it
    await vi.advanceTimersByTimeAsync(250);
    expect(t.writes).toBe(1);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(t.writes).toBe(1);
    // Well after the interval, more kept is written after the short delay again.
    keep(t);
    await vi.advanceTimersByTimeAsync(250);
    expect(t.writes).toBe(2);
  });

  it('writes at most every 10 s: entries kept just after a write wait for the interval', async () => {
    const t = target();
    keep(t);
    await vi.advanceTimersByTimeAsync(250);
    expect(t.writes).toBe(1);
    keep(t);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(t.writes).toBe(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(t.writes).toBe(2);
  });

  it('waits while summaries are being read, but not longer than 5 s', async () => {
    const t = target();
    t.reading = true;
    keep(t);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(t.writes).toBe(0);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(t.writes).toBe(1);
  });

  it('flushSummaryCaches writes every flusher’s pending entries at once, reading or not', async () => {
    const a = target();
    const b = target();
    a.reading = true;
    keep(a);
    keep(b);
    await flushSummaryCaches();
    expect([a.writes, b.writes]).toEqual([1, 1]);
  });
});
