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
 * Atomic: the archive is written to `<out>.partial-<random>` beside the
 * target, fsynced and renamed; on failure or abort (SIGINT in the CLI) the
 * partial file is deleted. Nothing at the target path is ever incomplete.
 */
import type { Archiver, ArchiverOptions } from 'archiver';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Transform } from 'node:stream';
import { getPath } from '../../../shared/config/tree';
import { expdeskVersion } from '../app/paths';
import { pythonIsoNow } from '../runs/prepare';
import { listCheckpoints, readConfig, readJsonObject, type JsonObject } from '../workspace/files';
import { EXPERIMENT_MARKERS, LAYOUT } from '../workspace/layout';
import { MANIFEST_NAME, manifestText, type ManifestEntry } from './manifest';
import { bundleReadme, humanBytes } from './readme';
import { bundleReproduceScript } from './reproduce-bundle';
import {
  extractSourceTree,
  listSourceTree,
  locateSource,
  type OmittedFile,
  type SourceEntry,
  type SourceLocation,
} from './source';
import { ExpdeskError } from '../../../shared/errors';

/**
 * The installed archiver (7) exports a factory function, while @types/archiver
 * (8) declares archiver 8's classes; the instance API used here is the same
 * in both, so the factory is loaded with its own signature.
 */
const createArchive = createRequire(import.meta.url)('archiver') as (
  format: 'zip' | 'tar',
  options?: ArchiverOptions,
) => Archiver;

/** Files in the source tree larger than this are left out and listed (a repository is code, not data). */
export const DEFAULT_SOURCE_FILE_LIMIT_BYTES = 100 * 1024 * 1024;

export type BundleFormat = 'zip' | 'tar.gz';
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

interface FileItem {
  kind: 'file';
  /** Path inside the bundle folder, '/'-separated. */
  rel: string;
  abs: string;
  size: number;
  mode: number;
  stats: Stats;
}
interface BufferItem {
  kind: 'buffer';
  rel: string;
  data: Buffer;
  mode: number;
}
interface SymlinkItem {
  kind: 'symlink';
  rel: string;
  target: string;
}
type Item = FileItem | BufferItem | SymlinkItem;

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

async function fileItem(abs: string, rel: string): Promise<FileItem | null> {
  // stat, not lstat: a checkpoint folder linked to step_N is packed as its content.
  const st = await stat(abs).catch(() => null);
  if (!st?.isFile()) return null;
  return { kind: 'file', rel, abs, size: st.size, mode: st.mode & 0o777, stats: st };
}

/** Every regular file under `dir` (following links), skipping what cannot be read as a file. */
async function walkFiles(dir: string, relBase: string, out: FileItem[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const abs = path.join(dir, e.name);
    const rel = `${relBase}/${e.name}`;
    const st = await stat(abs).catch(() => null);
    if (st?.isDirectory()) await walkFiles(abs, rel, out);
    else if (st?.isFile()) {
      const item = await fileItem(abs, rel);
      if (item) out.push(item);
    }
  }
}

function stringOf(v: unknown): string | null {
  return typeof v === 'string' && v ? v : null;
}

function seedOf(metadata: JsonObject | null, config: JsonObject | null): number | null {
  if (typeof metadata?.seed === 'number' && Number.isInteger(metadata.seed)) return metadata.seed;
  if (config) {
    for (const k of SEED_KEYS) {
      const v = getPath(config, k);
      if (typeof v === 'number' && Number.isInteger(v)) return v;
    }
  }
  return null;
}

function commandTemplateOf(metadata: JsonObject | null): string[] | null {
  const t = metadata?.command_template;
  return Array.isArray(t) && t.length > 0 && t.every((w) => typeof w === 'string') ? (t as string[]) : null;
}

/** The command's folder relative to the repository root, as recorded ('.' when unknown). */
function relativeCwdOf(metadata: JsonObject | null): string {
  const cwd = stringOf(metadata?.cwd);
  const root = stringOf(metadata?.git_root);
  if (!cwd || !root) return '.';
  const rel = path.posix.relative(toPosix(root), toPosix(cwd));
  return rel && !rel.startsWith('..') && !path.posix.isAbsolute(rel) ? rel : '.';
}

