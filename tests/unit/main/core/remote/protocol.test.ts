/**
 * Answers from the remote helper are checked against the protocol on
 * arrival: a malformed answer is an error naming the operation and the
 * offending field (never a crash further on or a silently wrong value), and a
 * helper of another protocol version is refused with a sentence saying so.
 * The "helper" here is a stand-in that answers with chosen bytes.
 */
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../../../../src/main/core/remote/protocol';
import {
  callRemote,
  MARKER,
  RemoteOpError,
  RemoteProtocolError,
  type HelperHost,
} from '../../../../../src/main/core/remote/remote-python';
import { RemoteWorkspace } from '../../../../../src/main/core/remote/remote-workspace';
import { SummaryStore } from '../../../../../src/main/core/summary/summary-store';
import { parseRemoteLocation } from '../../../../../src/shared/remote-location';

/** An answer's frames: items (`<n> <json>` and their n bytes), then the envelope and its bytes. */
function frames(body: unknown, bytes?: Buffer, items: Array<{ item: unknown; bytes?: Buffer }> = []): Buffer {
  return Buffer.concat([
    ...items.flatMap(({ item, bytes: b = Buffer.alloc(0) }) => [
      Buffer.from(`${b.length} ${JSON.stringify(item)}\n`),
      b,
    ]),
    bytes
      ? Buffer.concat([Buffer.from(`${JSON.stringify(body)}\n`), bytes])
      : Buffer.from(JSON.stringify(body)),
  ]);
}

/** A helper that answers every request with this body (after these items), and records what it was sent. */
function answering(
  body: unknown,
  bytes?: Buffer,
  items?: Array<{ item: unknown; bytes?: Buffer }>,
): HelperHost & { sent: string[] } {
  const sent: string[] = [];
  return {
    label: 'gpu-box',
    sent,
    exec: (_command, opts = {}) => {
      sent.push(String(opts.stdin));
      return Promise.resolve({
        code: 0,
        signal: null,
        stderr: '',
        stdout: Buffer.concat([Buffer.from('motd\n'), MARKER, deflateSync(frames(body, bytes, items))]),
      });
    },
  };
}

const okGather = {
  hostname: 'gpu-box',
  now_ms: 1,
};

