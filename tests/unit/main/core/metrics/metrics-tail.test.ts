import { execFileSync } from 'node:child_process';
import { appendFileSync, rmSync, statSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetricsTail } from '../../../../../src/main/core/metrics/metrics-tail';
import { tmpDir } from '../../../../helpers/tmp';

function collect(): {
  records: Array<{ rec: Record<string, unknown>; line: number }>;
  sink: (r: Record<string, unknown>, l: number) => void;
} {
  const records: Array<{ rec: Record<string, unknown>; line: number }> = [];
  return { records, sink: (rec, line) => records.push({ rec, line }) };
}

const rec = (step: number, extra = ''): string =>
  `{"step": ${step}, "prefix": "train", "train/loss": ${1 / step}${extra}}\n`;

describe('MetricsTail', () => {
  it('reads records with their line numbers and skips malformed lines, counting them', async () => {
    const file = path.join(tmpDir(), 'metrics.jsonl');
    writeFileSync(
      file,
      rec(1) + '{"step": 2, "prefix": "tr\n' + '\n' + rec(3) + '[1, 2]\n' + rec(4, ', "x": NaN'),
    );
    const tail = new MetricsTail(file);
    const { records, sink } = collect();
    await tail.readAppended(sink);
    expect(records.map((r) => [r.rec.step, r.line])).toEqual([
      [1, 1],
      [3, 4],
      [4, 6],
    ]);
    expect(records[2]!.rec.x).toBeNaN();
    expect(tail.state.malformedCount).toBe(2);
    expect(tail.state.malformed.map((m) => m.line)).toEqual([2, 5]);
  });

  it('reads a record whose extra keys are named like Object members (constructor, toString), and types them as data', async () => {
    const file = path.join(tmpDir(), 'metrics.jsonl');
    writeFileSync(
      file,
      rec(1, ', "constructor": 3, "toString": "x", "__proto__": 1') + rec(2, ', "hasOwnProperty/x": "y"'),
    );
    const tail = new MetricsTail(file);
    const { records, sink } = collect();
    await tail.readAppended(sink);
    expect(records.map((r) => r.line)).toEqual([1, 2]);
    expect(tail.state.malformedCount).toBe(0);
    // Only the slashed key with a string is a wrong type, named as data.
    expect(tail.state.malformed).toMatchObject([
      { fault: 'wrong-type', line: 2, detail: '"hasOwnProperty/x" is a string' },
    ]);
  });

  it('leaves a partial last line until its newline arrives', async () => {
    const file = path.join(tmpDir(), 'metrics.jsonl');
    writeFileSync(file, rec(1) + '{"step": 2, "prefix": "train", "tra');
    const tail = new MetricsTail(file);
    const { records, sink } = collect();
    await tail.readAppended(sink);
    expect(records).toHaveLength(1);
    expect(tail.state.malformedCount).toBe(0);
    appendFileSync(file, 'in/loss": 0.5}\n');
    await tail.readAppended(sink);
    expect(records.map((r) => r.rec.step)).toEqual([1, 2]);
    expect(records[1]!.line).toBe(2);
    expect(tail.state.malformedCount).toBe(0);
  });

  it('reads only the appended bytes on the next call', async () => {
    const file = path.join(tmpDir(), 'metrics.jsonl');
    let text = '';
    for (let s = 1; s <= 1000; s++) text += rec(s);
    writeFileSync(file, text);
    const tail = new MetricsTail(file);
    const { records, sink } = collect();
    const first = await tail.readAppended(sink);
    expect(first.bytes).toBe(Buffer.byteLength(text));
    appendFileSync(file, rec(1001) + rec(1002));
    const second = await tail.readAppended(sink);
    expect(second.bytes).toBe(Buffer.byteLength(rec(1001) + rec(1002)));
    expect(second.lines).toBe(2);
    expect(records).toHaveLength(1002);
    expect(records.at(-1)!.line).toBe(1002);
  });

  it('skips a line longer than a whole chunk as malformed and goes on', async () => {
    const file = path.join(tmpDir(), 'metrics.jsonl');
    writeFileSync(file, rec(1) + `{"blob": "${'x'.repeat(5000)}"}\n` + rec(3));
    const tail = new MetricsTail(file, undefined, 1024);
    const { records, sink } = collect();
    await tail.readAppended(sink);
    expect(records.map((r) => [r.rec.step, r.line])).toEqual([
      [1, 1],
      [3, 3],
    ]);
    expect(tail.state.malformed).toEqual([{ fault: 'long', line: 2, count: 1, bytes: 5013, maxBytes: 5013 }]);
  });

  it('starts over when the file is replaced or truncated', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'metrics.jsonl');
    writeFileSync(file, rec(1) + rec(2) + rec(3));
    const tail = new MetricsTail(file);
    const { records, sink } = collect();
    await tail.readAppended(sink);
    writeFileSync(path.join(dir, 'new.jsonl'), rec(7) + rec(8) + rec(9) + rec(10));
    renameSync(path.join(dir, 'new.jsonl'), file);
    let resets = 0;
    const r = await tail.readAppended(sink, () => {
      resets++;
      records.length = 0;
    });
    expect(r.reset).toBe(true);
    expect(resets).toBe(1);
    expect(records.map((x) => x.rec.step)).toEqual([7, 8, 9, 10]);
  });

  it('handles multi-byte UTF-8 across chunk boundaries and CRLF endings', async () => {
    const file = path.join(tmpDir(), 'metrics.jsonl');
    const lines: string[] = [];
    for (let s = 1; s <= 30000; s++)
      lines.push(`{"step": ${s}, "prefix": "train", "note": "äöü—✓ ${s}"}\r\n`);
    writeFileSync(file, lines.join(''));
    // A 1000-byte chunk (odd, not a multiple of any line) puts boundaries inside characters.
    const tail = new MetricsTail(file, undefined, 1001);
    const { records, sink } = collect();
    await tail.readAppended(sink);
    expect(records).toHaveLength(30000);
    expect(records[29999]!.rec.note).toBe('äöü—✓ 30000');
    expect(tail.state.malformedCount).toBe(0);
  });

  /**
   * Wait until the clock (whole ms) is past the file's change times (fractional ms): a file changed
   * in this very millisecond is not yet settled, whatever the delay asked for.
   */
  async function clockPast(file: string): Promise<void> {
    const { mtimeMs, ctimeMs } = statSync(file);
    while (Date.now() <= Math.max(mtimeMs, ctimeMs)) await new Promise((r) => setTimeout(r, 1));
  }

  it('checks a settled, unchanged file with one stat instead of opening it; what changes is still read', async () => {
    const file = path.join(tmpDir(), 'metrics.jsonl');
    writeFileSync(file, rec(1) + rec(2));
    // Times trusted at once (by default only 3 s after the file's last change).
    const tail = new MetricsTail(file, undefined, undefined, 0);
    const { records, sink } = collect();
    await clockPast(file);
    await tail.readAppended(sink);
    expect(await tail.readAppended(sink)).toEqual({ reset: false, bytes: 0, lines: 0 });
    expect(tail.opens).toBe(1);

    appendFileSync(file, rec(3));
    expect((await tail.readAppended(sink)).lines).toBe(1);
    expect(records.map((r) => r.rec.step)).toEqual([1, 2, 3]);

    // Replaced (another file renamed over it): another inode, read from its first byte.
    writeFileSync(`${file}.new`, rec(7) + rec(8) + rec(9));
    renameSync(`${file}.new`, file);
    await clockPast(file);
    expect((await tail.readAppended(sink)).reset).toBe(true);
    expect(records.map((r) => r.rec.step)).toEqual([1, 2, 3, 7, 8, 9]);
    await tail.readAppended(sink);
    expect(tail.opens).toBe(3);

    // Swapped for a FIFO: refused by name, not answered from the last read.
    rmSync(file);
    execFileSync('mkfifo', [file]);
    await expect(tail.readAppended(sink)).rejects.toThrow(/metrics\.jsonl is a FIFO/);
  });

  it('opens and reads a file changed within the last seconds on every call (its times may not have moved)', async () => {
    const file = path.join(tmpDir(), 'metrics.jsonl');
    writeFileSync(file, rec(1));
    const tail = new MetricsTail(file);
    const { records, sink } = collect();
    await tail.readAppended(sink);
    await tail.readAppended(sink);
    expect(tail.opens).toBe(2);
    appendFileSync(file, rec(2));
    await tail.readAppended(sink);
    expect(records.map((r) => r.rec.step)).toEqual([1, 2]);
  });
});
