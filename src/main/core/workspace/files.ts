/**
 * Readers for the small files of an experiment folder. Each returns what it
 * could read plus the problems it found (file, line, column), never throws
 * for bad content: one damaged experiment must not stop a listing.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parsePlainYaml } from '../../../shared/plain-yaml';
import type { Checkpoint, LogFile, OutputFile, Problem } from '../../../shared/model';
import { isLogName, rankLogs, rankOfLogName } from '../../../shared/rank-logs';
import { systemFileNode } from '../../../shared/system-metrics';
import { LAYOUT } from './layout';
import {
  failedFromText,
  jsonObjectFromText,
  readSmallFile,
  type FailedInfo,
  type JsonObject,
  type Parsed,
  type SmallFileText,
} from './small-file-text';
import { parseYamlDocument } from './yaml-document';

export {
  failedFromText,
  jsonObjectFromText,
  parseFailedText,
  readSmallFile,
  smallFileFailure,
  type FailedInfo,
  type JsonObject,
  type Parsed,
  type SmallFileText,
} from './small-file-text';

/** Parse YAML safely (core schema, unique keys, alias limit), reporting errors at their line and column. */
export function parseYamlText(text: string, label: string): Parsed<JsonObject> {
  // Plain block YAML (the seed's configs) is read ~50× faster; anything else goes to `yaml` (./yaml-document.ts).
  const plain = parsePlainYaml(text);
  if (plain) return { value: plain, problems: [] };
  return parseYamlDocument(text, label);
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

export async function readFailed(dir: string): Promise<{ value: FailedInfo | null; problems: Problem[] }> {
  return failedFromText(await readSmallFile(path.join(dir, LAYOUT.failed), LAYOUT.failed));
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
