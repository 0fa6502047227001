/**
 * Per-experiment summaries, cached in memory and on disk under the user's
 * cache folder (never inside the experiment: analysis is read-only), keyed by
 * the folder's path and validated by each input file's (inode, size, mtime).
 * When only metrics.jsonl changed and it grew, the cached reader state
 * resumes at its byte offset, so a live run costs O(appended) per refresh.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MetricsFold, type MetricsFoldState } from '../../../shared/metrics-summary';
import type { ExperimentSummary, JsonValue, Problem } from '../../../shared/model';
import { userCacheDir } from '../app/paths';
import { MetricsTail, type MetricsTailState } from '../metrics/metrics-tail';
import {
  readConfig,
  readFailed,
  readJsonObject,
  type FailedInfo,
  type JsonObject,
  type Parsed,
} from '../workspace/files';
import { LAYOUT } from '../workspace/layout';
import { deriveStatus, parseStatusFile, type StatusFile } from '../workspace/status';

/** Bump when the cache entry's shape or the summary's semantics change. */
export const CACHE_VERSION = 2;

export type FileSig = { size: number; mtimeMs: number; ino: number } | null;

const SMALL_FILES = {
  config: LAYOUT.config,
  metadata: LAYOUT.metadata,
  failed: LAYOUT.failed,
  status: LAYOUT.status,
  final: path.join(LAYOUT.checkpoints, 'final'),
} as const;
export type SmallKey = keyof typeof SMALL_FILES;
export const SMALL_KEYS = Object.keys(SMALL_FILES) as SmallKey[];
/** Logs whose mtime tells whether a seed-written run is still writing. */
const ACTIVITY_FILES = [
  LAYOUT.metrics,
  path.join(LAYOUT.logs, 'train.log'),
  path.join(LAYOUT.logs, 'train_rank0.log'),
];

/** What a summary needs from the small files; cached until one of them changes. */
export interface Derived {
  name: string;
  algorithm: string | null;
  model: string | null;
  startedAt: string | null;
  gitHash: string | null;
  gitDirty: boolean | null;
  failed: FailedInfo | null;
  statusFile: StatusFile | null;
  hasFinalCheckpoint: boolean;
  problems: Problem[];
}

export interface CacheEntry {
  version: number;
  /** The folder's path, or a remote location (`ssh://…`): the cache key. */
  dir: string;
  sigs: Record<SmallKey, FileSig>;
  metricsSig: FileSig;
  derived: Derived;
  tail: MetricsTailState;
  fold: MetricsFoldState;
}

async function sigOf(file: string): Promise<FileSig> {
  try {
    const st = await stat(file);
    return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  } catch {
    return null;
  }
}

