/**
 * Incremental reader of an MLflow file-store run (`mlruns/<experiment>/<run>/`,
 * read-only): every `metrics/<key>` file (a key with slashes is a path
 * below metrics/) holds lines "timestamp value step" (timestamp in ms),
 * appended by MLflow as the run logs; each file is read by byte offset, and
 * only whole lines. The run's params/ are kept as its config (MLflow stores
 * them as text: numbers and booleans are read as such). Same shape as
 * MetricsTail, so a MetricsFeed reads it like metrics.jsonl; records of
 * several keys read at once are merged by step.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { openRegular } from '../fs/safe-read';
import { readDirents } from '../workspace/fast-fs';
import type { JsonValue } from '../../../shared/model';
import type { MetricsTailState, ReadResult, RecordSink } from './metrics-tail';

/** The feed key of an MLflow run folder (a MetricsFeeds key, never a file on disk). */
export const MLFLOW_KEY = 'mlflow.metrics.*';

export function mlflowKey(dir: string): string {
  return path.join(dir, MLFLOW_KEY);
}

export function isMlflowKey(file: string): boolean {
  return path.basename(file) === MLFLOW_KEY;
}

/** Key files walked at most this deep below metrics/ (a key's slashes), and this many. */
const MAX_DEPTH = 8;
const MAX_FILES = 10_000;
const MAX_PARAM_BYTES = 64 * 1024;
const MAX_REMEMBERED_ERRORS = 50;

interface MlflowFileState {
  key: string;
  offset: number;
  ino: number;
}

export interface MlflowTailState extends MetricsTailState {
  mlflowFiles?: MlflowFileState[];
  /** The run's params (its config). */
  hparams?: Record<string, JsonValue> | null;
}

/** Relative paths of the regular files under `dir`, bounded in depth and count. */
export async function filesUnder(dir: string, depth = 0, rel = '', out: string[] = []): Promise<string[]> {
  if (depth > MAX_DEPTH) return out;
  for (const d of await readDirents(dir).catch(() => [])) {
    if (out.length >= MAX_FILES || d.name.startsWith('.')) continue;
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) await filesUnder(path.join(dir, d.name), depth + 1, r, out);
    else if (d.isFile()) out.push(r);
  }
  return out;
}

