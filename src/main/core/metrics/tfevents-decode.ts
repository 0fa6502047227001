/**
 * TensorBoard event files: the record framing (TFRecord: length, masked
 * crc32c of the length, data, masked crc32c of the data) and the few fields
 * of `tensorflow.Event` a scalar summary needs.
 *
 * Hand-written, on purpose: no protobuf library is a dependency (protobufjs
 * is not in node_modules, and adding it needs a lockfile change), and the
 * handful of fields read here — wall_time, step, summary.value{tag,
 * simple_value, tensor{dtype, shape, float_val, double_val, tensor_content},
 * metadata.plugin_data{plugin_name, content}} and the hparams plugin's
 * session_start_info.hparams map — is ~150 lines of wire-format reading. The
 * crc32c is hand-written for the same reason (the only crc32c in
 * node_modules, crc-32's, is a transitive dependency of archiver).
 * Field numbers are tensorflow/core/util/event.proto, framework/summary.proto,
 * framework/tensor.proto and tensorboard/plugins/hparams/plugin_data.proto.
 */
import type { JsonValue } from '../../../shared/model';

/** CRC-32C (Castagnoli), slicing by 8: ~1 GB/s in V8, so a record's check costs less than its decode. */
const CRC_TABLES: Uint32Array[] = (() => {
  const tables: Uint32Array[] = [];
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t0[n] = c >>> 0;
  }
  tables.push(t0);
  for (let t = 1; t < 8; t++) {
    const prev = tables[t - 1]!;
    const cur = new Uint32Array(256);
    for (let n = 0; n < 256; n++) cur[n] = (prev[n]! >>> 8) ^ t0[prev[n]! & 0xff]!;
    tables.push(cur);
  }
  return tables;
})();

export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
  let c = 0xffffffff;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c =
      t7[c & 0xff]! ^
      t6[(c >>> 8) & 0xff]! ^
      t5[(c >>> 16) & 0xff]! ^
      t4[c >>> 24]! ^
      t3[buf[i + 4]!]! ^
      t2[buf[i + 5]!]! ^
      t1[buf[i + 6]!]! ^
      t0[buf[i + 7]!]!;
  }
  for (; i < end; i++) c = t0[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked crc: rotate right by 15, add a constant (so a crc of crc-bearing data stays strong). */
export function maskedCrc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  const c = crc32c(buf, start, end);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One scalar event: its step, wall time (Unix seconds) and the scalar values by tag. */
export interface DecodedEvent {
  step: number;
  wallTime: number;
  scalars: [string, number][];
  /** session_start_info.hparams of an hparams-plugin summary, if this event holds one. */
  hparams: Record<string, JsonValue> | null;
}

/** What the reader remembers across events: TF2 writes a tag's plugin metadata only with its first value. */
export interface TagPlugins {
  /** Tag → plugin name, from the first value of the tag that carried metadata. */
  [tag: string]: string;
}

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result >= 2 ** 63 ? result - 2 ** 64 : result;
      mul *= 128;
    }
    throw new Error('varint longer than 10 bytes');
  }

  /** The [start, end) of a length-delimited field's bytes. */
  bytes(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (len < 0 || start + len > this.end) throw new Error('field runs past its message');
    this.pos = start + len;
    return [start, this.pos];
  }

  string(): string {
    const [s, e] = this.bytes();
    return this.buf.toString('utf8', s, e);
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new Error('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  float(): number {
    if (this.pos + 4 > this.end) throw new Error('truncated float');
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
    if (this.pos > this.end) throw new Error('field runs past its message');
  }
}

const DT_FLOAT = 1;
const DT_DOUBLE = 2;

/** A scalar TensorProto's value (dtype float or double, shape []), or null for anything else. */
function tensorScalar(buf: Buffer, start: number, end: number): number | null {
  const r = new Reader(buf, start, end);
  let dtype = 0;
  let rank = 0;
  const values: number[] = [];
  let content: [number, number] | null = null;
  while (r.pos < end) {
    const key = r.varint();
    const field = key >>> 3;
    const wt = key & 7;
    if (field === 1 && wt === 0) dtype = r.varint();
    else if (field === 2 && wt === 2) {
      const [s, e] = r.bytes();
      const shape = new Reader(buf, s, e);
      while (shape.pos < e) {
        const k = shape.varint();
        if (k >>> 3 === 2) rank++;
        shape.skip(k & 7);
      }
    } else if (field === 4 && wt === 2) content = r.bytes();
    else if ((field === 5 || field === 6) && wt === 2) {
      const [s, e] = r.bytes();
      const packed = new Reader(buf, s, e);
      while (packed.pos < e) values.push(field === 5 ? packed.float() : packed.double());
    } else if (field === 5 && wt === 5) values.push(r.float());
    else if (field === 6 && wt === 1) values.push(r.double());
    else r.skip(wt);
  }
  if (rank !== 0 || (dtype !== DT_FLOAT && dtype !== DT_DOUBLE)) return null;
  if (values.length > 0) return values[0]!;
  if (content) {
    const [s, e] = content;
    if (dtype === DT_FLOAT && e - s >= 4) return buf.readFloatLE(s);
    if (dtype === DT_DOUBLE && e - s >= 8) return buf.readDoubleLE(s);
  }
  return null;
}