export function sameSig(a: FileSig, b: FileSig): boolean {
  if (a === null || b === null) return a === b;
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

function getPath(obj: JsonObject | null, ...keys: string[]): JsonValue | undefined {
  let cur: JsonValue | undefined = obj ?? undefined;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function str(v: JsonValue | undefined): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

export interface SummaryStoreOptions {
  /** Cache folder; defaults to userCacheDir(). `false` disables the disk cache. */
  cacheDir?: string | false;
}

export class SummaryStore {
  private readonly memory = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<ExperimentSummary>>();
  private readonly cacheDir: string | null;
  private readonly aux = new Map<string, unknown>();

  constructor(options: SummaryStoreOptions = {}) {
    this.cacheDir =
      options.cacheDir === false
        ? null
        : path.join(options.cacheDir ?? userCacheDir(), `summaries-v${CACHE_VERSION}`);
  }

  /** The summary of one experiment folder; concurrent calls for one folder share the work. */
  summarize(dir: string): Promise<ExperimentSummary> {
    const key = path.resolve(dir);
    const running = this.inflight.get(key);
    if (running) return running;
    const p = this.refresh(key).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private cacheFile(dir: string): string | null {
    if (!this.cacheDir) return null;
    const hash = createHash('sha256').update(dir).digest('hex').slice(0, 40);
    return path.join(this.cacheDir, `${hash}.json`);
  }

  private async loadEntry(dir: string): Promise<CacheEntry | null> {
    const mem = this.memory.get(dir);
    if (mem) return mem;
    const file = this.cacheFile(dir);
    if (!file) return null;
    try {
      const entry = JSON.parse(await readFile(file, 'utf8')) as CacheEntry;
      return entry.version === CACHE_VERSION && entry.dir === dir ? entry : null;
    } catch {
      return null; // no cache yet, or a damaged one: rebuild
    }
  }

  private async saveEntry(entry: CacheEntry): Promise<void> {
    this.memory.set(entry.dir, entry);
    const file = this.cacheFile(entry.dir);
    if (!file) return;
    try {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      await writeFile(tmp, JSON.stringify(entry));
      await rename(tmp, file);
    } catch {
      // The disk cache is an optimisation: a read-only or full cache folder only costs speed.
    }
  }

  private async refresh(dir: string): Promise<ExperimentSummary> {
    const sigEntries = await Promise.all(
      (Object.keys(SMALL_FILES) as SmallKey[]).map(
        async (k) => [k, await sigOf(path.join(dir, SMALL_FILES[k]))] as const,
      ),
    );
    const sigs = Object.fromEntries(sigEntries) as Record<SmallKey, FileSig>;
    const metricsFile = path.join(dir, LAYOUT.metrics);
    const metricsSig = await sigOf(metricsFile);
    const cached = await this.loadEntry(dir);

    let entry: CacheEntry;
    let changed = false;
    if (cached && (Object.keys(sigs) as SmallKey[]).every((k) => sameSig(sigs[k], cached.sigs[k]))) {
      entry = cached;
    } else {
      entry = {
        version: CACHE_VERSION,
        dir,
        sigs,
        metricsSig: cached?.metricsSig ?? null,
        derived: await this.readDerived(dir, sigs),
        tail: cached?.tail ?? new MetricsTail(metricsFile).state,
        fold: cached?.fold ?? new MetricsFold().state,
      };
      changed = true;
    }

    if (!sameSig(metricsSig, entry.metricsSig)) {
      changed = true;
      if (metricsSig === null) {
        entry.tail = new MetricsTail(metricsFile).state;
        entry.fold = new MetricsFold().state;
      } else {
        // A different inode means the file was replaced: start over.
        const sameFile = entry.metricsSig !== null && entry.metricsSig.ino === metricsSig.ino;
        const tail = new MetricsTail(metricsFile, sameFile ? entry.tail : undefined);
        let fold = new MetricsFold(sameFile ? entry.fold : undefined);
        try {
          await tail.readAppended(
            (rec) => fold.add(rec),
            () => (fold = new MetricsFold()),
          );
        } catch (err) {
          entry.derived = {
            ...entry.derived,
            problems: [
              ...entry.derived.problems,
              { file: LAYOUT.metrics, message: `cannot read: ${(err as Error).message}` },
            ],
          };
        }
        entry.tail = tail.state;
        entry.fold = fold.state;
      }
      entry.metricsSig = metricsSig;
    }
    if (changed) await this.saveEntry(entry);
    else this.memory.set(dir, entry);
    return this.build(entry);
  }

  private async readDerived(dir: string, sigs: Record<SmallKey, FileSig>): Promise<Derived> {
    const [config, metadata, failed, statusRaw] = await Promise.all([
      readConfig(dir),
      readJsonObject(dir, LAYOUT.metadata),
      readFailed(dir),
      readJsonObject(dir, LAYOUT.status),
    ]);
    return deriveFields(path.basename(dir), { config, metadata, failed, statusRaw }, sigs.final !== null);
  }

  private async build(entry: CacheEntry): Promise<ExperimentSummary> {
    const activity = await Promise.all(ACTIVITY_FILES.map((f) => sigOf(path.join(entry.dir, f))));
    const lastWriteMs = activity.reduce<number | null>(
      (acc, s) => (s && (acc === null || s.mtimeMs > acc) ? s.mtimeMs : acc),
      null,
    );
    return buildSummary(entry, { lastWriteMs, path: entry.dir, folder: path.basename(entry.dir) });
  }

  /** A cache entry by key (remote workspaces keep theirs under `ssh://…` keys). */
  async getEntry(key: string): Promise<CacheEntry | null> {
    return this.loadEntry(key);
  }

  async putEntry(entry: CacheEntry): Promise<void> {
    await this.saveEntry(entry);
  }

  /** A small JSON document beside the summaries (remote workspaces: the last listing's folders). */
  async readAux<T>(name: string): Promise<T | null> {
    const file = this.cacheFile(`aux:${name}`);
    if (!file) return (this.aux.get(name) as T | undefined) ?? null;
    try {
      return JSON.parse(await readFile(file, 'utf8')) as T;
    } catch {
      return (this.aux.get(name) as T | undefined) ?? null;
    }
  }

  async writeAux(name: string, value: unknown): Promise<void> {
    this.aux.set(name, value);
    const file = this.cacheFile(`aux:${name}`);
    if (!file) return;
    try {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      await writeFile(tmp, JSON.stringify(value));
      await rename(tmp, file);
    } catch {
      // an optimisation only
    }
  }
}

/** The fields a summary takes from the small files (pure: local and remote folders share it). */
export function deriveFields(
  folder: string,
  files: {
    config: Parsed<JsonObject>;
    metadata: Parsed<JsonObject>;
    failed: Parsed<FailedInfo>;
    statusRaw: Parsed<JsonObject>;
  },
  hasFinalCheckpoint: boolean,
): Derived {
  const { config, metadata, failed, statusRaw } = files;
  const status = statusRaw.value ? parseStatusFile(statusRaw.value) : { value: null, problems: [] };
  const c = config.value;
  const m = metadata.value;
  const dirty = getPath(m, 'git_dirty');
  return {
    name: str(getPath(c, 'experiment', 'name')) ?? str(getPath(m, 'name')) ?? folder,
    algorithm: str(getPath(c, 'algorithm', 'name')),
    model: str(getPath(c, 'model', 'name')),
    startedAt: str(getPath(m, 'started_at')),
    gitHash: str(getPath(m, 'git_hash')),
    gitDirty: typeof dirty === 'boolean' ? dirty : null,
    failed: failed.value,
    statusFile: status.value,
    hasFinalCheckpoint,
    problems: [
      ...config.problems,
      ...metadata.problems,
      ...failed.problems,
      ...statusRaw.problems,
      ...status.problems,
    ],
  };
}

/** A summary from a cache entry (pure: the caller says where the folder is and when it was last written). */
export function buildSummary(
  entry: CacheEntry,
  where: { path: string; folder: string; lastWriteMs: number | null; now?: number; processGone?: boolean },
): ExperimentSummary {
  const { derived: d, tail } = entry;
  const fold = new MetricsFold(entry.fold);
  const status = deriveStatus({
    failed: d.failed,
    statusFile: d.statusFile,
    hasFinalCheckpoint: d.hasFinalCheckpoint,
    lastWriteMs: where.lastWriteMs,
    now: where.now,
    processGone: where.processGone,
  });
  const malformed: Problem[] = tail.malformed.map((m) => ({
    file: LAYOUT.metrics,
    line: m.line,
    message: `malformed line skipped: ${m.message}`,
  }));
  if (tail.malformedCount > tail.malformed.length) {
    malformed.push({
      file: LAYOUT.metrics,
      message: `${tail.malformedCount - tail.malformed.length} more malformed lines skipped`,
    });
  }
  const f = fold.state;
  return {
    path: where.path,
    folder: where.folder,
    name: d.name,
    algorithm: d.algorithm,
    model: d.model,
    total_steps: f.lastTrainStep,
    final_loss: f.lastTrainLoss,
    final_eval: f.lastEval,
    status,
    startedAt: d.startedAt ?? status.startedAt ?? null,
    gitHash: d.gitHash,
    gitDirty: d.gitDirty,
    metrics: fold.metricStats(),
    records: f.records,
    malformedLines: tail.malformedCount,
    problems: [...d.problems, ...malformed],
  };
}
