/**
 * Exporting an experiment as a reproduction bundle: one .zip or .tar.gz
 * (chosen by the file name) holding one folder with everything needed to run
 * the experiment again elsewhere and check the numbers:
 *
 *   <bundle>/README.md          for the person who receives it
 *   <bundle>/reproduce.sh       runs it again from the bundle alone
 *   <bundle>/bundle.json        what the bundle holds and lacks, for programs
 *   <bundle>/config.yaml, metadata.json, requirements.txt, conda_env.txt,
 *            uncommitted.patch, FAILED.txt, expdesk_status.json,
 *            reproduce.original.sh (the launch-time script)   — as recorded
 *   <bundle>/logs/metrics.jsonl the original's metrics (what `expdesk verify` compares with)
 *   <bundle>/logs/…             with withLogs
 *   <bundle>/checkpoints/final/ with withCheckpoint
 *   <bundle>/source/            the repository at git_hash (git archive)
 *   <bundle>/MANIFEST           sha256 of every other file (sha256sum -c)
 *
 * The unpacked folder is itself an experiment folder (config.yaml,
 * metadata.json, logs/metrics.jsonl), so Expdesk opens it and
 * `expdesk verify BUNDLE NEW` works.
 *
 * Only the experiment's own files go in (scan.ts lstats, plan.ts decides):
 * a link leading outside the experiment, a link to a folder, a FIFO or a
 * device is left out and named in the warnings, README.md and bundle.json.
 *
 * This file is the orchestrator: scan → plan → source tree → documents →
 * pack (packer.ts).
 *
 * Atomic: the archive is written to `<out>.partial-<random>` beside the
 * target, fsynced and renamed; on failure or abort (SIGINT in the CLI) the
 * partial file is deleted. Nothing at the target path is ever incomplete.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { readConfig, readJsonObject } from '../workspace/files';
import { EXPERIMENT_MARKERS, LAYOUT } from '../workspace/layout';
import { bundleDocuments } from './documents';
import { fsyncDir, Packer, PackError, type BundleFormat, type Item } from './packer';
import {
  commandTemplateOf,
  factWarnings,
  patchOf,
  planRecorded,
  seedOf,
  stringOf,
  type LeftOut,
} from './plan';
import { humanBytes } from './readme';
import { scanExperiment } from './scan';
import type { OmittedFile } from './source';
import { sourceStage } from './source-stage';
import { ExpdeskError } from '../../../shared/errors';

export type { BundleFormat } from './packer';
export type { LeftOut } from './plan';

/** Files in the source tree larger than this are left out and listed (a repository is code, not data). */
export const DEFAULT_SOURCE_FILE_LIMIT_BYTES = 100 * 1024 * 1024;

export type BundlePhase = 'scan' | 'source' | 'pack' | 'finish' | 'done';

export interface BundleProgress {
  phase: BundlePhase;
  /** Bytes (source, pack) or steps (scan, finish) done so far. */
  done: number;
  total: number;
}

export interface ExportOptions {
  expDir: string;
  /** The bundle file: .zip, .tar.gz or .tgz. */
  out: string;
  withCheckpoint?: boolean;
  withLogs?: boolean;
  sourceFileLimitBytes?: number;
  /** Where to look for the commit first (the repository moved since the launch). */
  repository?: string;
  onProgress?: (p: BundleProgress) => void;
  signal?: AbortSignal;
  /** Entries left out before the export saw the folder (a remote fetch), named with the rest. */
  leftOut?: LeftOut[];
}

export interface ExportResult {
  path: string;
  format: BundleFormat;
  /** The one folder the archive unpacks to. */
  folder: string;
  sourceIncluded: boolean;
  /** Why there is no source/ (null when it is included). */
  sourceMissing: string | null;
  /** Files left out of source/, with why; reproduce.sh asks for them. */
  omitted: OmittedFile[];
  /** Entries of the experiment left out (links leading out, links to folders, FIFOs …), with why. */
  leftOut: LeftOut[];
  /** Everything the receiver should know: also in README.md and bundle.json. */
  warnings: string[];
  files: number;
  bytes: number;
}

export class BundleError extends ExpdeskError {
  constructor(message: string, code: 'not-found' | 'bad-request' | 'aborted' | 'internal' = 'internal') {
    super(code, message);
  }
}