function environmentOf(metadata: JsonObject | null): Record<string, string> {
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

/** Test hooks: make an export fail, or wait until it is interrupted, after N archive entries. */
function testHook(name: string): number | null {
  const v = process.env[name];
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/**
 * Writes entries one at a time into archiver (so a huge tree never opens
 * thousands of files at once), hashing each as it streams through, and
 * reports bytes as they pass.
 */
class Packer {
  readonly manifest: ManifestEntry[] = [];
  private readonly archive: Archiver;
  private readonly failure: Promise<never>;
  private fail!: (err: Error) => void;
  private readonly closed: Promise<void>;
  entries = 0;

  constructor(
    format: BundleFormat,
    private readonly partial: string,
    private readonly folder: string,
    private readonly onBytes: (n: number) => void,
  ) {
    this.failure = new Promise<never>((_resolve, reject) => {
      this.fail = reject;
    });
    // Always observed: a failure before anyone awaits must not be an unhandled rejection.
    this.failure.catch(() => undefined);
    this.archive =
      format === 'zip'
        ? createArchive('zip', { zlib: { level: 6 } })
        : createArchive('tar', { gzip: true, gzipOptions: { level: 6 } });
    // 'wx': the partial name is random; an existing file there is not ours to overwrite.
    const out = createWriteStream(partial, { flags: 'wx', mode: 0o644 });
    this.closed = new Promise<void>((resolve) => out.on('close', () => resolve()));
    out.on('error', (err) => this.fail(err));
    this.archive.on('error', (err) => this.fail(err));
    this.archive.on('warning', (err) => this.fail(err));
    this.archive.pipe(out);
  }

  /** Rejects when the archive or its file fails, or when `signal` aborts. */
  watch(signal?: AbortSignal): void {
    if (!signal) return;
    const onAbort = (): void => this.fail(new BundleError('the export was interrupted', 'aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }

  /** Resolves when the failure promise would reject: for waiting on one entry at a time. */
  private race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.failure]);
  }

  private nextEntry(): Promise<void> {
    return new Promise<void>((resolve) => this.archive.once('entry', () => resolve()));
  }

  async add(item: Item): Promise<void> {
    const name = `${this.folder}/${item.rel}`;
    const done = this.nextEntry();
    if (item.kind === 'symlink') {
      this.archive.symlink(name, item.target, 0o777);
      await this.race(done);
      this.manifest.push({
        path: item.rel,
        sha256: createHash('sha256').update(item.target).digest('hex'),
      });
    } else if (item.kind === 'buffer' || item.size === 0) {
      const data = item.kind === 'buffer' ? item.data : Buffer.alloc(0);
      this.archive.append(data, {
        name,
        mode: item.mode,
        date: item.kind === 'file' ? item.stats.mtime : new Date(),
      });
      await this.race(done);
      this.manifest.push({ path: item.rel, sha256: createHash('sha256').update(data).digest('hex') });
      this.onBytes(data.length);
    } else {
      const hash = createHash('sha256');
      const onBytes = this.onBytes;
      const tap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          onBytes(chunk.length);
          cb(null, chunk);
        },
      });
      // Exactly the size recorded in the header (tar needs it first): a file
      // that grows meanwhile (a live log) is cut there, one that shrinks fails.
      const src = createReadStream(item.abs, { start: 0, end: item.size - 1 });
      const streamFailed = new Promise<never>((_resolve, reject) => {
        src.on('error', (err) => reject(new BundleError(`cannot read ${item.abs}: ${err.message}`)));
        tap.on('error', reject);
      });
      streamFailed.catch(() => undefined);
      src.pipe(tap);
      this.archive.append(tap, { name, mode: item.mode, stats: item.stats, date: item.stats.mtime });
      await Promise.race([this.race(done), streamFailed]);
      this.manifest.push({ path: item.rel, sha256: hash.digest('hex') });
    }
    this.entries++;
  }

  async finish(): Promise<void> {
    const text = manifestText(this.manifest);
    this.archive.append(Buffer.from(text), {
      name: `${this.folder}/${MANIFEST_NAME}`,
      mode: 0o644,
      date: new Date(),
    });
    await this.race(this.archive.finalize());
    await this.race(this.closed);
    // Durable before it gets its final name: a crash after the rename must not leave a torn bundle.
    const fh = await open(this.partial, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Wait until the export fails or is aborted (the interrupt test's hook). */
  async stall(): Promise<never> {
    // A pending promise alone does not keep Node running: hold the loop open.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      return await this.failure;
    } finally {
      clearInterval(keepAlive);
    }
  }

  async abort(): Promise<void> {
    this.archive.abort();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2000))]);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some filesystems refuse to fsync a folder; the rename itself is still atomic.
  }
}

