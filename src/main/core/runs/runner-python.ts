/**
 * The interpreter the run wrapper starts with, without a version manager's
 * shim in the way. `python3` on PATH is often a shim (pyenv's is a bash
 * script that runs a dozen more before Python: 0.3–0.8 s of every run start
 * on a busy machine). The wrapper needs any Python 3 (it is stdlib only), so
 * the executable a shim led to last time is used directly while that shim is
 * unchanged and the executable still exists. What a shim leads to is learned
 * beside a run, after it started (never in its way), and kept in the user's
 * cache folder (written atomically). A real `python3` binary is used as is.
 * EXPDESK_RUNNER_PYTHON, when set, is always used as given.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { userCacheDir } from '../app/paths';
import { writeAtomic } from '../workspace/fs-batch';

interface Learned {
  /** The shim on PATH, and its signature when its target was learned. */
  shim: string;
  size: number;
  mtimeMs: number;
  executable: string;
}

export interface WrapperPython {
  /** What to start the wrapper with. */
  python: string;
  /** Learn what the shim leads to (call after the run started); resolves when done. Null when nothing to learn. */
  learn: (() => Promise<void>) | null;
}

function learnedFile(): string {
  return path.join(userCacheDir(), 'runner-python.json');
}

/** The first executable `name` on PATH, or null. */
function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** Whether a file is a script (`#!`): a shim, not the interpreter itself. */
function isScript(file: string): boolean {
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head.toString('latin1') === '#!';
  } catch {
    return false;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function readLearned(): Learned | null {
  try {
    const v = JSON.parse(readFileSync(learnedFile(), 'utf8')) as Partial<Learned>;
    return typeof v.shim === 'string' &&
      typeof v.executable === 'string' &&
      typeof v.size === 'number' &&
      typeof v.mtimeMs === 'number'
      ? (v as Learned)
      : null;
  } catch {
    return null;
  }
}

/** Ask the shim which executable it runs (in the run's folder's parent: any will do). */
function learnFrom(shim: string, sig: { size: number; mtimeMs: number }): Promise<void> {
  return new Promise((resolve) => {
    execFile(
      shim,
      ['-S', '-c', 'import sys; print(sys.executable)'],
      { timeout: 30_000, encoding: 'utf8' },
      (err, stdout) => {
        const executable = stdout?.trim() ?? '';
        if (err || !path.isAbsolute(executable) || !isExecutable(executable)) return resolve();
        const learned: Learned = { shim, size: sig.size, mtimeMs: sig.mtimeMs, executable };
        // The cache is an optimisation: a failed write only costs the next start its shim.
        writeAtomic(learnedFile(), JSON.stringify(learned)).then(resolve, () => resolve());
      },
    );
  });
}

export function wrapperPython(): WrapperPython {
  const given = process.env.EXPDESK_RUNNER_PYTHON;
  if (given) return { python: given, learn: null };
  const shim = onPath('python3');
  if (!shim || !isScript(shim)) return { python: shim ?? 'python3', learn: null };
  let sig: { size: number; mtimeMs: number };
  try {
    const st = statSync(shim);
    sig = { size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return { python: shim, learn: null };
  }
  const learned = readLearned();
  if (
    learned &&
    learned.shim === shim &&
    learned.size === sig.size &&
    learned.mtimeMs === sig.mtimeMs &&
    isExecutable(learned.executable)
  )
    return { python: learned.executable, learn: null };
  return { python: shim, learn: () => learnFrom(shim, sig) };
}
