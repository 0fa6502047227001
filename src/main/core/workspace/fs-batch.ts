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
import { readRegularFileSync } from '../fs/safe-read';
import { makeDirs, readText as readTextAsync, renameFile, statIfExists, writeText } from './fast-fs';

/** What a listing needs of a file's stat. */
export interface StatSig {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** Calls in one batch before a worker is started for it; fewer go through the asynchronous API. */
const WORKER_MIN_BATCH = 64;

/** A batch out for this long means a stuck file system: later calls bypass the worker. */
const STUCK_MS = 2_000;

/** Runs in the worker (CommonJS, eval'd): one message per batch, answered in order. */
const WORKER_CODE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const readRegularFileSync = ${readRegularFileSync.toString()};
const errOf = (e) => ({ code: e && e.code ? String(e.code) : 'EIO', message: e && e.message ? String(e.message) : String(e) });
parentPort.on('message', ({ id, offset, stats, reads, writes }) => {
  const list = stats.length ? stats.split('\\0') : [];
  const sigs = new Float64Array(list.length * 3);
  const statErrors = {};
  for (let i = 0; i < list.length; i++) {
    let st;
    try {
      st = fs.statSync(list[i], { throwIfNoEntry: false });
    } catch (e) {
      if (e && e.code === 'ENOTDIR') st = undefined;
      else { sigs[3 * i] = -2; statErrors[i] = errOf(e); continue; }
    }
    if (st === undefined) { sigs[3 * i] = -1; continue; }
    sigs[3 * i] = st.size; sigs[3 * i + 1] = st.mtimeMs; sigs[3 * i + 2] = st.ino;
  }
  // Only regular files, never blocking on open (a FIFO would hang this thread), bounded.
  const texts = reads.map(([file, maxBytes, label]) => {
    try { return readRegularFileSync(fs, file, maxBytes, label).toString('utf8'); } catch (e) { return errOf(e); }
  });
  const dirs = new Set();
  const written = writes.map(([file, text]) => {
    try {
      const dir = path.dirname(file);
      if (!dirs.has(dir)) { fs.mkdirSync(dir, { recursive: true }); dirs.add(dir); }
      const tmp = file + '.' + process.pid + '.' + Math.random().toString(36).slice(2) + '.tmp';
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, file);
      return null;
    } catch (e) { return errOf(e); }
  });
  parentPort.postMessage({ id, offset, sigs, statErrors, texts, written }, [sigs.buffer]);
});
`;

type Settle<T> = { resolve(v: T): void; reject(e: unknown): void };
/** One answer for many stats (statMany): a missing file is null, a failed stat its error. */
export type StatOutcome = StatSig | null | NodeJS.ErrnoException;
interface StatGroup {
  start: number;
  count: number;
  resolve(v: StatOutcome[]): void;
}
interface Batch {
  id: number;
  stats: string[];
  /** One per stat; null where a group (statMany) waits instead. */
  statWaiters: Array<Settle<StatSig | null> | null>;
  groups: StatGroup[];
  reads: Read[];
  readWaiters: Array<Settle<string>>;
  writes: Array<[string, string]>;
  writeWaiters: Array<Settle<void>>;
}
/** A bounded read: the file, its size limit and its name in messages. */
type Read = [file: string, maxBytes: number, label: string];
interface WireError {
  code: string;
  message: string;
}
interface Reply {
  id: number;
  /** Where this part's stats start in the batch. */
  offset: number;
  sigs: Float64Array;
  statErrors: Record<number, WireError>;
  texts: Array<string | WireError>;
  written: Array<WireError | null>;
}

function toError(e: WireError): NodeJS.ErrnoException {
  return Object.assign(new Error(e.message), { code: e.code });
}

function emptyBatch(id: number): Batch {
  return {
    id,
    stats: [],
    statWaiters: [],
    groups: [],
    reads: [],
    readWaiters: [],
    writes: [],
    writeWaiters: [],
  };
}

/** A batch's stats are split among the stat workers when each part gets at least this many. */
const SPLIT_MIN = 2_048;

/** A batch out: its parts (one per worker it went to) and the answers gathered so far. */
interface Out {
  batch: Batch;
  sentAt: number;
  /** The workers that still owe a part. */
  owed: Set<Worker>;
  sigs: Float64Array;
  statErrors: Record<number, WireError>;
  texts: Array<string | WireError>;
  written: Array<WireError | null>;
}

class FsBatcher {
  constructor(
    private readonly name: string,
    /** How many workers a large batch of stats is split among. */
    private readonly maxWorkers: number,
  ) {}

  private readonly workers: Worker[] = [];
  /** No worker here (none could start, or they died twice): the asynchronous API only. */
  private disabled = false;
  private failures = 0;
  private nextId = 1;
  private pending: Batch | null = null;
  private readonly out = new Map<number, Out>();

  stat(file: string): Promise<StatSig | null> {
    const batch = this.batch();
    if (!batch)
      return statIfExists(file).then((st) => st && { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
    return new Promise((resolve, reject) => {
      batch.stats.push(file);
      batch.statWaiters.push({ resolve, reject });
    });
  }

  /** Many stats, one promise (a listing's 50,000 stats without 50,000 promises). */
  statMany(files: string[]): Promise<StatOutcome[]> {
    const batch = this.batch();
    if (!batch) return Promise.all(files.map(statOutcome));
    return new Promise((resolve) => {
      batch.groups.push({ start: batch.stats.length, count: files.length, resolve });
      for (const f of files) {
        batch.stats.push(f);
        batch.statWaiters.push(null);
      }
    });
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
    const batch = emptyBatch(this.nextId++);
    this.pending = batch;
    setImmediate(() => this.send(batch));
    return batch;
  }

  private stuck(): boolean {
    const now = Date.now();
    for (const { sentAt } of this.out.values()) {
      if (now - sentAt > STUCK_MS) {
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
      } catch {
        if (this.workers.length === 0) this.disabled = true;
        break;
      }
    }
    return this.workers.length > 0;
  }

  private send(batch: Batch): void {
    if (this.pending === batch) this.pending = null;
    // A worker is started for the first batch worth it: a small listing never pays its ~30 ms start.
    const size = batch.stats.length + batch.reads.length + batch.writes.length;
    const parts = Math.max(1, Math.min(this.maxWorkers, Math.floor(batch.stats.length / SPLIT_MIN)));
    if ((this.workers.length === 0 && size < WORKER_MIN_BATCH) || this.disabled || !this.start(parts)) {
      fallback(batch);
      return;
    }
    if (batch.stats.length && (batch.reads.length || batch.writes.length)) {
      // The reads answered first, on their own: a listing parses its cache file while its stats go on.
      const stats: Batch = {
        ...emptyBatch(this.nextId++),
        stats: batch.stats,
        statWaiters: batch.statWaiters,
        groups: batch.groups,
      };
      this.post({ ...batch, stats: [], statWaiters: [], groups: [] }, 1);
      this.post(stats, parts);
    } else this.post(batch, parts);
  }

  /** Send a batch, its stats split into `parts` (at most one per worker running), its reads and writes with the first. */
  private post(batch: Batch, parts: number): void {
    const workers = this.workers.slice(0, Math.max(1, Math.min(parts, this.workers.length)));
    const n = batch.stats.length;
    this.out.set(batch.id, {
      batch,
      sentAt: Date.now(),
      owed: new Set(workers),
      sigs: new Float64Array(n * 3),
      statErrors: {},
      texts: [],
      written: [],
    });
    const per = Math.ceil(n / workers.length);
    workers.forEach((worker, k) => {
      // Keep the process alive while an answer is awaited (a CLI listing), not otherwise.
      worker.ref();
      const from = k * per;
      worker.postMessage({
        id: batch.id,
        offset: from,
        stats: batch.stats.slice(from, from + per).join('\0'),
        reads: k === 0 ? batch.reads : [],
        writes: k === 0 ? batch.writes : [],
      });
    });
  }

  /** Whether a worker still owes a part of some batch. */
  private owes(worker: Worker): boolean {
    for (const o of this.out.values()) if (o.owed.has(worker)) return true;
    return false;
  }

  private receive(worker: Worker, reply: Reply): void {
    const o = this.out.get(reply.id);
    if (!o || !o.owed.delete(worker)) return;
    if (!this.owes(worker)) worker.unref();
    o.sigs.set(reply.sigs, reply.offset * 3);
    for (const [i, e] of Object.entries(reply.statErrors)) o.statErrors[Number(i) + reply.offset] = e;
    if (reply.texts.length) o.texts = reply.texts;
    if (reply.written.length) o.written = reply.written;
    if (o.owed.size > 0) return;
    this.out.delete(reply.id);
    settle(o);
  }

  /** A worker died: the batches it owed a part of are redone asynchronously; a second death disables the workers. */
  private lost(worker: Worker): void {
    const at = this.workers.indexOf(worker);
    if (at < 0) return;
    this.workers.splice(at, 1);
    if (++this.failures >= 2) this.disabled = true;
    for (const [id, o] of [...this.out]) {
      if (!o.owed.has(worker)) continue;
      this.out.delete(id);
      fallback(o.batch);
    }
  }
}

/** Answer a batch's waiters from its gathered answers. */
function settle(o: Out): void {
  const { batch, sigs, statErrors } = o;
  const outcome = (i: number): StatOutcome => {
    const size = sigs[3 * i]!;
    if (size === -1) return null;
    if (size === -2) return toError(statErrors[i]!);
    return { size, mtimeMs: sigs[3 * i + 1]!, ino: sigs[3 * i + 2]! };
  };
  batch.statWaiters.forEach((w, i) => {
    if (!w) return;
    const r = outcome(i);
    if (r instanceof Error) w.reject(r);
    else w.resolve(r);
  });
  for (const g of batch.groups) {
    const out = new Array<StatOutcome>(g.count);
    for (let k = 0; k < g.count; k++) out[k] = outcome(g.start + k);
    g.resolve(out);
  }
  batch.readWaiters.forEach((w, i) => {
    const t = o.texts[i]!;
    if (typeof t === 'string') w.resolve(t);
    else w.reject(toError(t));
  });
  batch.writeWaiters.forEach((w, i) => {
    const e = o.written[i];
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

/** Settle a batch through the asynchronous API. */
function fallback(batch: Batch): void {
  const outcomes = batch.stats.map(statOutcome);
  batch.statWaiters.forEach((w, i) => {
    if (!w) return;
    void outcomes[i]!.then((o) => (o instanceof Error ? w.reject(o) : w.resolve(o)));
  });
  for (const g of batch.groups) void Promise.all(outcomes.slice(g.start, g.start + g.count)).then(g.resolve);
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
export function statSigs(files: string[]): Promise<StatOutcome[]> {
  return reader.statMany(files);
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
