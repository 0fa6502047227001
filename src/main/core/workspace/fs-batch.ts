/**
 * Stats, small reads and cache writes for listings, made in batches by a
 * worker thread with the synchronous calls.
 *
 * A listing of 5,000 experiments makes ~40,000 stats (every input file of
 * every summary, most of them absent) and, after a restart, 5,000 cache
 * reads. Through the asynchronous API each call is a hand-off to libuv's
 * thread pool and back, ~10 µs of the main thread's time on a 2-core machine;
 * `statSync` in a worker costs ~2.5 µs and leaves the main thread free. The
 * calls made in one turn of the event loop are sent as one batch, so a
 * listing needs no special entry point: concurrent `statSig`/`readText` calls
 * coalesce. A large batch of stats is split among up to one worker per core
 * (at most 4): the main thread only waits meanwhile, and on a 2-core machine
 * two workers halve a warm listing's 45,000 stats (~140 ms to ~75 ms).
 * Writes (the summary cache) have a worker of their own.
 *
 * The main thread never blocks on the file system: when no worker can be
 * started, when it dies, or while a batch has been out for longer than
 * STUCK_MS (a hung network mount), calls go through the asynchronous API.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { WORKER_CODE } from './fs-worker-code';
import { StatGrid, toError, type StatOutcome, type StatSig, type WireError } from './stat-grid';
import { makeDirs, readText as readTextAsync, renameFile, statIfExists, writeText } from './fast-fs';

export { StatGrid, type StatOutcome, type StatRow, type StatSig } from './stat-grid';

/** Calls in one batch before a worker is started for it; fewer go through the asynchronous API. */
const WORKER_MIN_BATCH = 64;

/** A batch out for this long means a stuck file system: later calls bypass the worker. */
const STUCK_MS = 2_000;

type Settle<T> = { resolve(v: T): void; reject(e: unknown): void };
interface GridRequest {
  rows: string[];
  names: readonly string[] | null;
  resolve(grid: StatGrid): void;
}
interface Batch {
  stats: string[];
  statWaiters: Array<Settle<StatSig | null>>;
  grids: GridRequest[];
  reads: Read[];
  readWaiters: Array<Settle<string>>;
  writes: Array<[string, string]>;
  writeWaiters: Array<Settle<void>>;
}
/** A bounded read: the file, its size limit and its name in messages. */
type Read = [file: string, maxBytes: number, label: string];
interface Reply {
  sigs: Float64Array;
  statErrors: Record<number, WireError>;
  texts: Array<string | WireError>;
  written: Array<WireError | null>;
}

function emptyBatch(): Batch {
  return {
    stats: [],
    statWaiters: [],
    grids: [],
    reads: [],
    readWaiters: [],
    writes: [],
    writeWaiters: [],
  };
}

/** A grid's stats are split among the stat workers when each part gets at least this many. */
const SPLIT_MIN = 2_048;

/**
 * What goes to the workers: one message per part, each a grid's rows
 * [from, to), the single stats as a grid of one column. A batch of several
 * grids sends each on its own (a listing sends one at a time).
 */
interface Part {
  /** The batch, and what its answers fill. */
  out: Out;
  /** Which of the batch's grids (its single stats last), from which row, of how many columns. */
  grid: number;
  from: number;
  cols: number;
  /** Whether it carries the batch's single stats, reads and writes. */
  io: boolean;
}

/** A batch out: the workers that still owe a part, and the answers gathered so far. */
interface Out {
  batch: Batch;
  sentAt: number;
  owed: number;
  /** Per grid (the single stats last): its values and errors, filled part by part. */
  values: Float64Array[];
  errors: Array<Map<number, WireError>>;
  texts: Array<string | WireError>;
  written: Array<WireError | null>;
  /** Answered, or redone after a worker was lost: later answers are dropped. */
  done: boolean;
}

class FsBatcher {
  constructor(
    private readonly name: string,
    /** How many workers a large grid of stats is split among. */
    private readonly maxWorkers: number,
  ) {}

  private readonly workers: Worker[] = [];
  /** Parts each worker owes, in the order sent (a worker answers in order). */
  private readonly owed = new Map<Worker, Part[]>();
  /** No worker here (none could start, or they died twice): the asynchronous API only. */
  private disabled = false;
  private failures = 0;
  private pending: Batch | null = null;

