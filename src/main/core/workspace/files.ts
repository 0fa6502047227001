/**
 * Readers for the small files of an experiment folder. Each returns what it
 * could read plus the problems it found (file, line, column), never throws
 * for bad content: one damaged experiment must not stop a listing.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { parseJsonDocument } from '../../../shared/jsonl';
import { parsePlainYaml } from '../../../shared/plain-yaml';
import { yamlTooDeep } from '../../../shared/nesting';
import type { Checkpoint, JsonValue, LogFile, OutputFile, Problem } from '../../../shared/model';
import { isLogName, rankLogs, rankOfLogName } from '../../../shared/rank-logs';
import { systemFileNode } from '../../../shared/system-metrics';
import { readText, statSig } from './fs-batch';
import { LAYOUT } from './layout';

/** YAML aliases allowed in one document: enough for real configs, too few for an alias bomb. */
const MAX_YAML_ALIASES = 100;
/** Small files larger than this are not parsed (a config is kilobytes). */
const MAX_SMALL_FILE_BYTES = 16 * 1024 * 1024;

export type JsonObject = { [key: string]: JsonValue };

export interface Parsed<T> {
  value: T | null;
  problems: Problem[];
}

/**
 * A small file's text, or why there is none. `knownSize` skips the stat when
 * the caller has just statted the file (a listing does, for its cache check).
 */
export async function readSmallFile(file: string, label: string, knownSize?: number): Promise<SmallFileText> {
  try {
    const size = knownSize ?? (await statSig(file))?.size;
    if (size === undefined) return { text: null };
    if (size > MAX_SMALL_FILE_BYTES) {
      return {
        text: null,
        problem: { file: label, message: `${label} is ${size} bytes: too large to read` },
      };
    }
    // Opened without blocking, only if a regular file, and bounded again after the open.
    return { text: await readText(file, MAX_SMALL_FILE_BYTES, label) };
  } catch (err) {
    return smallFileFailure(err, label);
  }
}

/** What a failed read of a small file means: nothing (missing) or a problem naming it. */
export function smallFileFailure(err: unknown, label: string): SmallFileText {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return { text: null };
  if (code === 'EACCES' || code === 'EPERM') {
    return { text: null, problem: { file: label, message: `cannot read ${label}: permission denied` } };
  }
  if (code === 'ENOTREG' || code === 'EFBIG' || code === 'ELOOP') {
    return { text: null, problem: { file: label, message: (err as Error).message } };
  }
  return {
    text: null,
    problem: { file: label, message: `cannot read ${label}: ${(err as Error).message}` },
  };
}

function isPlainObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Parse YAML safely (core schema, unique keys, alias limit), reporting errors at their line and column. */
export function parseYamlText(text: string, label: string): Parsed<JsonObject> {
  // Plain block YAML (the seed's configs) is read ~50× faster; anything else goes to `yaml` below.
  const plain = parsePlainYaml(text);
  if (plain) return { value: plain, problems: [] };
  // Measured before parsing: deep nesting made the parser exhaust memory and abort the process.
  const deep = yamlTooDeep(text);
  if (deep) {
    return {
      value: null,
      problems: [
        { file: label, line: deep.line, column: deep.column, message: `${label} is ${deep.message}` },
      ],
    };
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, schema: 'core' });
  const problems: Problem[] = doc.errors.map((e) => ({
    file: label,
    line: e.linePos?.[0]?.line,
    column: e.linePos?.[0]?.col,
    message: e.message.split('\n')[0] ?? e.message,
  }));
  if (problems.length > 0) return { value: null, problems };
  try {
    const value: unknown = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
    if (value === null || value === undefined) return { value: {}, problems };
    if (!isPlainObject(value)) {
      return {
        value: null,
        problems: [{ file: label, line: 1, message: `${label} is not a mapping of keys` }],
      };
    }
    return { value, problems };
  } catch (err) {
    return { value: null, problems: [{ file: label, message: (err as Error).message }] };
  }
}

/** A small file's text, or why there is none (read here or shipped from a remote workspace). */
export interface SmallFileText {
  text: string | null;
  problem?: Problem;
}

export function configFromText({ text, problem }: SmallFileText): Parsed<JsonObject> {
  if (text === null) return { value: null, problems: problem ? [problem] : [] };
  return parseYamlText(text, LAYOUT.config);
}

export async function readConfig(dir: string): Promise<Parsed<JsonObject>> {
  return configFromText(await readSmallFile(path.join(dir, LAYOUT.config), LAYOUT.config));
}

export async function readJsonObject(dir: string, name: string): Promise<Parsed<JsonObject>> {
  return jsonObjectFromText(await readSmallFile(path.join(dir, name), name), name);
}

export function jsonObjectFromText({ text, problem }: SmallFileText, name: string): Parsed<JsonObject> {
  if (text === null) return { value: null, problems: problem ? [problem] : [] };
  const parsed = parseJsonDocument(text);
  if ('error' in parsed) {
    const message = parsed.error.startsWith('nested deeper') ? `${name} is ${parsed.error}` : parsed.error;
    return {
      value: null,
      problems: [{ file: name, line: parsed.line, column: parsed.column, message }],
    };
  }
  if (!isPlainObject(parsed.value)) {
    return { value: null, problems: [{ file: name, line: 1, message: `${name} is not a JSON object` }] };
  }
  return { value: parsed.value, problems: [] };
}

