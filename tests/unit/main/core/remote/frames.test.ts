import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetricsFold } from '../../../../../src/shared/metrics-summary';
import { MetricsTail } from '../../../../../src/main/core/metrics/metrics-tail';
import { PROTOCOL_VERSION } from '../../../../../src/main/core/remote/protocol';
import { MARKER } from '../../../../../src/main/core/remote/remote-python';
import { FrameParser } from '../../../../../src/main/core/remote/remote-runs';
import { tmpDir } from '../../../../helpers/tmp';

describe('the follow stream', () => {
  it('skips what precedes the marker and splits frames from data, whatever the chunking', () => {
    const payload = Buffer.from('line one\nline two\n\u00e9\u00e8 binary \x00\xff');
    const stream = Buffer.concat([
      Buffer.from('motd printed by a login script\n'),
      MARKER,
      Buffer.from(
        JSON.stringify({
          t: 'hello',
          v: PROTOCOL_VERSION,
          file: 'train.log',
          offset: 5,
          exists: true,
          exp_dir: '/x',
          size: 5,
        }) + '\n',
      ),
      Buffer.from(JSON.stringify({ t: 'data', o: 5, n: payload.length }) + '\n'),
      payload,
      Buffer.from(
        JSON.stringify({
          t: 'state',
          status: null,
          pid_alive: null,
          failed: false,
          final: false,
          last_write_ms: null,
          offset: 5 + payload.length,
          now_ms: 1,
        }) + '\n',
      ),
    ]);
    for (const size of [1, 3, 7, 64, stream.length]) {
      const frames: string[] = [];
      const bytes: Buffer[] = [];
      const p = new FrameParser(
        (f) => frames.push(f.t),
        (o, d) => {
          expect(o).toBe(5);
          bytes.push(d);
        },
      );
      for (let i = 0; i < stream.length; i += size) p.push(stream.subarray(i, i + size));
      expect(frames).toEqual(['hello', 'state']);
      expect(Buffer.concat(bytes).equals(payload)).toBe(true);
    }
  });

  it('refuses a malformed frame naming the field, and a hello from a helper of another version', () => {
    const parse = (frame: object): void =>
      new FrameParser(
        () => undefined,
        () => undefined,
      ).push(Buffer.concat([MARKER, Buffer.from(JSON.stringify(frame) + '\n')]));
    expect(() => parse({ t: 'data', o: -1, n: 3 })).toThrow(/malformed frame in follow: o: /);
    expect(() => parse({ t: 'state', status: 'running', offset: 0 })).toThrow(
      /malformed frame in follow: status: /,
    );
    expect(() =>
      parse({ t: 'hello', file: 'train.log', offset: 0, exists: true, exp_dir: '/x', size: 0, v: 1 }),
    ).toThrow(
      new RegExp(`speaks protocol version 1, this Expdesk speaks ${PROTOCOL_VERSION} .*stale helper`),
    );
  });
});

describe('MetricsTail.feed (bytes shipped from a remote workspace)', () => {
  it('gives the same records, malformed lines and offsets as reading the file, in any split', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'metrics.jsonl');
    const text =
      '{"step": 1, "prefix": "train", "train/loss": 0.5}\n' +
      'not json\n' +
      '{"step": 2, "prefix": "train", "train/loss": NaN}\n' +
      '\n' +
      '{"step": 3, "prefix": "eval", "eval/loss": 0.4}\n' +
      '{"step": 4, "pre';
    writeFileSync(file, text);
    const local = new MetricsTail(file);
    const localFold = new MetricsFold();
    await local.readAppended((r) => localFold.add(r));
    const bytes = Buffer.from(text);
    for (const cut of [0, 10, 51, 60, bytes.length]) {
      const remote = new MetricsTail('metrics.jsonl');
      const fold = new MetricsFold();
      remote.feed(bytes.subarray(0, cut), (r) => fold.add(r));
      remote.feed(bytes.subarray(remote.state.offset), (r) => fold.add(r));
      expect(remote.state).toEqual(local.state);
      expect(fold.state).toEqual(localFold.state);
    }
  });

  it('skips a line longer than a read chunk as reading the file does, in any split', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'metrics.jsonl');
    const rec = (step: number, pad = ''): string =>
      `{"step": ${step}, "prefix": "train", "train/loss": ${step}${pad}}\n`;
    // With 64-byte chunks: a 63-byte line plus newline is read, a 65-byte one is skipped.
    const fits = rec(2, `, "p": "${'a'.repeat(64 - rec(2, ', "p": ""').length)}"`);
    const text =
      rec(1) +
      fits +
      rec(3, `, "pad": "${'x'.repeat(80)}"`) +
      rec(4) +
      'y'.repeat(200) +
      '\n' +
      rec(5) +
      'z'.repeat(70);
    expect(fits.length).toBe(64);
    writeFileSync(file, text);
    const local = new MetricsTail(file, undefined, 64);
    const localFold = new MetricsFold();
    await local.readAppended((r) => localFold.add(r));
    expect(local.state.malformed.map((m) => [m.fault, m.line, m.count])).toEqual([['long', 3, 2]]);
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut += 7) {
      const remote = new MetricsTail('metrics.jsonl', undefined, 64);
      const fold = new MetricsFold();
      remote.feed(bytes.subarray(0, cut), (r) => fold.add(r));
      remote.feed(bytes.subarray(remote.state.offset), (r) => fold.add(r));
      expect(remote.state).toEqual(local.state);
      expect(fold.state).toEqual(localFold.state);
    }
  });
});