  stat(file: string): Promise<StatSig | null> {
    const batch = this.batch();
    if (!batch)
      return statIfExists(file).then((st) => st && { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
    return new Promise((resolve, reject) => {
      batch.stats.push(file);
      batch.statWaiters.push({ resolve, reject });
    });
  }

  /** Stats of rows × names (or of rows as files when names is null), one promise. */
  statGrid(rows: string[], names: readonly string[] | null): Promise<StatGrid> {
    const batch = this.batch();
    if (!batch) return gridAsync(rows, names);
    return new Promise((resolve) => batch.grids.push({ rows, names, resolve }));
  }

  readText(file: string, maxBytes: number, label: string): Promise<string> {
    const batch = this.batch();
    if (!batch) return readTextAsync(file, maxBytes, label);
    return new Promise((resolve, reject) => {
      batch.reads.push([file, maxBytes, label]);
      batch.readWaiters.push({ resolve, reject });
    });
  }

  /** Write through a temporary file and a rename, creating the folder if needed. */
  writeAtomic(file: string, text: string): Promise<void> {
    const batch = this.batch();
    if (!batch) return writeAtomicAsync(file, text);
    return new Promise((resolve, reject) => {
      batch.writes.push([file, text]);
      batch.writeWaiters.push({ resolve, reject });
    });
  }

  /** The batch being filled (sent at the next turn of the event loop), or null to go asynchronous. */
  private batch(): Batch | null {
    if (this.pending) return this.pending;
    if (this.disabled || this.stuck()) return null;
    const batch = emptyBatch();
    this.pending = batch;
    setImmediate(() => this.send(batch));
    return batch;
  }

  private stuck(): boolean {
    const now = Date.now();
    for (const parts of this.owed.values()) {
      if (parts.length && now - parts[0]!.out.sentAt > STUCK_MS) {
        // A stuck worker must not keep the process from exiting either.
        for (const w of this.workers) w.unref();
        return true;
      }
    }
    return false;
  }

  /** Start workers until there are `count`; false when not even one runs. */
  private start(count: number): boolean {
    while (!this.disabled && this.workers.length < count) {
      try {
        const worker = new Worker(WORKER_CODE, { eval: true, name: this.name });
        worker.on('message', (reply: Reply) => this.receive(worker, reply));
        worker.on('error', () => this.lost(worker));
        worker.on('exit', () => this.lost(worker));
        worker.unref();
        this.workers.push(worker);
        this.owed.set(worker, []);
      } catch {
        if (this.workers.length === 0) this.disabled = true;
        break;
      }
    }
    return this.workers.length > 0;
  }

  private send(batch: Batch): void {
    if (this.pending === batch) this.pending = null;
    const stats =
      batch.stats.length + batch.grids.reduce((n, g) => n + g.rows.length * (g.names?.length ?? 1), 0);
    // A small batch goes through the asynchronous API, so that a small listing never pays a
    // worker's ~30 ms start, and a few stats never wait behind a worker's boot or batch.
    const size = stats + batch.reads.length + batch.writes.length;
    const parts = Math.max(1, Math.min(this.maxWorkers, Math.floor(stats / SPLIT_MIN)));
    if (size < WORKER_MIN_BATCH || this.disabled || !this.start(parts)) {
      fallback(batch);
      return;
    }
    if (stats && (batch.reads.length || batch.writes.length)) {
      // The reads answered first, on their own: a listing parses its cache file while its stats go on.
      const { reads, readWaiters, writes, writeWaiters } = batch;
      this.post({ ...emptyBatch(), reads, readWaiters, writes, writeWaiters }, 1);
      this.post({ ...batch, reads: [], readWaiters: [], writes: [], writeWaiters: [] }, parts);
    } else this.post(batch, parts);
  }

  /** Send a batch: each grid's rows split into `parts` (one per worker), the single stats, reads and writes to the first. */
  private post(batch: Batch, parts: number): void {
    const workers = this.workers.slice(0, Math.max(1, Math.min(parts, this.workers.length)));
    const grids = [
      ...batch.grids.map((g) => ({ rows: g.rows, names: g.names })),
      { rows: batch.stats, names: null },
    ];
    const out: Out = {
      batch,
      sentAt: Date.now(),
      owed: 0,
      values: grids.map((g) => new Float64Array(g.rows.length * (g.names?.length ?? 1) * 3)),
      errors: grids.map(() => new Map()),
      texts: [],
      written: [],
      done: false,
    };
    const message = (worker: Worker, grid: number, from: number, to: number, io: boolean): void => {
      const g = grids[grid]!;
      // Keep the process alive while an answer is awaited (a CLI listing), not otherwise.
      worker.ref();
      this.owed.get(worker)!.push({ out, grid, from, cols: g.names?.length ?? 1, io });
      out.owed++;
      worker.postMessage({
        rows: g.rows.slice(from, to).join('\0'),
        names: g.names,
        sep: path.sep,
        reads: io ? batch.reads : [],
        writes: io ? batch.writes : [],
      });
    };
    const io = batch.stats.length + batch.reads.length + batch.writes.length > 0;
    grids.forEach((g, gi) => {
      const last = gi === grids.length - 1;
      // The single stats, reads and writes go in one message to the first worker.
      if (last) {
        if (io) message(workers[0]!, gi, 0, g.rows.length, true);
        return;
      }
      const k = workers.length;
      for (let p = 0; p < k; p++) {
        const from = Math.ceil((g.rows.length * p) / k);
        const to = Math.ceil((g.rows.length * (p + 1)) / k);
        if (to > from) message(workers[p]!, gi, from, to, false);
      }
    });
    // Nothing to ask (grids of no rows): answered at once.
    if (out.owed === 0) {
      out.done = true;
      settle(out);
    }
  }

  private receive(worker: Worker, reply: Reply): void {
    const part = this.owed.get(worker)?.shift();
    if (!part) return;
    if (this.owed.get(worker)!.length === 0) worker.unref();
    const { out } = part;
    if (out.done) return;
    const at = part.from * part.cols;
    out.values[part.grid]!.set(reply.sigs, at * 3);
    for (const [k, e] of Object.entries(reply.statErrors)) out.errors[part.grid]!.set(Number(k) + at, e);
    if (part.io) {
      out.texts = reply.texts;
      out.written = reply.written;
    }
    if (--out.owed > 0) return;
    out.done = true;
    settle(out);
  }

  /** A worker died: the batches it owed a part of are redone asynchronously; a second death disables the workers. */
  private lost(worker: Worker): void {
    const at = this.workers.indexOf(worker);
    if (at < 0) return;
    this.workers.splice(at, 1);
    const parts = this.owed.get(worker) ?? [];
    this.owed.delete(worker);
    if (++this.failures >= 2) this.disabled = true;
    for (const { out } of parts) {
      if (out.done) continue;
      out.done = true;
      fallback(out.batch);
    }
  }
}

/** Answer a batch's waiters from its gathered answers. */
function settle(out: Out): void {
  const { batch } = out;
  const n = out.values.length - 1;
  batch.grids.forEach((g, i) =>
    g.resolve(new StatGrid(g.rows.length, g.names?.length ?? 1, out.values[i]!, out.errors[i]!)),
  );
  const singles = new StatGrid(batch.stats.length, 1, out.values[n]!, out.errors[n]!);
  batch.statWaiters.forEach((w, i) => {
    const r = singles.outcome(i, 0);
    if (r instanceof Error) w.reject(r);
    else w.resolve(r);
  });
  batch.readWaiters.forEach((w, i) => {
    const t = out.texts[i]!;
    if (typeof t === 'string') w.resolve(t);
    else w.reject(toError(t));
  });
  batch.writeWaiters.forEach((w, i) => {
    const e = out.written[i];
    if (e) w.reject(toError(e));
    else w.resolve();
  });
}

async function writeAtomicAsync(file: string, text: string): Promise<void> {
  await makeDirs(path.dirname(file));
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeText(tmp, text);
  await renameFile(tmp, file);
}

/** A stat through the asynchronous API, its error as the outcome. */
function statOutcome(file: string): Promise<StatOutcome> {
  return statIfExists(file).then(
    (st) => st && { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino },
    (e: NodeJS.ErrnoException) => e,
  );
}

/** A grid of stats through the asynchronous API. */
async function gridAsync(rows: string[], names: readonly string[] | null): Promise<StatGrid> {
  const cols = names?.length ?? 1;
  const files: string[] = [];
  for (const r of rows) for (let j = 0; j < cols; j++) files.push(names ? r + path.sep + names[j] : r);
  const outcomes = await Promise.all(files.map(statOutcome));
  const values = new Float64Array(files.length * 3);
  const errors = new Map<number, WireError>();
  outcomes.forEach((o, k) => {
    if (o === null) values[3 * k] = -1;
    else if (o instanceof Error) {
      values[3 * k] = -2;
      errors.set(k, { code: o.code ?? 'EIO', message: o.message });
    } else values.set([o.size, o.mtimeMs, o.ino], 3 * k);
  });
  return new StatGrid(rows.length, cols, values, errors);
}

/** Settle a batch through the asynchronous API. */
function fallback(batch: Batch): void {
  batch.stats.forEach((file, i) => {
    const w = batch.statWaiters[i]!;
    void statOutcome(file).then((o) => (o instanceof Error ? w.reject(o) : w.resolve(o)));
  });
  for (const g of batch.grids) void gridAsync(g.rows, g.names).then(g.resolve);
  batch.reads.forEach(([file, maxBytes, label], i) => {
    const w = batch.readWaiters[i]!;
    readTextAsync(file, maxBytes, label).then(w.resolve, w.reject);
  });
  batch.writes.forEach(([file, text], i) => {
    const w = batch.writeWaiters[i]!;
    writeAtomicAsync(file, text).then(w.resolve, w.reject);
  });
}

/** Stats and reads: what a listing waits for. */
const reader = new FsBatcher('expdesk-fs-read', Math.min(4, availableParallelism()));
/** Cache writes, in a thread of their own so that a listing's stats never queue behind them. */
const writer = new FsBatcher('expdesk-fs-write', 1);

/** A file's (size, mtime, inode), or null when it does not exist; rejects on other errors. */
export function statSig(file: string): Promise<StatSig | null> {
  return reader.stat(file);
}

/**
 * Many files' (size, mtime, inode) in one batch: null for a missing file,
 * the error for a failed stat; never rejects.
 */
export async function statSigs(files: string[]): Promise<StatOutcome[]> {
  const grid = await reader.statGrid(files, null);
  return files.map((_, i) => grid.outcome(i, 0));
}

/**
 * The stats of `names` in each of `dirs` (resolved folders), in one batch:
 * the paths are joined by the worker, and the answers stay numbers
 * (StatGrid) until asked for. Never rejects. A grid prefetched with the
 * same folders and names (prefetchStatGrid) is taken instead.
 */
export function statGrid(dirs: string[], names: readonly string[]): Promise<StatGrid> {
  // The first grid asked for after a prefetch takes it or drops it: never an old snapshot later.
  const early = prefetched;
  prefetched = null;
  if (
    early &&
    Date.now() - early.at < PREFETCH_MAX_AGE_MS &&
    sameList(early.names, names) &&
    sameList(early.dirs, dirs)
  ) {
    taken = early.grid;
    return early.grid;
  }
  return reader.statGrid(dirs, names);
}

/** The prefetched grid a listing took (statGrid), if one did. */
let taken: Promise<StatGrid> | null = null;

/** Whether this prefetched grid (prefetchStatGrid's promise) is the one a listing took. */
export function prefetchTaken(grid: Promise<StatGrid>): boolean {
  return taken === grid;
}

/** A prefetched grid older than this is not used (it would be an old snapshot). */
const PREFETCH_MAX_AGE_MS = 10_000;

/** One grid asked for ahead of the code that needs it (the CLI's entry, for a large listing). */
let prefetched: {
  dirs: readonly string[];
  names: readonly string[];
  grid: Promise<StatGrid>;
  at: number;
} | null = null;

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Start a grid of stats now for the listing that will ask for it: the CLI's
 * entry, before the listing's modules load, so the stats overlap that. The
 * listing's own statGrid of exactly these folders and names takes it (its
 * stats were taken a moment earlier: the same snapshot a listing is); the
 * first other grid asked for drops it and stats afresh, and so does any
 * grid asked for more than 10 s later.
 */
export function prefetchStatGrid(dirs: string[], names: readonly string[]): Promise<StatGrid> {
  const grid = reader.statGrid(dirs, names);
  prefetched = { dirs, names, grid, at: Date.now() };
  return grid;
}

/**
 * A regular file's text (UTF-8), at most `maxBytes`; rejects with the system
 * error or a refusal (its `code` ENOTREG for a FIFO, socket or device, EFBIG
 * for a larger file; its message names the file by `label`). Never blocks on
 * a FIFO, in the worker or in the fallback.
 */
export function readText(file: string, maxBytes: number, label = file): Promise<string> {
  return reader.readText(file, maxBytes, label);
}

/** Write a file atomically (temporary file, rename), creating its folder; rejects with the system error. */
export function writeAtomic(file: string, text: string): Promise<void> {
  return writer.writeAtomic(file, text);
}