describe('answers are checked against the protocol', () => {
  it('sends the protocol version with the request and returns a well-formed answer', async () => {
    const host = answering({ v: PROTOCOL_VERSION, ok: { size: 3, offset: 0, data: 'YWJj' } });
    const r = await callRemote(host, { op: 'read', path: '/x', offset: 0, max: 10 });
    expect(r).toEqual({ size: 3, offset: 0, data: 'YWJj' });
    expect(JSON.parse(host.sent[0]!)).toEqual({
      op: 'read',
      path: '/x',
      offset: 0,
      max: 10,
      v: PROTOCOL_VERSION,
    });
  });

  it('accepts 64-bit inode numbers (NFS, FUSE), which JSON carries only approximately', async () => {
    const sigs = {
      config: [1, 2.5, 2 ** 63],
      metadata: null,
      failed: null,
      status: null,
      final: null,
      metrics: null,
    };
    const r = await callRemote(
      answering({ v: PROTOCOL_VERSION, ok: okGather }, undefined, [{ item: { path: '/e/x', sigs } }]),
      { op: 'gather', root: null, experiments: ['/e/x'] },
    );
    expect(r.experiments[0]!.sigs!.config).toEqual([1, 2.5, 2 ** 63]);
  });

  it("hands a metrics file's bytes over raw from after the item's JSON, and refuses a reference past them", async () => {
    const metrics = (ref: [number, number]): Array<{ item: unknown; bytes: Buffer }> => [
      {
        item: { path: '/e/x', metrics: { start: 0, reset: false, size: 4, more: false, data: { $b: ref } } },
        bytes: Buffer.from('ab{"loss": 1}\n\u00ff'),
      },
    ];
    const ok = { v: PROTOCOL_VERSION, ok: okGather };
    const r = await callRemote(answering(ok, undefined, metrics([2, 12])), { op: 'gather', root: null });
    const m = r.experiments[0]!.metrics!;
    expect('data' in m && m.data.toString()).toBe('{"loss": 1}\n');
    const past = callRemote(answering(ok, undefined, metrics([2, 99])), { op: 'gather', root: null });
    await expect(past).rejects.toThrow(
      /^unreadable answer from gpu-box: a byte reference points past the answer's 16 bytes/,
    );
    const bad = callRemote(answering(ok, undefined, metrics([-1, 2])), { op: 'gather', root: null });
    await expect(bad).rejects.toThrow(/a byte reference is not \[offset, length\]/);
  });

  it('a damaged or cut answer is an error naming the host, never a crash or a partial listing', async () => {
    const host = (stdout: Buffer): HelperHost => ({
      label: 'gpu-box',
      exec: async (_command, opts = {}) => {
        // Streamed in two halves, as SSH hands it on.
        opts.onStdout?.(stdout.subarray(0, stdout.length >> 1));
        await new Promise((go) => setTimeout(go, 1));
        opts.onStdout?.(stdout.subarray(stdout.length >> 1));
        return { code: 0, signal: null, stderr: '', stdout: Buffer.alloc(0) };
      },
    });
    const item = [{ item: { path: '/e/x' }, bytes: Buffer.alloc(64, 'x') }];
    const packed = deflateSync(frames({ v: PROTOCOL_VERSION, ok: okGather }, undefined, item));
    const garbled = Buffer.from(packed);
    garbled.fill(0xff, 8, 24);
    for (const body of [garbled, packed.subarray(0, packed.length - 12), Buffer.from('not zlib at all')]) {
      const seen: string[] = [];
      const call = callRemote(
        host(Buffer.concat([MARKER, body])),
        { op: 'gather', root: null },
        {
          onItem: (g) => seen.push(g.path),
        },
      );
      await expect(call).rejects.toThrow(/^unreadable answer from gpu-box: /);
    }
  });

  it('keeps a "__proto__" key of an item as data, never as the item\'s prototype', async () => {
    const item = JSON.parse('{"path": "/e/x", "__proto__": {"error": ["not-found", "gone"], "$b": [0, 1]}}');
    const r = await callRemote(
      answering({ v: PROTOCOL_VERSION, ok: okGather }, undefined, [{ item, bytes: Buffer.from('z') }]),
      { op: 'gather', root: null },
    );
    expect(r.experiments[0]!.error).toBeUndefined();
    expect(Object.getPrototypeOf(r.experiments[0])).toBe(Object.prototype);
  });

  it('hands each item over as it arrives, before the answer ends, whatever the chunks', async () => {
    const items = [1, 2, 3].map((n) => ({ item: { path: `/e/exp${n}` }, bytes: Buffer.from(`b${n}`) }));
    const whole = Buffer.concat([
      Buffer.from('a login banner\n'),
      MARKER,
      deflateSync(frames({ v: PROTOCOL_VERSION, ok: okGather }, undefined, items)),
    ]);
    const seen: string[] = [];
    let firstBeforeEnd = false;
    const host: HelperHost = {
      label: 'gpu-box',
      exec: async (_command, opts = {}) => {
        // Three bytes at a time, the marker and every frame split across chunks; a pause after each.
        for (let at = 0; at < whole.length; at += 3) {
          opts.onStdout!(whole.subarray(at, at + 3));
          await new Promise((go) => setTimeout(go, 1));
        }
        firstBeforeEnd = seen.length > 0;
        return { code: 0, signal: null, stderr: '', stdout: Buffer.alloc(0) };
      },
    };
    const r = await callRemote(host, { op: 'gather', root: null }, { onItem: (g) => seen.push(g.path) });
    expect(firstBeforeEnd).toBe(true);
    expect(seen).toEqual(['/e/exp1', '/e/exp2', '/e/exp3']);
    expect(r.experiments.map((g) => g.path)).toEqual(seen);
    expect(r.hostname).toBe('gpu-box');
  });

  it('names the operation and the field of a malformed answer', async () => {
    const bad = [{ item: { path: '/e/exp1', sigs: { config: ['12', 1, 2] } } }];
    const err = await callRemote(answering({ v: PROTOCOL_VERSION, ok: okGather }, undefined, bad), {
      op: 'gather',
      root: '/e',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteProtocolError);
    expect((err as Error).message).toMatch(
      /^malformed answer to gather from gpu-box: experiments\.0\.sigs\.config\.0: .*number/,
    );

    const tail = callRemote(
      answering({ v: PROTOCOL_VERSION, ok: { files: [{ path: '/e/x', size: -5, ino: 1, start: 0 }] } }),
      { op: 'tail', files: [], max_bytes_per_file: 1, max_total_bytes: 1 },
    );
    await expect(tail).rejects.toThrow(/^malformed answer to tail from gpu-box: files\.0/);

    const missing = callRemote(answering({ v: PROTOCOL_VERSION, ok: { project: '/p' } }), {
      op: 'configs',
      root: '/p',
    });
    await expect(missing).rejects.toThrow('malformed answer to configs from gpu-box: files: ');
  });

  it('a listing over a malformed answer fails with that error, not a crash or a wrong listing', async () => {
    const ws = new RemoteWorkspace(
      answering({
        v: PROTOCOL_VERSION,
        ok: { ...okGather, root: '/e', experimentsDir: '/e', kind: 'a-new-kind' },
      }),
      parseRemoteLocation('ssh://gpu-box/')!,
      new SummaryStore({ cacheDir: false }),
    );
    await expect(ws.list('/e')).rejects.toThrow(/^malformed answer to gather from gpu-box: kind: /);
  });

  it('refuses a helper of another version (or one too old to say), before reading its answer', async () => {
    const stale = callRemote(answering({ ok: { ops: ['gather'] } }), { op: 'ops' });
    await expect(stale).rejects.toThrow(
      `the remote helper on gpu-box speaks protocol version unknown (1 or older), this Expdesk speaks ${PROTOCOL_VERSION} (op ops): a stale helper answered`,
    );
    const newer = callRemote(answering({ v: PROTOCOL_VERSION + 1, ok: { ops: [] } }), { op: 'ops' });
    await expect(newer).rejects.toThrow(
      `speaks protocol version ${PROTOCOL_VERSION + 1}, this Expdesk speaks`,
    );
  });

  it("passes the helper's errors on with their code, and names a malformed error", async () => {
    const err = await callRemote(
      answering({ v: PROTOCOL_VERSION, error: { code: 'not-found', message: 'no such folder: /e' } }),
      { op: 'read', path: '/e', offset: 0, max: 1 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteOpError);
    expect(err).toMatchObject({ code: 'not-found', message: 'no such folder: /e' });

    const weird = callRemote(answering({ v: PROTOCOL_VERSION, error: { code: 'gone', message: 'x' } }), {
      op: 'ops',
    });
    await expect(weird).rejects.toThrow(
      'malformed answer to ops from gpu-box: error: expected {code, message}',
    );
    await expect(callRemote(answering([1, 2]), { op: 'ops' })).rejects.toThrow(
      'malformed answer to ops from gpu-box: (the answer itself): expected an object',
    );
  });
});
