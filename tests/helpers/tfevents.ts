/**
 * Writing TensorBoard event files for tests and benchmarks: TFRecord framing
 * (masked crc32c) around hand-encoded `tensorflow.Event` messages, in the
 * three forms real writers use — `simple_value` (tensorboardX,
 * torch.utils.tensorboard), TF2 tensor scalars (plugin "scalars", metadata
 * only with a tag's first value) and an hparams session start.
 */
import { maskedCrc32c } from '../../src/main/core/metrics/tfevents-decode';

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function key(field: number, wt: number): number[] {
  return varint(field * 8 + wt);
}

function bytesField(field: number, data: Uint8Array | number[]): number[] {
  return [...key(field, 2), ...varint(data.length), ...data];
}

function stringField(field: number, s: string): number[] {
  return bytesField(field, [...Buffer.from(s, 'utf8')]);
}

function doubleField(field: number, v: number): number[] {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return [...key(field, 1), ...b];
}

function floatField(field: number, v: number): number[] {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return [...key(field, 5), ...b];
}

export type EventValue =
  | { tag: string; simple: number }
  | { tag: string; tensor: number; dtype?: 'float' | 'double'; withMetadata?: boolean }
  | { hparams: Record<string, string | number | boolean> };

function pluginMetadata(name: string, content: number[] = []): number[] {
  return bytesField(9, bytesField(1, [...stringField(1, name), ...bytesField(2, content)]));
}

function protoValue(v: string | number | boolean): number[] {
  if (typeof v === 'number') return doubleField(2, v);
  if (typeof v === 'string') return stringField(3, v);
  return [...key(4, 0), v ? 1 : 0];
}

function valueBytes(v: EventValue): number[] {
  if ('hparams' in v) {
    const entries = Object.entries(v.hparams).flatMap(([k, val]) =>
      bytesField(1, [...stringField(1, k), ...bytesField(2, protoValue(val))]),
    );
    const content = [...key(1, 0), 0, ...bytesField(3, entries)];
    return [...stringField(1, '_hparams_/session_start_info'), ...pluginMetadata('hparams', content)];
  }
  if ('simple' in v) return [...stringField(1, v.tag), ...floatField(2, v.simple)];
  const double = v.dtype === 'double';
  const raw = Buffer.alloc(double ? 8 : 4);
  if (double) raw.writeDoubleLE(v.tensor);
  else raw.writeFloatLE(v.tensor);
  // TensorProto: dtype, an empty shape (a scalar), the value as tensor_content.
  const tensor = [...key(1, 0), double ? 2 : 1, ...bytesField(2, []), ...bytesField(4, [...raw])];
  return [
    ...stringField(1, v.tag),
    ...bytesField(8, tensor),
    ...(v.withMetadata === false ? [] : pluginMetadata('scalars')),
  ];
}

/** One Event message. */
export function eventBytes(step: number, wallTime: number, values: EventValue[]): Buffer {
  const summary = values.flatMap((v) => bytesField(1, valueBytes(v)));
  return Buffer.from([...doubleField(1, wallTime), ...key(2, 0), ...varint(step), ...bytesField(5, summary)]);
}

/** The file_version event every writer starts with. */
export function fileVersionEvent(wallTime = 1_700_000_000): Buffer {
  return Buffer.from([...doubleField(1, wallTime), ...stringField(3, 'brain.Event:2')]);
}

/** One TFRecord around `data`. */
export function record(data: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeBigUInt64LE(BigInt(data.length));
  head.writeUInt32LE(maskedCrc32c(head, 0, 8), 8);
  const foot = Buffer.alloc(4);
  foot.writeUInt32LE(maskedCrc32c(data));
  return Buffer.concat([head, data, foot]);
}

/** A whole event file: the file_version record, then one record per event. */
export function eventFile(events: { step: number; wallTime?: number; values: EventValue[] }[]): Buffer {
  return Buffer.concat([
    record(fileVersionEvent()),
    ...events.map((e) => record(eventBytes(e.step, e.wallTime ?? 1_700_000_000 + e.step, e.values))),
  ]);
}