export async function exportBundle(opts: ExportOptions): Promise<ExportResult> {
  const expDir = path.resolve(opts.expDir);
  const out = path.resolve(opts.out);
  const format = bundleFormatOf(out);
  const folder = bundleFolderOf(out);
  if (!folder) throw new BundleError(`${out}: the bundle needs a name before its extension`, 'bad-request');
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
  const outDir = path.dirname(out);
  await mkdir(outDir, { recursive: true });

  const progress = opts.onProgress ?? ((): void => undefined);
  const signal = opts.signal;
  const checkAbort = (): void => {
    if (signal?.aborted) throw new BundleError('the export was interrupted', 'aborted');
  };
  const limit = opts.sourceFileLimitBytes ?? DEFAULT_SOURCE_FILE_LIMIT_BYTES;
  const warnings: string[] = [];
  /** Warnings README.md does not already explain under "What this bundle lacks". */
  const notes: string[] = [];
  const note = (w: string): void => {
    warnings.push(w);
    notes.push(w);
  };

  // 1. What the folder recorded.
  progress({ phase: 'scan', done: 0, total: 1 });
  const [metaRead, configRead] = await Promise.all([
    readJsonObject(expDir, LAYOUT.metadata),
    readConfig(expDir),
  ]);
  const metadata = metaRead.value;
  const config = configRead.value;
  for (const p of [...metaRead.problems, ...configRead.problems])
    note(`${p.file}${p.line ? `:${p.line}` : ''}: ${p.message} (packed as it is)`);
  const name = stringOf(metadata?.name) ?? path.basename(expDir);

  const recorded: FileItem[] = [];
  const absent: Array<{ file: string; meaning: string }> = [];
  const top: Array<[string, string, string | null]> = [
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
  for (const [file, rel, meaning] of top) {
    const item = await fileItem(path.join(expDir, file), rel);
    if (item) recorded.push(item);
    else if (meaning) absent.push({ file, meaning });
  }
  const hasConfig = recorded.some((i) => i.rel === LAYOUT.config);
  const metricsItem = await fileItem(path.join(expDir, LAYOUT.metrics), toPosix(LAYOUT.metrics));
  if (metricsItem) recorded.push(metricsItem);
  else note('the run recorded no logs/metrics.jsonl: there is nothing to verify a reproduction against');
  if (opts.withLogs) {
    const logs: FileItem[] = [];
    await walkFiles(path.join(expDir, LAYOUT.logs), LAYOUT.logs, logs);
    recorded.push(...logs.filter((l) => l.rel !== metricsItem?.rel));
  }
  let checkpoint: string | null = null;
  if (opts.withCheckpoint) {
    const cps = await listCheckpoints(expDir);
    const final = cps.find((c) => c.final) ?? [...cps].reverse().find((c) => c.step !== null) ?? null;
    if (!final) note('--with-checkpoint: the run has no checkpoint (checkpoints/ is empty or absent)');
    else {
      checkpoint = `${LAYOUT.checkpoints}/${final.name}`;
      if (!final.final) note(`the run has no checkpoints/final: packed its last checkpoint, ${checkpoint}`);
      const files: FileItem[] = [];
      await walkFiles(final.path, checkpoint, files);
      recorded.push(...files);
    }
  }
  const statusText = await readJsonObject(expDir, LAYOUT.status);
  if (statusText.value?.state === 'running')
    note('the run is still running: its metrics and logs in the bundle are a snapshot');

  const patchItem = recorded.find((i) => i.rel === 'uncommitted.patch');
  const patchMeta = metadata?.uncommitted_patch;
  const patchInfo =
    patchMeta && typeof patchMeta === 'object' && !Array.isArray(patchMeta)
      ? (patchMeta as JsonObject)
      : null;
  const patchOmitted = Array.isArray(patchInfo?.omitted)
    ? patchInfo.omitted.flatMap((o) =>
        o && typeof o === 'object' && !Array.isArray(o) && typeof o.path === 'string' ? [o.path] : [],
      )
    : [];
  const patch = {
    present: Boolean(patchItem && patchItem.size > 0),
    bytes: patchItem?.size ?? 0,
    complete: patchInfo?.complete !== false,
    omitted: patchOmitted,
    error: stringOf(patchInfo?.error),
  };
  if (!patch.complete)
    warnings.push(
      patch.error
        ? `the uncommitted changes at launch could not be recorded in full (${patch.error.split('\n')[0]}): the reproduction may differ`
        : `uncommitted.patch was recorded only in part at launch (${patchOmitted.length} file(s) over its size limit): the reproduction may differ`,
    );
  const commandTemplate = commandTemplateOf(metadata);
  if (!commandTemplate)
    warnings.push(
      'the run recorded no command template (not launched by Expdesk): reproduce.sh needs the command after -- (the README says how)',
    );
  const seed = seedOf(metadata, config);
  if (seed === null) warnings.push('the run recorded no seed');
  progress({ phase: 'scan', done: 1, total: 1 });
  checkAbort();

  // 2. The source tree at git_hash.
  const rand = randomBytes(6).toString('hex');
  const partial = `${out}.partial-${rand}`;
  const sourceTmp = `${out}.partial-${rand}.source`;
  let location: SourceLocation | null = null;
  let sourceMissing: string | null = null;
  const omitted: OmittedFile[] = [];
  const sourceItems: Item[] = [];
  let submodules: string[] = [];
  let sourceBytes = 0;
  const lookup = await locateSource({
    gitHash: metadata?.git_hash,
    gitRoot: metadata?.git_root,
    cwd: metadata?.cwd,
    gitRemote: metadata?.git_remote,
    expDir,
    repository: opts.repository,
  });
  let packer: Packer | null = null;
  try {
    if (lookup.found) {
      location = lookup.location;
      const tree = await listSourceTree(location);
      submodules = tree.submodules;
      const skip = new Set<string>();
      for (const f of tree.files) {
        if (limit > 0 && f.bytes > limit) {
          skip.add(f.path);
          omitted.push({
            path: f.path,
            bytes: f.bytes,
            reason: `over the ${humanBytes(limit)} limit for source files`,
          });
        }
      }
      const total = tree.files.reduce((n, f) => n + (skip.has(f.path) ? 0 : f.bytes), 0);
      let done = 0;
      progress({ phase: 'source', done, total });
      await mkdir(sourceTmp, { recursive: true });
      await extractSourceTree(location, sourceTmp, skip, signal, (bytes) => {
        done += bytes;
        progress({ phase: 'source', done, total });
      });
      for (const f of tree.files) {
        if (skip.has(f.path)) continue;
        const abs = path.join(sourceTmp, ...f.path.split('/'));
        const rel = `source/${f.path}`;
        const item = await sourceItem(f, abs, rel);
        if (item) {
          sourceItems.push(item);
          sourceBytes += f.bytes;
        } else
          omitted.push({
            path: f.path,
            bytes: f.bytes,
            reason: 'left out by git archive (export-ignore in .gitattributes)',
          });
      }
      for (const o of omitted)
        warnings.push(
          `source/${o.path} (${humanBytes(o.bytes)}) is not in the bundle: ${o.reason}; reproduce.sh asks for it`,
        );
      if (submodules.length)
        warnings.push(`git submodules are not included (other repositories): ${submodules.join(', ')}`);
    } else {
      sourceMissing = lookup.reason;
      warnings.unshift(`the bundle has no source tree: ${lookup.reason}`);
    }
    checkAbort();

    // 3. The generated files.
    const createdAt = pythonIsoNow();
    const version = expdeskVersion();
    const relativeCwd = relativeCwdOf(metadata);
    const pyVersion = /^(\d+\.\d+(?:\.\d+)?)/.exec(stringOf(metadata?.python_version) ?? '')?.[1] ?? null;
    const script = bundleReproduceScript({
      name,
      gitHash: stringOf(metadata?.git_hash) ?? 'unknown',
      seed,
      relativeCwd,
      hasSource: location !== null,
      sourceMissingReason: sourceMissing,
      sourceOmitted: omitted.map((o) => o.path),
      hasPatch: patch.present,
      patchComplete: patch.complete,
      patchOmitted,
      pythonVersion: pyVersion,
      commandTemplate,
      recordedCommand: stringOf(metadata?.command),
      environment: environmentOf(metadata),
      generatedAt: createdAt,
      expdeskVersion: version,
    });
    if (!hasConfig) warnings.push('the folder has no config.yaml: reproduce.sh cannot run it');
    const readme = bundleReadme({
      name,
      bundleFolder: folder,
      createdAt,
      expdeskVersion: version,
      metadata,
      seed,
      commandTemplate,
      relativeCwd,
      source: location
        ? { included: true, gitHash: location.gitHash, files: sourceItems.length, bytes: sourceBytes }
        : { included: false, reason: sourceMissing ?? 'unknown' },
      sourceOmitted: omitted,
      submodules,
      patch,
      absent,
      included: recorded.map((i) => i.rel),
      hasMetrics: metricsItem !== null,
      checkpoint,
      withLogs: Boolean(opts.withLogs),
      warnings: notes,
    });
    const description = {
      format: 'expdesk.bundle/1',
      experiment: name,
      created_at: createdAt,
      expdesk_version: version,
      git_hash: stringOf(metadata?.git_hash),
      seed,
      command_template: commandTemplate,
      relative_cwd: relativeCwd,
      source: {
        included: location !== null,
        repository: location?.repository ?? null,
        missing_reason: sourceMissing,
        files: sourceItems.length,
        bytes: sourceBytes,
        omitted,
        submodules,
        file_limit_bytes: limit,
      },
      patch,
      included: {
        metrics: metricsItem !== null,
        logs: Boolean(opts.withLogs),
        checkpoint,
      },
      absent,
      warnings,
    };

    const items: Item[] = [
      { kind: 'buffer', rel: 'README.md', data: Buffer.from(readme), mode: 0o644 },
      { kind: 'buffer', rel: 'reproduce.sh', data: Buffer.from(script), mode: 0o755 },
      {
        kind: 'buffer',
        rel: 'bundle.json',
        data: Buffer.from(JSON.stringify(description, null, 2) + '\n'),
        mode: 0o644,
      },
      ...recorded,
      ...sourceItems,
    ];

    // 4. Pack.
    const total = items.reduce(
      (n, i) => n + (i.kind === 'file' ? i.size : i.kind === 'buffer' ? i.data.length : 0),
      0,
    );
    let packed = 0;
    let lastReport = 0;
    progress({ phase: 'pack', done: 0, total });
    const activePacker = new Packer(format, partial, folder, (n) => {
      packed += n;
      const now = Date.now();
      if (now - lastReport >= 100) {
        lastReport = now;
        progress({ phase: 'pack', done: packed, total });
      }
    });
    packer = activePacker;
    activePacker.watch(signal);
    const failAfter = testHook('EXPDESK_TEST_FAIL_EXPORT_AFTER');
    const stallAfter = testHook('EXPDESK_TEST_STALL_EXPORT_AFTER');
    for (const item of items) {
      await activePacker.add(item);
      if (failAfter !== null && activePacker.entries >= failAfter)
        throw new BundleError(`injected failure after ${failAfter} entries (EXPDESK_TEST_FAIL_EXPORT_AFTER)`);
      if (stallAfter !== null && activePacker.entries >= stallAfter) await activePacker.stall();
    }
    progress({ phase: 'pack', done: packed, total });
    progress({ phase: 'finish', done: 0, total: 1 });
    await activePacker.finish();
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
      sourceIncluded: location !== null,
      sourceMissing,
      omitted,
      warnings,
      files: activePacker.manifest.length + 1,
      bytes: size,
    };
  } catch (err) {
    if (packer) await packer.abort().catch(() => undefined);
    await rm(partial, { force: true }).catch(() => undefined);
    if (err instanceof BundleError) throw err;
    if (signal?.aborted) throw new BundleError('the export was interrupted', 'aborted');
    throw new BundleError(`export failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await rm(sourceTmp, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** One file of the extracted source tree as an archive entry (null when git archive left it out). */
async function sourceItem(f: SourceEntry, abs: string, rel: string): Promise<Item | null> {
  const st = await lstat(abs).catch(() => null);
  if (!st) return null;
  if (f.mode === '120000') {
    if (!st.isSymbolicLink()) return null;
    return { kind: 'symlink', rel, target: await readlink(abs) };
  }
  if (!st.isFile()) return null;
  // The mode git recorded, not the extraction's (umask): 755 for executables, 644 else.
  return { kind: 'file', rel, abs, size: st.size, mode: f.mode === '100755' ? 0o755 : 0o644, stats: st };
}
