/**
 * What an export takes from the experiment folder, seen with lstat: every
 * entry is classified without following it (core/fs/confine.ts's
 * inspectEntry). Walks (logs/ with withLogs, the checkpoint's folder) never
 * follow a link to a folder, stop at a depth and an entry count, and check
 * for cancellation at every folder, so `ln -s . logs/loop` is one entry, not
 * an endless tree. Deciding what goes in the bundle is plan.ts's job.
 */
import { readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { inspectEntry, type EntryKind } from '../fs/confine';
import { listCheckpoints } from '../workspace/files';
import { LAYOUT } from '../workspace/layout';

/** Deep enough for any real logs/ or checkpoint folder; a deeper tree is cut and reported. */
export const MAX_WALK_DEPTH = 32;
/** Entries per export walked in logs/ and the checkpoint; the rest is reported as left out. */
export const MAX_WALK_ENTRIES = 200_000;

export interface ScannedEntry {
  /** Path inside the experiment folder, '/'-separated (as messages name it). */
  file: string;
  /** Path inside the bundle folder. */
  rel: string;
  abs: string;
  entry: EntryKind;
}

/** A top-level record and what its absence means (null: nothing worth saying). */
export interface ScannedRecord extends ScannedEntry {
  meaning: string | null;
}

export interface ExperimentScan {
  records: ScannedRecord[];
  metrics: ScannedEntry;
  /** Everything under logs/ (withLogs), or null. */
  logs: ScannedEntry[] | null;
  /** logs/ itself when withLogs and it is not a plain folder (a link, a FIFO …). */
  logsRoot: ScannedEntry | null;
  /** The checkpoint asked for (withCheckpoint): none found, or its root and files. */
  checkpoint:
    | null
    | { found: false }
    | { found: true; rel: string; final: boolean; root: ScannedEntry; files: ScannedEntry[] };
  /** Folders whose walk was cut at the depth or entry bound. */
  truncated: string[];
}

export interface ScanOptions {
  withLogs?: boolean;
  withCheckpoint?: boolean;
  /** Throws when the export is cancelled; called at every folder. */
  checkAbort: () => void;
  maxDepth?: number;
  maxEntries?: number;
}

const TOP_RECORDS: Array<[string, string, string | null]> = [
  [LAYOUT.config, LAYOUT.config, 'the run cannot be configured as it was; reproduce.sh stops'],
  [LAYOUT.metadata, LAYOUT.metadata, 'the code version and command are unknown'],
  [
    LAYOUT.requirements,
    LAYOUT.requirements,
    'the package versions are unknown; the environment is whatever the interpreter has',
  ],
  ['conda_env.txt', 'conda_env.txt', null],
  ['uncommitted.patch', 'uncommitted.patch', null],
  [LAYOUT.failed, LAYOUT.failed, null],
  [LAYOUT.status, LAYOUT.status, null],
  [LAYOUT.reproduce, 'reproduce.original.sh', null],
];

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

interface WalkState {
  entries: number;
  truncated: string[];
  maxDepth: number;
  maxEntries: number;
  checkAbort: () => void;
}

/** Every entry under `dir` (a real folder), recursing only into real folders, never through links. */
async function walk(
  dir: string,
  file: string,
  rel: string,
  rootReal: string,
  depth: number,
  state: WalkState,
  out: ScannedEntry[],
): Promise<void> {
  state.checkAbort();
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    if (state.entries >= state.maxEntries) {
      state.truncated.push(`${file}/ (more than ${state.maxEntries} entries)`);
      return;
    }
    state.entries++;
    const abs = path.join(dir, e.name);
    const childFile = `${file}/${e.name}`;
    const childRel = `${rel}/${e.name}`;
    // Dirent types are lstat's: a link to a folder is a link here, never walked into.
    if (e.isDirectory()) {
      if (depth + 1 > state.maxDepth)
        state.truncated.push(`${childFile}/ (deeper than ${state.maxDepth} levels)`);
      else await walk(abs, childFile, childRel, rootReal, depth + 1, state, out);
    } else {
      out.push({ file: childFile, rel: childRel, abs, entry: await inspectEntry(abs, rootReal) });
    }
  }
}

export async function scanExperiment(expDir: string, opts: ScanOptions): Promise<ExperimentScan> {
  const rootReal = await realpath(expDir);
  const at = async (file: string, rel: string): Promise<ScannedEntry> => {
    const abs = path.join(expDir, file);
    return { file: toPosix(file), rel, abs, entry: await inspectEntry(abs, rootReal) };
  };
  const records: ScannedRecord[] = [];
  for (const [file, rel, meaning] of TOP_RECORDS) records.push({ ...(await at(file, rel)), meaning });
  const metrics = await at(LAYOUT.metrics, toPosix(LAYOUT.metrics));
  const state: WalkState = {
    entries: 0,
    truncated: [],
    maxDepth: opts.maxDepth ?? MAX_WALK_DEPTH,
    maxEntries: opts.maxEntries ?? MAX_WALK_ENTRIES,
    checkAbort: opts.checkAbort,
  };
  let logs: ScannedEntry[] | null = null;
  let logsRoot: ScannedEntry | null = null;
  if (opts.withLogs) {
    logs = [];
    const root = await at(LAYOUT.logs, LAYOUT.logs);
    if (root.entry.kind === 'dir') await walk(root.abs, root.file, root.rel, rootReal, 1, state, logs);
    else if (root.entry.kind !== 'missing') logsRoot = root;
  }
  let checkpoint: ExperimentScan['checkpoint'] = null;
  if (opts.withCheckpoint) {
    const cps = await listCheckpoints(expDir);
    const pick = cps.find((c) => c.final) ?? [...cps].reverse().find((c) => c.step !== null) ?? null;
    if (!pick) checkpoint = { found: false };
    else {
      const rel = `${LAYOUT.checkpoints}/${pick.name}`;
      const root = await at(rel, rel);
      const files: ScannedEntry[] = [];
      // The checkpoint picked is walked in its real folder when it is one, or a link (final → step_N) to one inside.
      const dir =
        root.entry.kind === 'dir'
          ? root.abs
          : root.entry.kind === 'link' && root.entry.realStats?.isDirectory()
            ? root.entry.real
            : null;
      if (dir) await walk(dir, rel, rel, rootReal, 1, state, files);
      checkpoint = { found: true, rel, final: pick.final, root, files };
    }
  }
  return { records, metrics, logs, logsRoot, checkpoint, truncated: state.truncated };
}
