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
import { readConfig, readFailed, readJsonObject, type FailedInfo, type JsonObject } from '../workspace/files';
import { LAYOUT } from '../workspace/layout';
import { deriveStatus, parseStatusFile, type StatusFile } from '../workspace/status';

/** Bump when the cache entry's shape or the summary's semantics change. */
const CACHE_VERSION = 2;

type FileSig = { size: number; mtimeMs: number; ino: number } | null;

const SMALL_FILES = {
  config: LAYOUT.config,
  metadata: LAYOUT.metadata,
  failed: LAYOUT.failed,
  status: LAYOUT.status,
  final: path.join(LAYOUT.checkpoints, 'final'),
} as const;
type SmallKey = keyof typeof SMALL_FILES;
/** Logs whose mtime tells whether a seed-written run is still writing. */
const ACTIVITY_FILES = [
  LAYOUT.metrics,
  path.join(LAYOUT.logs, 'train.log'),
  path.join(LAYOUT.logs, 'train_rank0.log'),
];

interface Derived {
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

interface CacheEntry {
  version: number;
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

function sameSig(a: FileSig, b: FileSig): boolean {
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
    const status = statusRaw.value ? parseStatusFile(statusRaw.value) : { value: null, problems: [] };
    const c = config.value;
    const m = metadata.value;
    const dirty = getPath(m, 'git_dirty');
    return {
      name: str(getPath(c, 'experiment', 'name')) ?? str(getPath(m, 'name')) ?? path.basename(dir),
      algorithm: str(getPath(c, 'algorithm', 'name')),
      model: str(getPath(c, 'model', 'name')),
      startedAt: str(getPath(m, 'started_at')),
      gitHash: str(getPath(m, 'git_hash')),
      gitDirty: typeof dirty === 'boolean' ? dirty : null,
      failed: failed.value,
      statusFile: status.value,
      hasFinalCheckpoint: sigs.final !== null,
      problems: [
        ...config.problems,
        ...metadata.problems,
        ...failed.problems,
        ...statusRaw.problems,
        ...status.problems,
      ],
    };
  }

  private async build(entry: CacheEntry): Promise<ExperimentSummary> {
    const { derived: d, tail, dir } = entry;
    const fold = new MetricsFold(entry.fold);
    const activity = await Promise.all(ACTIVITY_FILES.map((f) => sigOf(path.join(dir, f))));
    const lastWriteMs = activity.reduce<number | null>(
      (acc, s) => (s && (acc === null || s.mtimeMs > acc) ? s.mtimeMs : acc),
      null,
    );
    const status = deriveStatus({
      failed: d.failed,
      statusFile: d.statusFile,
      hasFinalCheckpoint: d.hasFinalCheckpoint,
      lastWriteMs,
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
      path: dir,
      folder: path.basename(dir),
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
}