export function bundleFormatOf(file: string): BundleFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith('.zip')) return 'zip';
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar.gz';
  throw new BundleError(
    `${path.basename(file)}: a bundle's name must end in .zip, .tar.gz or .tgz`,
    'bad-request',
  );
}

/** The folder the archive unpacks to: the file's name without its extension. */
export function bundleFolderOf(file: string): string {
  return path.basename(file).replace(/\.(zip|tar\.gz|tgz)$/i, '');
}

/** `<experiment>-bundle.zip` in `dir`. */
export function defaultBundlePath(expDir: string, dir: string): string {
  return path.join(dir, `${path.basename(path.resolve(expDir))}-bundle.zip`);
}

/** Test hooks: make an export fail, or wait until it is interrupted, after N archive entries. */
function testHook(name: string): number | null {
  const v = process.env[name];
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : null;
}

const interrupted = (): BundleError => new BundleError('the export was interrupted', 'aborted');

async function checkTarget(expDir: string, out: string): Promise<void> {
  const st = await stat(expDir).catch(() => null);
  if (!st?.isDirectory()) throw new BundleError(`${expDir} does not exist or is not a folder`, 'not-found');
  const markers = await Promise.all(
    EXPERIMENT_MARKERS.map((m) => stat(path.join(expDir, m)).catch(() => null)),
  );
  if (!markers.some((m) => m?.isFile()))
    throw new BundleError(
      `${expDir} is not an experiment folder (no ${EXPERIMENT_MARKERS.join(', ')})`,
      'not-found',
    );
  if (out === expDir || out.startsWith(expDir + path.sep))
    throw new BundleError('write the bundle outside the experiment folder', 'bad-request');
}

/** Write `items` into the archive at `partial`, then MANIFEST; returns the number of entries. */
async function pack(
  items: Item[],
  format: BundleFormat,
  partial: string,
  folder: string,
  progress: (p: BundleProgress) => void,
  signal: AbortSignal | undefined,
  onPacker: (p: Packer) => void,
): Promise<number> {
  const total = items.reduce(
    (n, i) => n + (i.kind === 'file' ? i.size : i.kind === 'buffer' ? i.data.length : 0),
    0,
  );
  let packed = 0;
  let lastReport = 0;
  progress({ phase: 'pack', done: 0, total });
  const packer = new Packer(format, partial, folder, (n) => {
    packed += n;
    const now = Date.now();
    if (now - lastReport >= 100) {
      lastReport = now;
      progress({ phase: 'pack', done: packed, total });
    }
  });
  onPacker(packer);
  packer.watch(signal);
  const failAfter = testHook('EXPDESK_TEST_FAIL_EXPORT_AFTER');
  const stallAfter = testHook('EXPDESK_TEST_STALL_EXPORT_AFTER');
  for (const item of items) {
    await packer.add(item);
    if (failAfter !== null && packer.entries >= failAfter)
      throw new BundleError(`injected failure after ${failAfter} entries (EXPDESK_TEST_FAIL_EXPORT_AFTER)`);
    if (stallAfter !== null && packer.entries >= stallAfter) await packer.stall();
  }
  progress({ phase: 'pack', done: packed, total });
  progress({ phase: 'finish', done: 0, total: 1 });
  await packer.finish();
  return packer.manifest.length + 1;
}

/** What the folder recorded: lstat'ed (scan), planned, and only what the plan packs is read. */
async function recordedStage(expDir: string, opts: ExportOptions, checkAbort: () => void) {
  const scan = await scanExperiment(expDir, {
    withLogs: opts.withLogs,
    withCheckpoint: opts.withCheckpoint,
    checkAbort,
  });
  const plan = planRecorded(scan, opts.leftOut);
  const none = { value: null, problems: [] };
  const [metaRead, configRead, statusRead] = await Promise.all([
    plan.readable.has(LAYOUT.metadata) ? readJsonObject(expDir, LAYOUT.metadata) : none,
    plan.readable.has(LAYOUT.config) ? readConfig(expDir) : none,
    plan.readable.has(LAYOUT.status) ? readJsonObject(expDir, LAYOUT.status) : none,
  ]);
  const metadata = metaRead.value;
  /** Warnings README.md does not already explain under "What this bundle lacks". */
  const notes = [
    ...[...metaRead.problems, ...configRead.problems].map(
      (p) => `${p.file}${p.line ? `:${p.line}` : ''}: ${p.message} (packed as it is)`,
    ),
    ...plan.notes,
  ];
  if (statusRead.value?.state === 'running')
    notes.push('the run is still running: its metrics and logs in the bundle are a snapshot');
  const patch = patchOf(
    metadata,
    plan.recorded.find((i) => i.rel === 'uncommitted.patch'),
  );
  const commandTemplate = commandTemplateOf(metadata);
  const seed = seedOf(metadata, configRead.value);
  return {
    plan,
    metadata,
    name: stringOf(metadata?.name) ?? path.basename(expDir),
    patch,
    commandTemplate,
    seed,
    notes,
    warnings: [...notes, ...factWarnings(patch, commandTemplate, seed)],
  };
}

