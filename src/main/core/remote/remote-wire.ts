/**
 * Conversions between the remote helper's answers (protocol.ts) and the
 * core's shapes, for remote-workspace.ts: stat signatures, small files'
 * texts and their read errors in the local reader's words, folder order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getSystemErrorMap } from 'node:util';
import type { FileSig } from '../summary/summary-store';
import type { ExperimentDetail } from '../../../shared/model';
import { checkpointOf, logFileOf, sortCheckpoints, sortLogs, type SmallFileText } from '../workspace/files';
import { LAYOUT } from '../workspace/layout';
import type { WireDetail, WireOsError, WireSig, WireText } from './protocol';
import { RemoteOpError } from './remote-python';

export function toSig(w: WireSig | undefined): FileSig {
  return w ? { size: w[0], mtimeMs: w[1], ino: w[2] } : null;
}

export function toWire(s: FileSig): WireSig {
  return s ? [s.size, s.mtimeMs, s.ino] : null;
}

let errnoMessages: Map<string, string> | null = null;

/**
 * A remote read's failure worded as the local reader's (Node's `CODE: message, syscall`),
 * so a problem reads the same whichever side met it; the helper's own text where the
 * errno is not known here.
 */
export function osErrorText(w: WireOsError): string {
  errnoMessages ??= new Map([...getSystemErrorMap().values()]);
  const message = w.errno ? errnoMessages.get(w.errno) : undefined;
  if (message && w.syscall) return `${w.errno}: ${message}, ${w.syscall}`;
  return w.error.replace(/^cannot read: /, '');
}

export function textOf(w: WireText | undefined, label: string): SmallFileText {
  if (!w) return { text: null };
  if ('data' in w) return { text: Buffer.from(w.data, 'base64').toString('utf8') };
  if ('too_large' in w)
    return {
      text: null,
      problem: { file: label, message: `${label} is ${w.too_large} bytes: too large to read` },
    };
  // A refusal (not a regular file, permission denied) is already in the local words.
  const message = w.error.startsWith('cannot read: ') ? `cannot read ${label}: ${osErrorText(w)}` : w.error;
  return { text: null, problem: { file: label, message } };
}

let scratchMirrors: string | null = null;

/** A detail answer's files as a local folder's are listed (files.ts); `at` locates a path in the folder. */
export function detailOf(
  d: WireDetail | undefined,
  at: (...parts: string[]) => string,
): Omit<ExperimentDetail, 'summary' | 'config' | 'metadata'> {
  const w = d ?? { checkpoints: [], logs: [], outputs: [], has_requirements: false, has_reproduce: false };
  return {
    checkpoints: sortCheckpoints(w.checkpoints.map((n) => checkpointOf(n, at(LAYOUT.checkpoints, n)))),
    logs: sortLogs(w.logs.map((l) => logFileOf(l.name, at(LAYOUT.logs, l.name), l.size))),
    outputs: w.outputs
      .map((o) => ({ kind: o.kind, name: o.rel, path: at(LAYOUT.outputs, o.rel), size: o.size }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    hasRequirements: w.has_requirements,
    hasReproduceScript: w.has_reproduce,
    systemNodes: w.system_nodes ?? [],
  };
}

/** Where mirrors go when the summary store keeps no disk cache: a folder of this process, removed at exit. */
export function scratchMirrorRoot(): string {
  if (scratchMirrors === null) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-mirrors-'));
    scratchMirrors = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return scratchMirrors;
}

/** Folder order of discover.ts: children by name, a grouped sweep's experiments in place of their group. */
let collator: ((a: string, b: string) => number) | null = null;

export function compareRel(a: string[], b: string[]): number {
  // localeCompare's order through one collator (each localeCompare call sets one up: ~10 ms a listing).
  const cmp = (collator ??= new Intl.Collator().compare);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const c = cmp(x, y);
    if (c) return c;
  }
  return 0;
}

/** Run `fn` after every earlier call for the same key (a mirror's changes, one at a time per location). */
export function oneAtATime<T>(
  locks: Map<string, Promise<unknown>>,
  key: string,
  fn: () => Promise<T>,
): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const p = prev.then(fn, fn);
  const settled = p.catch(() => undefined);
  locks.set(key, settled);
  void settled.then(() => {
    if (locks.get(key) === settled) locks.delete(key);
  });
  return p;
}

/** The error of a mirror whose file kept changing through every follow-up call. */
export function keepsChanging(location: string): Error {
  return new RemoteOpError('internal', `${location}: metrics keep changing under the copy`);
}

/** The bytes of a mirror's end kept to check that a remote file still continues it. */
export const FINGERPRINT_BYTES = 64;

/** No bytes added to a mirror. */
export function nothingAdded(): { data: Buffer; at: number } {
  return { data: Buffer.alloc(0), at: 0 };
}

/** The last FINGERPRINT_BYTES bytes of `before` followed by `added`. */
export function lastBytes(before: Buffer | null, added: Buffer): Buffer | null {
  if (added.length >= FINGERPRINT_BYTES) return Buffer.from(added.subarray(added.length - FINGERPRINT_BYTES));
  if (before === null) return null; // read from the file when needed
  const both = Buffer.concat([before, added]);
  return both.subarray(Math.max(0, both.length - FINGERPRINT_BYTES));
}

/** When a mirror folder was last used or written: the latest time of the folder and its files. */
export async function lastUse(dir: string): Promise<number> {
  const times = await Promise.all(
    [dir, path.join(dir, LAYOUT.metrics), path.join(dir, 'mirror.json')].map((f) =>
      stat(f).then(
        (s) => s.mtimeMs,
        () => 0,
      ),
    ),
  );
  return Math.max(...times);
}

export function fileExists(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}
