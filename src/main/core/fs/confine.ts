/**
 * Confinement of paths that come from untrusted folders (experiments,
 * projects, their configs): a path is served only when its real path
 * (every symlink resolved) lies inside the real path of the folder it
 * belongs to. A link that leads out is refused, never followed, and the
 * refusal names the file and where it leads.
 *
 * The lowest layer of core: it imports nothing from core, so every area
 * (logs, configs, bundles, workspace) can use it.
 */
import { realpathSync, type Stats } from 'node:fs';
import { lstat, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export type ConfinementProblem = 'outside' | 'missing' | 'unreadable';

export class ConfinementError extends Error {
  constructor(
    readonly problem: ConfinementProblem,
    /** The path as it was asked for (not resolved). */
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfinementError';
  }
}

/** True when `child` lies strictly below `parent` (both absolute, compared as written). */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** `child` is `parent` itself or below it. */
export function isAtOrInside(child: string, parent: string): boolean {
  return path.resolve(child) === path.resolve(parent) || isInside(child, parent);
}

function resolveError(err: unknown, candidate: string): ConfinementError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return new ConfinementError('missing', candidate, `no such file: ${candidate}`);
  if (code === 'ELOOP')
    return new ConfinementError('outside', candidate, `${candidate} is a symlink loop: not followed`);
  return new ConfinementError('unreadable', candidate, `cannot open ${candidate}: ${(err as Error).message}`);
}

function checked(rootReal: string, candidate: string, real: string, what: string): string {
  if (real !== rootReal && !isInside(real, rootReal))
    throw new ConfinementError(
      'outside',
      candidate,
      `${candidate} leads outside ${what} (to ${real}): refused, links out are not followed`,
    );
  return real;
}

/**
 * The real path of `candidate` (relative to `root`, or absolute) when it lies
 * inside `root`'s real path; a ConfinementError naming the file otherwise
 * ('outside' for a link or `..` leading out, 'missing' when it does not exist).
 * `what` names the root in messages ("its experiment folder", "the project").
 */
export async function resolveInside(root: string, candidate: string, what = root): Promise<string> {
  const abs = path.resolve(root, candidate);
  const rootReal = await realpath(root).catch((err: unknown) => {
    throw resolveError(err, root);
  });
  const real = await realpath(abs).catch((err: unknown) => {
    throw resolveError(err, abs);
  });
  return checked(rootReal, abs, real, what);
}

/** resolveInside for synchronous callers (the config composer). */
export function resolveInsideSync(root: string, candidate: string, what = root): string {
  const abs = path.resolve(root, candidate);
  let rootReal: string;
  let real: string;
  try {
    rootReal = realpathSync(root);
  } catch (err) {
    throw resolveError(err, root);
  }
  try {
    real = realpathSync(abs);
  } catch (err) {
    throw resolveError(err, abs);
  }
  return checked(rootReal, abs, real, what);
}

/** What an entry of an untrusted folder is, seen without following it. */
export type EntryKind =
  | { kind: 'file'; stats: Stats }
  | { kind: 'dir'; stats: Stats }
  /** A symlink; `real` is where it resolves when that is inside the root, else null (`reason` says why). */
  | { kind: 'link'; target: string; real: string | null; realStats: Stats | null; reason: string | null }
  /** A FIFO, socket or device: never opened. */
  | { kind: 'special'; what: string }
  | { kind: 'missing' };

function specialName(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * lstat `abs` and classify it. A symlink is not followed: its resolution is
 * only reported, and only when it lands inside `rootReal` (already a real path).
 */
export async function inspectEntry(abs: string, rootReal: string): Promise<EntryKind> {
  const st = await lstat(abs).catch(() => null);
  if (!st) return { kind: 'missing' };
  if (st.isFile()) return { kind: 'file', stats: st };
  if (st.isDirectory()) return { kind: 'dir', stats: st };
  if (!st.isSymbolicLink()) return { kind: 'special', what: specialName(st) };
  const target = await readlink(abs).catch(() => '?');
  let real: string;
  try {
    real = await realpath(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      kind: 'link',
      target,
      real: null,
      realStats: null,
      reason: code === 'ELOOP' ? 'a symlink loop' : 'a link to nothing (its target is missing)',
    };
  }
  if (real !== rootReal && !isInside(real, rootReal))
    return {
      kind: 'link',
      target,
      real: null,
      realStats: null,
      reason: `a link leading outside (to ${real})`,
    };
  const realStats = await stat(real).catch(() => null);
  return { kind: 'link', target, real, realStats, reason: null };
}
