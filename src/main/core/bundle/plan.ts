/**
 * What goes in a bundle, decided from the lstat'ed entries of scan.ts and
 * what the folder recorded — pure: no file is read or written here.
 *
 * The trust rule: a bundle carries the experiment's own files only. A
 * regular file is packed; a link whose real path stays inside the experiment
 * and ends at a regular file is packed as that file's content (it is the
 * experiment's); a link leading outside, a link to nothing or a loop, a
 * link to a folder (never followed), and a FIFO, socket or device are left
 * out — each named, with where it leads, in the export's warnings, README.md
 * and bundle.json (left_out).
 */
import path from 'node:path';
import { getPath } from '../../../shared/config/tree';
import type { JsonObject } from '../workspace/files';
import type { FileItem } from './packer';
import type { ExperimentScan, ScannedEntry } from './scan';

/** An entry of the experiment not packed, and why. */
export interface LeftOut {
  path: string;
  reason: string;
}

/** Warnings list at most this many left-out entries one by one; bundle.json has them all. */
const LEFT_OUT_NOTES = 20;

/**
 * The entry as a file to pack, or why it is left out (null reason: nothing to
 * say, e.g. a folder or a missing file).
 */
export function packable(e: ScannedEntry): { item: FileItem } | { reason: string | null } {
  const { entry } = e;
  const item = (abs: string, stats: import('node:fs').Stats): FileItem => ({
    kind: 'file',
    rel: e.rel,
    abs,
    size: stats.size,
    mode: stats.mode & 0o777,
    stats,
  });
  switch (entry.kind) {
    case 'file':
      return { item: item(e.abs, entry.stats) };
    case 'link':
      if (entry.real === null) return { reason: `${entry.reason ?? 'a link that cannot be resolved'}` };
      if (entry.realStats?.isFile()) return { item: item(entry.real, entry.realStats) };
      if (entry.realStats?.isDirectory())
        return { reason: `a link to a folder (${entry.target}): links to folders are not followed` };
      return { reason: `a link to something that is not a regular file (${entry.target})` };
    case 'special':
      return { reason: `${entry.what}: never read` };
    default:
      return { reason: null };
  }
}

export interface RecordedPlan {
  /** The experiment's files to pack, in bundle order. */
  recorded: FileItem[];
  /** Recorded files that are absent (or left out), with what it means. */
  absent: Array<{ file: string; meaning: string }>;
  leftOut: LeftOut[];
  /** Warnings about what was found (README "Notes from the export" too). */
  notes: string[];
  /** The checkpoint's folder in the bundle, or null. */
  checkpoint: string | null;
  hasConfig: boolean;
  hasMetrics: boolean;
  /** Whether metadata.json, config.yaml and the status file may be read (packable), by name. */
  readable: Set<string>;
}

/** `known`: entries already left out before the scan (a remote fetch leaves them behind). */
export function planRecorded(scan: ExperimentScan, known: LeftOut[] = []): RecordedPlan {
  const recorded: FileItem[] = [];
  const absent: Array<{ file: string; meaning: string }> = [];
  const leftOut: LeftOut[] = [...known];
  const notes: string[] = [];
  const readable = new Set<string>();
  const take = (e: ScannedEntry): FileItem | null => {
    const r = packable(e);
    if ('item' in r) return r.item;
    if (r.reason) leftOut.push({ path: e.file, reason: r.reason });
    return null;
  };

  for (const rec of scan.records) {
    const item = take(rec);
    if (item) {
      recorded.push(item);
      readable.add(rec.file);
    } else if (rec.meaning) absent.push({ file: rec.file, meaning: rec.meaning });
  }
  const hasConfig = recorded.some((i) => i.rel === 'config.yaml');
  const metricsItem = take(scan.metrics);
  if (metricsItem) {
    recorded.push(metricsItem);
    readable.add(scan.metrics.file);
  } else
    notes.push('the run recorded no logs/metrics.jsonl: there is nothing to verify a reproduction against');
  if (scan.logsRoot) take(scan.logsRoot);
  for (const e of scan.logs ?? []) {
    if (e.rel === metricsItem?.rel || e.rel === scan.metrics.rel) continue;
    const item = take(e);
    if (item) recorded.push(item);
  }
  let checkpoint: string | null = null;
  if (scan.checkpoint && !scan.checkpoint.found)
    notes.push('--with-checkpoint: the run has no checkpoint (checkpoints/ is empty or absent)');
  else if (scan.checkpoint?.found) {
    const cp = scan.checkpoint;
    const root = cp.root.entry;
    const walked = root.kind === 'dir' || (root.kind === 'link' && root.realStats?.isDirectory() === true);
    if (walked) {
      checkpoint = cp.rel;
      if (!cp.final)
        notes.push(`the run has no checkpoints/final: packed its last checkpoint, ${checkpoint}`);
      for (const e of cp.files) {
        const item = take(e);
        if (item) recorded.push(item);
      }
    } else {
      const r = packable(cp.root);
      leftOut.push({
        path: cp.rel,
        reason: 'reason' in r && r.reason ? r.reason : 'not a folder of checkpoint files',
      });
    }
  }
  for (const t of scan.truncated) leftOut.push({ path: t, reason: 'the walk stopped at its bound' });
  for (const l of leftOut.slice(0, LEFT_OUT_NOTES))
    notes.push(`${l.path} is left out of the bundle: ${l.reason}`);
  if (leftOut.length > LEFT_OUT_NOTES)
    notes.push(`${leftOut.length - LEFT_OUT_NOTES} more entries are left out (bundle.json lists them all)`);
  return {
    recorded,
    absent,
    leftOut,
    notes,
    checkpoint,
    hasConfig,
    hasMetrics: metricsItem !== null,
    readable,
  };
}

