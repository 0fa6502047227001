/**
 * The source tree of a run for its bundle: find a repository that still holds
 * the recorded commit, list the commit's files with their sizes (git ls-tree,
 * which costs no checkout), and extract it with `git archive` into a folder
 * the export packs from. Files over the size limit are left out of the
 * extraction and reported; nothing is dropped silently.
 *
 * git runs through safeGit: `git archive` applies the smudge filters that
 * .gitattributes names, and the repository's own filter drivers are switched
 * off there, so archiving runs no command the repository configures.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { x as extractTar } from 'tar';
import { safeGit } from '../capture/safe-git';

export interface SourceEntry {
  /** Path inside the repository, '/'-separated. */
  path: string;
  /** 100644, 100755, 120000 (symlink). */
  mode: string;
  bytes: number;
}

export interface OmittedFile {
  path: string;
  bytes: number;
  reason: string;
}

export interface SourceLocation {
  repository: string;
  gitHash: string;
}

export type SourceLookup = { found: true; location: SourceLocation } | { found: false; reason: string };

/** A 40-hex (or 64-hex, sha256 repositories) commit id; anything else is not a recorded commit. */
const HASH_RE = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

function localPathOfRemote(remote: string | null): string | null {
  if (!remote) return null;
  if (remote.startsWith('file://')) {
    try {
      return fileURLToPath(remote);
    } catch {
      return null;
    }
  }
  return path.isAbsolute(remote) ? remote : null;
}

async function gitTop(dir: string): Promise<string | null> {
  const r = await (await safeGit(dir)).run(['rev-parse', '--show-toplevel'], { timeoutMs: 10_000 });
  return r.ok ? r.stdout.trim() : null;
}

async function hasCommit(repo: string, hash: string): Promise<boolean> {
  const r = await (await safeGit(repo)).run(['cat-file', '-e', `${hash}^{commit}`], { timeoutMs: 10_000 });
  return r.ok;
}

/**
 * Where the commit can still be found: the repository given by the user,
 * then the one recorded at launch (git_root, the command's folder, a local
 * remote), then the repository holding the experiment folder itself (the
 * seed's experiments/ usually lives inside the project). The reason says
 * plainly why none qualifies.
 */
export async function locateSource(opts: {
  gitHash: unknown;
  gitRoot?: unknown;
  cwd?: unknown;
  gitRemote?: unknown;
  expDir: string;
  repository?: string;
}): Promise<SourceLookup> {
  const hash = typeof opts.gitHash === 'string' ? opts.gitHash.trim() : '';
  if (!hash || hash === 'unknown')
    return {
      found: false,
      reason: `the run did not record a git commit (git_hash is ${hash ? '"unknown"' : 'absent'}): it was not started in a git repository, or git was unavailable`,
    };
  if (!HASH_RE.test(hash))
    return { found: false, reason: `git_hash ${JSON.stringify(hash)} is not a commit id` };
  const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);
  const recorded = [str(opts.gitRoot), str(opts.cwd), localPathOfRemote(str(opts.gitRemote))].filter(
    (p): p is string => p !== null,
  );
  const candidates = opts.repository ? [path.resolve(opts.repository)] : [...recorded, opts.expDir];
  const tried: string[] = [];
  const seen = new Set<string>();
  for (const dir of candidates) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      tried.push(`${dir} does not exist`);
      continue;
    }
    const top = await gitTop(dir);
    if (!top) {
      tried.push(`${dir} is not in a git repository`);
      continue;
    }
    if (seen.has(top)) continue;
    seen.add(top);
    if (await hasCommit(top, hash)) return { found: true, location: { repository: top, gitHash: hash } };
    tried.push(`commit ${hash.slice(0, 12)} is not in ${top} (rebased, amended or garbage-collected?)`);
  }
  const where = recorded.length ? '' : ' (the run recorded no repository path)';
  return {
    found: false,
    reason: `the source of commit ${hash.slice(0, 12)} could not be found${where}: ${tried.join('; ') || 'no repository to look in'}`,
  };
}

/** Every entry of the commit's tree, with sizes; submodules are returned apart (they are other repositories). */
export async function listSourceTree(
  loc: SourceLocation,
): Promise<{ files: SourceEntry[]; submodules: string[] }> {
  const git = await safeGit(loc.repository);
  const r = await git.run(['ls-tree', '-r', '-l', '-z', '--full-tree', loc.gitHash], {
    timeoutMs: 120_000,
    maxBuffer: 1024 * 1024 * 1024,
  });
  if (!r.ok)
    throw new Error(`git ls-tree ${loc.gitHash} in ${loc.repository}: ${r.stderr.trim() || r.error}`);
  const files: SourceEntry[] = [];
  const submodules: string[] = [];
  for (const rec of r.stdout.split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const [mode, type, , size] = rec.slice(0, tab).split(/ +/);
    const p = rec.slice(tab + 1);
    if (type === 'commit') submodules.push(p);
    else if (type === 'blob') files.push({ path: p, mode: mode!, bytes: Number(size) || 0 });
  }
  return { files, submodules };
}

/**
 * Extract the commit's tree into `dest` with `git archive`, leaving out
 * `skip` (files over the size limit). `signal` stops git and the extraction.
 */
export async function extractSourceTree(
  loc: SourceLocation,
  dest: string,
  skip: ReadonlySet<string>,
  signal?: AbortSignal,
  onFile?: (bytes: number) => void,
): Promise<void> {
  const git = await safeGit(loc.repository);
  const child = git.spawn(['archive', '--format=tar', loc.gitHash], { signal });
  child.stdin.end();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 16 * 1024) stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const extractor = extractTar({
    cwd: dest,
    // Paths in git archive are the repository's own; never let one escape dest.
    strict: true,
    filter: (p) => !skip.has(p.replace(/^\.\//, '')),
    onReadEntry: (entry) => {
      if (entry.type === 'File') onFile?.(entry.size ?? 0);
    },
  });
  await pipeline(child.stdout, extractor, { signal });
  const code = await exited;
  if (code !== 0) throw new Error(`git archive ${loc.gitHash} failed (exit ${code}): ${stderr.trim()}`);
}
