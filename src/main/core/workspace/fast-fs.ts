/**
 * The few file-system calls a workspace listing makes thousands of times,
 * through Node's callback API. `fs/promises` costs several times more per
 * call on the main thread (its FileHandle machinery, and an Error with a stack
 * trace for every missing file), and a listing of 5,000 experiments stats
 * tens of thousands of paths, most of them absent (FAILED.txt, the status
 * file, checkpoints/final). Still asynchronous: a slow network file system
 * never blocks the event loop.
 */
import { mkdir, readdir, rename, stat, writeFile, type Dirent, type Stats } from 'node:fs';
import { readRegularText } from '../fs/safe-read';

/** A path's stat, or null when it does not exist (ENOENT, ENOTDIR); other errors reject. */
export function statIfExists(file: string): Promise<Stats | null> {
  return new Promise((resolve, reject) =>
    stat(file, (err, st) => {
      if (!err) resolve(st);
      else if (err.code === 'ENOENT' || err.code === 'ENOTDIR') resolve(null);
      else reject(err);
    }),
  );
}

/** A path's stat; rejects with the system error (code ENOENT, EACCES, …). */
export function statFile(file: string): Promise<Stats> {
  return new Promise((resolve, reject) => stat(file, (err, st) => (err ? reject(err) : resolve(st))));
}

/**
 * A regular file's text (UTF-8), at most `maxBytes`; rejects with the system
 * error, or a SafeReadError (FIFO, device, too large: see fs/safe-read).
 */
export function readText(file: string, maxBytes: number, label?: string): Promise<string> {
  return readRegularText(file, { maxBytes, label });
}

/** A folder's entries with their types; rejects with the system error. */
export function readDirents(dir: string): Promise<Dirent[]> {
  return new Promise((resolve, reject) =>
    readdir(dir, { withFileTypes: true }, (err, entries) => (err ? reject(err) : resolve(entries))),
  );
}

/** Write a file's text (UTF-8); rejects with the system error. */
export function writeText(file: string, text: string): Promise<void> {
  return new Promise((resolve, reject) => writeFile(file, text, (err) => (err ? reject(err) : resolve())));
}

/** Rename a file (atomic within one file system); rejects with the system error. */
export function renameFile(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => rename(from, to, (err) => (err ? reject(err) : resolve())));
}

/** Create a folder and its parents; rejects with the system error. */
export function makeDirs(dir: string): Promise<void> {
  return new Promise((resolve, reject) =>
    mkdir(dir, { recursive: true }, (err) => (err ? reject(err) : resolve())),
  );
}

export { mapLimited } from '../../../shared/map-limited';