// --- Facts from what the run recorded ---------------------------------------

/** Recorded variables that change numbers; machine-specific ones (paths, devices, NCCL) are left to the new machine. */
const REPRODUCED_ENV = [
  'PYTHONHASHSEED',
  'CUBLAS_WORKSPACE_CONFIG',
  'CUDA_LAUNCH_BLOCKING',
  'OMP_NUM_THREADS',
  'MKL_NUM_THREADS',
  'OPENBLAS_NUM_THREADS',
  'TOKENIZERS_PARALLELISM',
];

const SEED_KEYS = ['seed', 'training.seed', 'experiment.seed'];

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

export function stringOf(v: unknown): string | null {
  return typeof v === 'string' && v ? v : null;
}

export function seedOf(metadata: JsonObject | null, config: JsonObject | null): number | null {
  if (typeof metadata?.seed === 'number' && Number.isInteger(metadata.seed)) return metadata.seed;
  if (config) {
    for (const k of SEED_KEYS) {
      const v = getPath(config, k);
      if (typeof v === 'number' && Number.isInteger(v)) return v;
    }
  }
  return null;
}

export function commandTemplateOf(metadata: JsonObject | null): string[] | null {
  const t = metadata?.command_template;
  return Array.isArray(t) && t.length > 0 && t.every((w) => typeof w === 'string') ? (t as string[]) : null;
}

/** The command's folder relative to the repository root, as recorded ('.' when unknown). */
export function relativeCwdOf(metadata: JsonObject | null): string {
  const cwd = stringOf(metadata?.cwd);
  const root = stringOf(metadata?.git_root);
  if (!cwd || !root) return '.';
  const rel = path.posix.relative(toPosix(root), toPosix(cwd));
  return rel && !rel.startsWith('..') && !path.posix.isAbsolute(rel) ? rel : '.';
}

export function environmentOf(metadata: JsonObject | null): Record<string, string> {
  const env = metadata?.env;
  const out: Record<string, string> = {};
  if (env && typeof env === 'object' && !Array.isArray(env)) {
    for (const k of REPRODUCED_ENV) {
      const v = (env as Record<string, unknown>)[k];
      if (typeof v === 'string') out[k] = v;
    }
  }
  return out;
}

export interface PatchFacts {
  present: boolean;
  bytes: number;
  complete: boolean;
  omitted: string[];
  error: string | null;
}

/** What the launch recorded about its uncommitted changes. */
export function patchOf(metadata: JsonObject | null, patchItem: FileItem | undefined): PatchFacts {
  const patchMeta = metadata?.uncommitted_patch;
  const patchInfo =
    patchMeta && typeof patchMeta === 'object' && !Array.isArray(patchMeta)
      ? (patchMeta as JsonObject)
      : null;
  const omitted = Array.isArray(patchInfo?.omitted)
    ? patchInfo.omitted.flatMap((o) =>
        o && typeof o === 'object' && !Array.isArray(o) && typeof o.path === 'string' ? [o.path] : [],
      )
    : [];
  return {
    present: Boolean(patchItem && patchItem.size > 0),
    bytes: patchItem?.size ?? 0,
    complete: patchInfo?.complete !== false,
    omitted,
    error: stringOf(patchInfo?.error),
  };
}

/** Warnings about the recorded facts (the README explains each under its own heading too). */
export function factWarnings(
  patch: PatchFacts,
  commandTemplate: string[] | null,
  seed: number | null,
): string[] {
  const warnings: string[] = [];
  if (!patch.complete)
    warnings.push(
      patch.error
        ? `the uncommitted changes at launch could not be recorded in full (${patch.error.split('\n')[0]}): the reproduction may differ`
        : `uncommitted.patch was recorded only in part at launch (${patch.omitted.length} file(s) over its size limit): the reproduction may differ`,
    );
  if (!commandTemplate)
    warnings.push(
      'the run recorded no command template (not launched by Expdesk): reproduce.sh needs the command after -- (the README says how)',
    );
  if (seed === null) warnings.push('the run recorded no seed');
  return warnings;
}
