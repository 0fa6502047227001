/**
 * Reading an experiment's small files and the parsers that need no library:
 * JSON objects (metadata.json, the status file, the notes) and FAILED.txt.
 * Like ./files.ts (which re-exports these and adds YAML), each returns what
 * it could read plus the problems it found and never throws for bad content.
 * Kept apart from the YAML parser so that a listing loads `yaml` only when a
 * config needs it (../summary/small-files.ts).
 */
import { parseJsonDocument } from '../../../shared/jsonl';
import type { JsonValue, Problem } from '../../../shared/model';
import { readText, statSig } from './fs-batch';

/** Small files larger than this are not parsed (a config is kilobytes). */
const MAX_SMALL_FILE_BYTES = 16 * 1024 * 1024;

export type JsonObject = { [key: string]: JsonValue };

export interface Parsed<T> {
  value: T | null;
  problems: Problem[];
}

/** A small file's text, or why there is none (read here or shipped from a remote workspace). */
export interface SmallFileText {
  text: string | null;
  problem?: Problem;
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

export function isPlainObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
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

export function failedFromText({ text, problem }: SmallFileText): Parsed<FailedInfo> {
  if (text === null) return { value: null, problems: problem ? [problem] : [] };
  return { value: parseFailedText(text), problems: [] };
}