export async function exportBundle(opts: ExportOptions): Promise<ExportResult> {
  const expDir = path.resolve(opts.expDir);
  const out = path.resolve(opts.out);
  const format = bundleFormatOf(out);
  const folder = bundleFolderOf(out);
  if (!folder) throw new BundleError(`${out}: the bundle needs a name before its extension`, 'bad-request');
  await checkTarget(expDir, out);
  const outDir = path.dirname(out);
  await mkdir(outDir, { recursive: true });
  const progress = opts.onProgress ?? ((): void => undefined);
  const signal = opts.signal;
  const checkAbort = (): void => {
    if (signal?.aborted) throw interrupted();
  };
  const limit = opts.sourceFileLimitBytes ?? DEFAULT_SOURCE_FILE_LIMIT_BYTES;

  // 1. What the folder recorded: lstat'ed, then planned; only files the plan packs are read.
  progress({ phase: 'scan', done: 0, total: 1 });
  const { plan, metadata, name, patch, commandTemplate, seed, notes, warnings } = await recordedStage(
    expDir,
    opts,
    checkAbort,
  );
  progress({ phase: 'scan', done: 1, total: 1 });
  checkAbort();

  const rand = randomBytes(6).toString('hex');
  const partial = `${out}.partial-${rand}`;
  const sourceTmp = `${out}.partial-${rand}.source`;
  let packer: Packer | null = null;
  try {
    // 2. The source tree at git_hash.
    const source = await sourceStage(metadata, opts, expDir, sourceTmp, limit, progress);
    if (source.location) {
      for (const o of source.omitted)
        warnings.push(
          `source/${o.path} (${humanBytes(o.bytes)}) is not in the bundle: ${o.reason}; reproduce.sh asks for it`,
        );
      if (source.submodules.length)
        warnings.push(
          `git submodules are not included (other repositories): ${source.submodules.join(', ')}`,
        );
    } else warnings.unshift(`the bundle has no source tree: ${source.missing}`);
    checkAbort();

    // 3. The generated files, then 4. pack.
    if (!plan.hasConfig) warnings.push('the folder has no config.yaml: reproduce.sh cannot run it');
    const docs = bundleDocuments({
      name,
      folder,
      metadata,
      seed,
      commandTemplate,
      patch,
      source,
      plan,
      withLogs: Boolean(opts.withLogs),
      limit,
      warnings,
      notes,
    });
    const items = [...docs, ...plan.recorded, ...source.items];
    const files = await pack(items, format, partial, folder, progress, signal, (p) => (packer = p));
    checkAbort();
    await rename(partial, out);
    await fsyncDir(outDir);
    const size = (await stat(out)).size;
    progress({ phase: 'finish', done: 1, total: 1 });
    progress({ phase: 'done', done: size, total: size });
    return {
      path: out,
      format,
      folder,
      sourceIncluded: source.location !== null,
      sourceMissing: source.missing,
      omitted: source.omitted,
      leftOut: plan.leftOut,
      warnings,
      files,
      bytes: size,
    };
  } catch (err) {
    if (packer) await (packer as Packer).abort().catch(() => undefined);
    await rm(partial, { force: true }).catch(() => undefined);
    if (err instanceof BundleError) throw err;
    if (err instanceof PackError) throw err.aborted ? interrupted() : new BundleError(err.message);
    if (signal?.aborted) throw interrupted();
    throw new BundleError(`export failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await rm(sourceTmp, { recursive: true, force: true }).catch(() => undefined);
  }
}