/** MLflow writes Python's float repr: nan, inf, -inf besides plain numbers. */
function mlflowNumber(text: string): number | null {
  const t = text.toLowerCase();
  if (t === 'nan') return NaN;
  if (t === 'inf' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  const n = Number(text);
  return text.trim() !== '' && !Number.isNaN(n) ? n : null;
}

/** A param's text as a value: a number or boolean when it reads as one (as YAML would), else the text. */
function paramValue(text: string): JsonValue {
  const t = text.trim();
  if (t === 'True' || t === 'true') return true;
  if (t === 'False' || t === 'false') return false;
  const n = mlflowNumber(t);
  return n !== null && Number.isFinite(n) ? n : t;
}

export class MlflowTail {
  ino: number | null = null;
  private st: MlflowTailState;

  constructor(
    readonly key: string,
    state?: MetricsTailState,
  ) {
    this.st = MlflowTail.normalize(state);
  }

  private static normalize(state?: MetricsTailState): MlflowTailState {
    const s = (state ?? {}) as Partial<MlflowTailState>;
    return {
      offset: s.offset ?? 0,
      lineCount: s.lineCount ?? 0,
      malformedCount: s.malformedCount ?? 0,
      malformed: s.malformed ?? [],
      fingerprint: '',
      mlflowFiles: s.mlflowFiles ?? [],
      hparams: s.hparams ?? null,
    };
  }

  get state(): MlflowTailState {
    return this.st;
  }

  set state(s: MetricsTailState) {
    this.st = MlflowTail.normalize(s);
  }

  private get dir(): string {
    return path.dirname(this.key);
  }

  private async readParams(): Promise<Record<string, JsonValue>> {
    const base = path.join(this.dir, 'params');
    const out: Record<string, JsonValue> = {};
    for (const rel of await filesUnder(base)) {
      const text = await readFile(path.join(base, rel), 'utf8').catch(() => null);
      if (text !== null && text.length <= MAX_PARAM_BYTES && rel !== '__proto__') out[rel] = paramValue(text);
    }
    return out;
  }

  async readAppended(sink: RecordSink, onReset?: () => void): Promise<ReadResult> {
    const base = path.join(this.dir, 'metrics');
    const keys = (await filesUnder(base)).sort();
    const known = new Map((this.st.mlflowFiles ?? []).map((f) => [f.key, f]));
    const opened = [];
    let reset = [...known.keys()].some((k) => !keys.includes(k));
    try {
      for (const key of keys) {
        const { fh, stat } = await openRegular(path.join(base, key), { label: `metrics/${key}` });
        opened.push({ key, fh, size: stat.size, ino: stat.ino });
        const k = known.get(key);
        if (k && (k.ino !== stat.ino || stat.size < k.offset)) reset = true;
      }
      if (reset) {
        this.st = MlflowTail.normalize();
        onReset?.();
      }
      this.st.hparams = await this.readParams();
      const startOffset = this.st.offset;
      const startLines = this.st.lineCount;
      const files = new Map((this.st.mlflowFiles ?? []).map((f) => [f.key, f]));
      const records: { step: number; record: Record<string, unknown> }[] = [];
      for (const o of opened) {
        const f = files.get(o.key) ?? { key: o.key, offset: 0, ino: o.ino };
        files.set(o.key, f);
        if (o.size <= f.offset) continue;
        const buf = Buffer.alloc(o.size - f.offset);
        const { bytesRead } = await o.fh.read(buf, 0, buf.length, f.offset);
        const lastNl = buf.lastIndexOf(10, bytesRead - 1);
        if (lastNl < 0) continue; // no whole line yet
        let at = f.offset;
        for (const line of buf.toString('utf8', 0, lastNl).split('\n')) {
          this.line(o.key, line, at, records);
          at += Buffer.byteLength(line) + 1;
        }
        f.offset += lastNl + 1;
      }
      // One key a file: merge by step (stable, so one key's order stays), then by time.
      records.sort((a, b) => a.step - b.step);
      for (const r of records) sink(r.record, this.st.lineCount);
      this.st.mlflowFiles = [...files.values()];
      this.st.offset = this.st.mlflowFiles.reduce((acc, f) => acc + f.offset, 0);
      return { reset, bytes: this.st.offset - startOffset, lines: this.st.lineCount - startLines };
    } finally {
      await Promise.all(opened.map((o) => o.fh.close()));
    }
  }

  private line(
    key: string,
    raw: string,
    offset: number,
    into: { step: number; record: Record<string, unknown> }[],
  ): void {
    const text = raw.trim();
    if (text === '') return;
    const parts = text.split(/\s+/);
    const ts = mlflowNumber(parts[0] ?? '');
    const value = mlflowNumber(parts[1] ?? '');
    const step = parts.length > 2 ? mlflowNumber(parts[2]!) : 0;
    if (parts.length < 2 || parts.length > 3 || ts === null || value === null || step === null) {
      this.st.malformedCount++;
      if (this.st.malformed.length < MAX_REMEMBERED_ERRORS) {
        const bytes = Buffer.byteLength(raw);
        const detail = 'not a "timestamp value step" line';
        this.st.malformed.push({
          fault: 'record',
          line: 0,
          count: 1,
          bytes,
          maxBytes: bytes,
          detail,
          file: `metrics/${key}`,
          offset,
        });
      }
      return;
    }
    this.st.lineCount++;
    if (key === 'step' || key === 'timestamp' || key === 'prefix' || key === '__proto__') return;
    into.push({ step, record: { step, timestamp: ts / 1000, [key]: value } });
  }
}