/** google.protobuf.Value → JSON. */
function protoValue(buf: Buffer, start: number, end: number): JsonValue {
  const r = new Reader(buf, start, end);
  let v: JsonValue = null;
  while (r.pos < end) {
    const key = r.varint();
    const field = key >>> 3;
    const wt = key & 7;
    if (field === 1 && wt === 0) {
      r.varint();
      v = null;
    } else if (field === 2 && wt === 1) v = r.double();
    else if (field === 3 && wt === 2) v = r.string();
    else if (field === 4 && wt === 0) v = r.varint() !== 0;
    else if (field === 5 && wt === 2) v = protoStruct(buf, ...r.bytes());
    else if (field === 6 && wt === 2) {
      const [s, e] = r.bytes();
      const list = new Reader(buf, s, e);
      const items: JsonValue[] = [];
      while (list.pos < e) {
        const k = list.varint();
        if (k === ((1 << 3) | 2)) items.push(protoValue(buf, ...list.bytes()));
        else list.skip(k & 7);
      }
      v = items;
    } else r.skip(wt);
  }
  return v;
}

/** A map<string, google.protobuf.Value> (field `mapField` of the message at [start, end)). */
function protoMap(buf: Buffer, start: number, end: number, mapField: number): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  const r = new Reader(buf, start, end);
  while (r.pos < end) {
    const key = r.varint();
    if (key >>> 3 !== mapField || (key & 7) !== 2) {
      r.skip(key & 7);
      continue;
    }
    const [s, e] = r.bytes();
    const entry = new Reader(buf, s, e);
    let name = '';
    let value: JsonValue = null;
    while (entry.pos < e) {
      const k = entry.varint();
      if (k === ((1 << 3) | 2)) name = entry.string();
      else if (k === ((2 << 3) | 2)) value = protoValue(buf, ...entry.bytes());
      else entry.skip(k & 7);
    }
    // A name from the file is data: never let it reach an object's prototype.
    if (name !== '__proto__') out[name] = value;
  }
  return out;
}

function protoStruct(buf: Buffer, start: number, end: number): Record<string, JsonValue> {
  return protoMap(buf, start, end, 1);
}

/** HParamsPluginData.session_start_info.hparams, or null. */
function hparamsOf(buf: Buffer, start: number, end: number): Record<string, JsonValue> | null {
  const r = new Reader(buf, start, end);
  while (r.pos < end) {
    const key = r.varint();
    if (key === ((3 << 3) | 2)) return protoMap(buf, ...r.bytes(), 1);
    r.skip(key & 7);
  }
  return null;
}

/** SummaryMetadata → [plugin name, content range]. */
function pluginOf(buf: Buffer, start: number, end: number): [string, [number, number] | null] {
  const r = new Reader(buf, start, end);
  let name = '';
  let content: [number, number] | null = null;
  while (r.pos < end) {
    const key = r.varint();
    if (key !== ((1 << 3) | 2)) {
      r.skip(key & 7);
      continue;
    }
    const [s, e] = r.bytes();
    const pd = new Reader(buf, s, e);
    while (pd.pos < e) {
      const k = pd.varint();
      if (k === ((1 << 3) | 2)) name = pd.string();
      else if (k === ((2 << 3) | 2)) content = pd.bytes();
      else pd.skip(k & 7);
    }
  }
  return [name, content];
}

/** One Summary.Value into `ev`. */
function summaryValue(buf: Buffer, start: number, end: number, ev: DecodedEvent, plugins: TagPlugins): void {
  const r = new Reader(buf, start, end);
  let tag = '';
  let simple: number | null = null;
  let tensor: [number, number] | null = null;
  let plugin: string | null = null;
  let content: [number, number] | null = null;
  while (r.pos < end) {
    const key = r.varint();
    const field = key >>> 3;
    const wt = key & 7;
    if (field === 1 && wt === 2) tag = r.string();
    else if (field === 2 && wt === 5) simple = r.float();
    else if (field === 8 && wt === 2) tensor = r.bytes();
    else if (field === 9 && wt === 2) [plugin, content] = pluginOf(buf, ...r.bytes());
    else r.skip(wt);
  }
  if (plugin !== null && tag !== '' && !(tag in plugins)) plugins[tag] = plugin;
  if (plugin === 'hparams' && content) {
    const hp = hparamsOf(buf, ...content);
    if (hp) ev.hparams = hp;
    return;
  }
  if (simple !== null) ev.scalars.push([tag, simple]);
  else if (tensor && (plugin ?? plugins[tag]) === 'scalars') {
    const v = tensorScalar(buf, ...tensor);
    if (v !== null) ev.scalars.push([tag, v]);
  }
}

/**
 * Decode one Event (a record's data). Returns null for an event that holds
 * no scalar and no hparams (file_version, graphs, images…). Throws on bytes
 * that are not a well-formed message (the record's crc passed, so the writer
 * wrote them: reported as a damaged record).
 */
export function decodeEvent(
  buf: Buffer,
  start: number,
  end: number,
  plugins: TagPlugins,
): DecodedEvent | null {
  const r = new Reader(buf, start, end);
  const ev: DecodedEvent = { step: 0, wallTime: 0, scalars: [], hparams: null };
  let summary: [number, number] | null = null;
  while (r.pos < end) {
    const key = r.varint();
    const field = key >>> 3;
    const wt = key & 7;
    if (field === 1 && wt === 1) ev.wallTime = r.double();
    else if (field === 2 && wt === 0) ev.step = r.varint();
    else if (field === 5 && wt === 2) summary = r.bytes();
    else r.skip(wt);
  }
  if (summary === null) return null;
  const [s, e] = summary;
  const sr = new Reader(buf, s, e);
  while (sr.pos < e) {
    const key = sr.varint();
    if (key === ((1 << 3) | 2)) summaryValue(buf, ...sr.bytes(), ev, plugins);
    else sr.skip(key & 7);
  }
  return ev.scalars.length > 0 || ev.hparams !== null ? ev : null;
}