export interface FailedInfo {
  step: number | null;
  traceback: string;
}

/** FAILED.txt in the seed's form: "Failed at step N" then the traceback. */
export function parseFailedText(text: string): FailedInfo {
  const nl = text.indexOf('\n');
  const first = nl < 0 ? text : text.slice(0, nl);
  const m = /Failed at step\s+(-?\d+)/i.exec(first);
  if (m) return { step: Number(m[1]), traceback: nl < 0 ? '' : text.slice(nl + 1).replace(/\s+$/, '') };
  return { step: null, traceback: text.replace(/\s+$/, '') };
}

export async function readFailed(dir: string): Promise<{ value: FailedInfo | null; problems: Problem[] }> {
  return failedFromText(await readSmallFile(path.join(dir, LAYOUT.failed), LAYOUT.failed));
}

export function failedFromText({ text, problem }: SmallFileText): Parsed<FailedInfo> {
  if (text === null) return { value: null, problems: problem ? [problem] : [] };
  return { value: parseFailedText(text), problems: [] };
}

async function listDir(dir: string): Promise<import('node:fs').Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** A checkpoint entry from its folder name (pure: local and remote listings share it). */
export function checkpointOf(name: string, fullPath: string): Checkpoint {
  const m = /^(?:step|checkpoint)[_-]?(\d+)$/.exec(name);
  return { name, step: m ? Number(m[1]) : null, final: name === 'final', path: fullPath };
}

/** step_N in numeric order, then final, then anything else by name. */
export function sortCheckpoints(list: Checkpoint[]): Checkpoint[] {
  const rank = (c: Checkpoint): number => (c.step !== null ? 0 : c.final ? 1 : 2);
  return list.sort(
    (a, b) => rank(a) - rank(b) || (a.step ?? 0) - (b.step ?? 0) || a.name.localeCompare(b.name),
  );
}

export async function listCheckpoints(dir: string): Promise<Checkpoint[]> {
  const base = path.join(dir, LAYOUT.checkpoints);
  const out: Checkpoint[] = [];
  for (const e of await listDir(base)) {
    if (e.name.startsWith('.')) continue;
    out.push(checkpointOf(e.name, path.join(base, e.name)));
  }
  return sortCheckpoints(out);
}

export function logFileOf(name: string, fullPath: string, size: number): LogFile {
  return { name, path: fullPath, size, rank: rankOfLogName(name)?.rank ?? null };
}

/** train.log first, then ranks in numeric order (shared/rank-logs.ts's order within a rank), then other logs. */
export function sortLogs(list: LogFile[]): LogFile[] {
  const order = new Map(rankLogs(list.map((l) => l.name)).map((r, i) => [r.name, i]));
  const key = (l: LogFile): number => (l.name === 'train.log' ? -1 : (order.get(l.name) ?? 1e9));
  return list.sort((a, b) => key(a) - key(b) || a.name.localeCompare(b.name));
}

export async function listLogs(dir: string): Promise<LogFile[]> {
  const base = path.join(dir, LAYOUT.logs);
  const out: LogFile[] = [];
  for (const e of await listDir(base)) {
    if (!e.isFile() || !isLogName(e.name)) continue;
    const p = path.join(base, e.name);
    const size = (await stat(p).catch(() => null))?.size ?? 0;
    out.push(logFileOf(e.name, p, size));
  }
  return sortLogs(out);
}

/** A multi-node job's other nodes: the names of its logs/system-<node>.jsonl (regular files), sorted. */
export async function listSystemNodes(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await listDir(path.join(dir, LAYOUT.logs))) {
    const node = e.isFile() ? systemFileNode(e.name) : null;
    if (node !== null) out.push(node);
  }
  return out.sort();
}

export async function listOutputs(dir: string): Promise<OutputFile[]> {
  const base = path.join(dir, LAYOUT.outputs);
  const out: OutputFile[] = [];
  const walk = async (folder: string, kind: OutputFile['kind'], depth: number): Promise<void> => {
    for (const e of await listDir(folder)) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(folder, e.name);
      if (e.isDirectory()) {
        if (depth < 3) await walk(p, kind, depth + 1);
      } else if (e.isFile()) {
        const size = (await stat(p).catch(() => null))?.size ?? 0;
        out.push({ kind, name: path.relative(base, p), path: p, size });
      }
    }
  };
  for (const e of await listDir(base)) {
    const p = path.join(base, e.name);
    const kind: OutputFile['kind'] = e.name === 'eval' ? 'eval' : e.name === 'samples' ? 'samples' : 'other';
    if (e.isDirectory()) await walk(p, kind, 1);
    else if (e.isFile())
      out.push({ kind, name: e.name, path: p, size: (await stat(p).catch(() => null))?.size ?? 0 });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
