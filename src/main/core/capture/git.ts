/**
 * The code version of a run: commit, branch, dirty flag, remote, and a patch
 * of everything that makes the working tree differ from the commit — staged
 * and unstaged changes, deletions, mode changes and untracked non-ignored
 * files — such that `git apply --binary` on a checkout of the commit
 * reproduces the tree exactly.
 *
 * The patch is made against a throwaway index (GIT_INDEX_FILE) holding HEAD
 * plus intent-to-add entries for untracked files, so the user's real index is
 * never touched and no blobs are written into their repository.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { revParse, safeGit, type SafeGit } from './safe-git';

export interface GitInfo {
  git_hash: string;
  git_branch: string;
  git_dirty: boolean;
  git_remote: string | null;
  /** The repository's top folder, or null outside a repository. */
  root: string | null;
}

/** The seed's get_git_info fallback, kept for folders outside git. */
const UNKNOWN: GitInfo = {
  git_hash: 'unknown',
  git_branch: 'unknown',
  git_dirty: true,
  git_remote: null,
  root: null,
};

/**
 * Pathspecs that leave out `excluded` folders (the workspace's experiments/,
 * whose checkpoints and logs are not code) when they lie inside the repository.
 */
export function excludePathspecs(root: string, excluded: string[]): string[] {
  const out: string[] = [];
  for (const dir of excluded) {
    const rel = path.relative(root, dir);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel))
      out.push(`:(exclude,top)${rel.split(path.sep).join('/')}`);
  }
  return out;
}

export async function gitInfo(cwd: string, excluded: string[] = []): Promise<GitInfo> {
  return (await captureGit(cwd, excluded, null)).info;
}

/** The URL recorded as the run's remote. */
const ORIGIN = 'remote.origin.url';

export interface GitCapture {
  info: GitInfo;
  /** The patch written, or null when none was asked for or there is no commit to diff against. */
  patch: PatchResult | null;
}

/**
 * What a launch records of the code — git state and, when `patch` is given
 * and HEAD exists, the uncommitted patch written to `patch.file` — with as
 * few git processes one after another as the rules allow, since the run
 * waits for all of it:
 *  1. safeGit's own config call (which reads remote.origin.url too) beside
 *     `rev-parse --show-toplevel`;
 *  2. one `git status --porcelain=v2 --branch` (hash, branch and dirtiness at
 *     once) beside the patch's chain (read-tree HEAD → add -N → diff).
 * Six git processes, four in a row (they were ten, seven in a row).
 */
export async function captureGit(
  cwd: string,
  excluded: string[],
  patch: { file: string; limitBytes: number } | null,
): Promise<GitCapture> {
  const [git, top] = await Promise.all([
    safeGit(cwd, { read: [ORIGIN] }),
    revParse(cwd, ['--show-toplevel']),
  ]);
  if (!top.ok) return { info: UNKNOWN, patch: null };
  const root = top.stdout.trim();
  const atRoot = git.at(root);
  const [state, attempt] = await Promise.all([
    headState(atRoot, root, excluded),
    patch ? patchAt(atRoot, patch.file, patch.limitBytes, excluded) : null,
  ]);
  const remote = git.value(ORIGIN);
  const info: GitInfo = { ...state, git_remote: remote === null ? null : redactUrl(remote.trim()), root };
  // No commit: nothing to diff against, and no patch (as the seed does). A commit whose tree
  // cannot be read is a failed patch, said so.
  if (attempt === null || ('noHead' in attempt && info.git_hash === 'unknown')) return { info, patch: null };
  return { info, patch: 'noHead' in attempt ? failedPatch(attempt.noHead) : attempt };
}

/** HEAD's hash and branch and whether the tree is dirty, as `rev-parse HEAD`, `rev-parse --abbrev-ref HEAD` and `status` say. */
async function headState(
  git: SafeGit,
  root: string,
  excluded: string[],
): Promise<Pick<GitInfo, 'git_hash' | 'git_branch' | 'git_dirty'>> {
  const status = await git.run(
    statusArgs(root, excluded, ['--porcelain=v2', '--branch', '--no-ahead-behind']),
    {
      timeoutMs: 60_000,
    },
  );
  if (status.ok) {
    let hash = 'unknown';
    let branch = 'unknown';
    let dirty = false;
    for (const line of status.stdout.split('\n')) {
      if (line.startsWith('# branch.oid ')) hash = line.slice('# branch.oid '.length);
      else if (line.startsWith('# branch.head ')) branch = line.slice('# branch.head '.length);
      else if (line.trim() && !line.startsWith('#')) dirty = true;
    }
    // No commit yet: rev-parse knows neither (the seed's "unknown").
    if (hash === '(initial)') return { git_hash: 'unknown', git_branch: 'unknown', git_dirty: dirty };
    // rev-parse --abbrev-ref says HEAD for a detached HEAD.
    return { git_hash: hash, git_branch: branch === '(detached)' ? 'HEAD' : branch, git_dirty: dirty };
  }
  // status failed (a timeout in a huge tree): HEAD asked directly, and the tree counted as dirty.
  const [hash, branch] = await Promise.all([
    revParse(root, ['HEAD']),
    revParse(root, ['--abbrev-ref', 'HEAD']),
  ]);
  return {
    git_hash: hash.ok ? hash.stdout.trim() : 'unknown',
    git_branch: branch.ok ? branch.stdout.trim() : 'unknown',
    git_dirty: true,
  };
}

/**
 * `git status` of the whole tree but the excluded folders. Submodules count
 * by their commit only: asking for their own changes would run git inside
 * them, under their own configuration, which safeGit has not read.
 */
function statusArgs(root: string, excluded: string[], format = ['--porcelain']): string[] {
  return [
    '-c',
    'core.quotepath=off',
    'status',
    ...format,
    '--ignore-submodules=dirty',
    '--',
    ':/',
    ...excludePathspecs(root, excluded),
  ];
}

export interface WorkingTree {
  /** The repository's top folder. */
  root: string;
  hash: string;
  branch: string;
  /** `git status --porcelain` lines of what a launch now would record in uncommitted.patch. */
  changes: string[];
}

/**
 * What a launch from `cwd` would record, asked before launching (the launch
 * form's dirty-tree warning): null outside a git repository. `excluded`
 * folders (experiments/) are left out, as the capture leaves them out.
 */
export async function workingTree(cwd: string, excluded: string[] = []): Promise<WorkingTree | null> {
  const git = await safeGit(cwd);
  const top = await git.run(['rev-parse', '--show-toplevel'], { timeoutMs: 10_000 });
  if (!top.ok) return null;
  const root = top.stdout.trim();
  const [hash, branch, status] = await Promise.all([
    git.run(['rev-parse', 'HEAD'], { timeoutMs: 10_000 }),
    git.run(['rev-parse', '--abbrev-ref', 'HEAD'], { timeoutMs: 10_000 }),
    git.run(statusArgs(root, excluded), { timeoutMs: 60_000 }),
  ]);
  if (!status.ok) throw new Error(`git status in ${root}: ${status.stderr.trim() || status.error}`);
  return {
    root,
    hash: hash.ok ? hash.stdout.trim() : 'unknown',
    branch: branch.ok ? branch.stdout.trim() : 'unknown',
    changes: status.stdout.split('\n').filter((l) => l.trim().length > 0),
  };
}

/** Credentials in a remote URL (https://user:token@host/…) are never recorded. */
export function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/)[^@/]+@/, '$1');
}

export interface PatchResult {
  /** Bytes written to the patch file. */
  bytes: number;
  /** Files in the patch. */
  files: number;
  /** True when nothing was left out. */
  complete: boolean;
  /** Files left out because the size limit was reached, with their patch size. */
  omitted: Array<{ path: string; bytes: number }>;
  error?: string;
}

/** Default limit of the recorded patch: large enough for code, small enough for an experiment folder. */
export const DEFAULT_PATCH_LIMIT_BYTES = 50 * 1024 * 1024;

/**
 * Splits `git diff` output into per-file sections as it streams, writing whole
 * sections while the total stays under the limit and recording the others.
 * A section larger than the limit is never held in memory.
 */
class PatchSplitter {
  private section: Buffer[] = [];
  private sectionBytes = 0;
  private sectionPath = '';
  private sectionDropped = false;
  private carry = '';
  written = 0;
  files = 0;
  omitted: Array<{ path: string; bytes: number }> = [];

  constructor(
    private readonly limit: number,
    private readonly write: (b: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    // Work line by line on a latin1 view: byte-exact, and "diff --git" is ASCII.
    const text = this.carry + chunk.toString('latin1');
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      this.line(text.slice(start, nl + 1));
      start = nl + 1;
    }
    this.carry = text.slice(start);
  }

  private line(line: string): void {
    if (line.startsWith('diff --git ')) {
      this.flush();
      const m = /^diff --git a\/(.*) b\/(.*)\n$/.exec(line);
      this.sectionPath = m ? m[2]! : line.slice(11).trim();
    }
    const bytes = line.length; // latin1: one char per byte
    this.sectionBytes += bytes;
    if (this.sectionDropped) return;
    if (this.written + this.sectionBytes > this.limit) {
      this.sectionDropped = true;
      this.section = [];
      return;
    }
    this.section.push(Buffer.from(line, 'latin1'));
  }

  flush(): void {
    if (this.carry) {
      const rest = this.carry;
      this.carry = '';
      this.line(rest);
    }
    if (this.sectionBytes === 0) return;
    if (this.sectionDropped) this.omitted.push({ path: this.sectionPath, bytes: this.sectionBytes });
    else {
      for (const b of this.section) this.write(b);
      this.written += this.sectionBytes;
      this.files++;
    }
    this.section = [];
    this.sectionBytes = 0;
    this.sectionDropped = false;
  }
}

export async function writeUncommittedPatch(
  cwd: string,
  outFile: string,
  limitBytes = DEFAULT_PATCH_LIMIT_BYTES,
  excluded: string[] = [],
): Promise<PatchResult> {
  const attempt = await patchAt(await safeGit(cwd), outFile, limitBytes, excluded);
  return 'noHead' in attempt ? failedPatch(attempt.noHead) : attempt;
}

function failedPatch(error: string): PatchResult {
  return { bytes: 0, files: 0, complete: false, omitted: [], error };
}

/**
 * The patch of the tree at `git.cwd` (the repository's top folder) against
 * HEAD, written to `outFile`; `{noHead}` when HEAD's tree cannot be read (no
 * commit yet), before anything is written.
 */
async function patchAt(
  git: SafeGit,
  outFile: string,
  limitBytes: number,
  excluded: string[],
): Promise<PatchResult | { noHead: string }> {
  const pathspecs = ['.', ...excludePathspecs(git.cwd, excluded)];
  const tmpIndex = path.join(os.tmpdir(), `expdesk-index-${process.pid}-${randomBytes(6).toString('hex')}`);
  const env = { ...process.env, GIT_INDEX_FILE: tmpIndex };
  try {
    const read = await git.run(['read-tree', 'HEAD'], { env, timeoutMs: 60_000 });
    if (!read.ok) return { noHead: `git read-tree HEAD: ${read.stderr.trim() || read.error}` };
    return await diffInto(git, env, pathspecs, outFile, limitBytes);
  } finally {
    rmSync(tmpIndex, { force: true });
    rmSync(`${tmpIndex}.lock`, { force: true });
  }
}

/** The diff that makes the patch (against HEAD, in the top folder, with the throwaway index). */
export const PATCH_DIFF_ARGS: readonly string[] = [
  '-c',
  'core.quotepath=off',
  'diff',
  '--binary',
  '--full-index',
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--ignore-submodules=dirty',
  '--no-renames',
  'HEAD',
  '--',
  '.',
];

/** add -N the untracked files to the throwaway index `env` names, and stream `git diff HEAD` into `outFile`. */
async function diffInto(
  git: SafeGit,
  env: NodeJS.ProcessEnv,
  pathspecs: string[],
  outFile: string,
  limitBytes: number,
): Promise<PatchResult> {
  const out = createWriteStream(outFile, { mode: 0o644 });
  const splitter = new PatchSplitter(limitBytes, (b) => out.write(b));
  try {
    const add = await git.run(['add', '--all', '--intent-to-add', '--', ...pathspecs], {
      env,
      timeoutMs: 120_000,
    });
    // git exits 1 when an excluded pathspec (experiments/) is also gitignored,
    // after adding everything else: that is not a failure.
    if (!add.ok && !/paths are ignored by one of your \.gitignore files/.test(add.stderr)) {
      throw new Error(`git add --intent-to-add: ${add.stderr.trim() || add.error}`);
    }
    const diff = await git.stream(PATCH_DIFF_ARGS, (chunk) => splitter.push(chunk), {
      env,
      timeoutMs: 600_000,
    });
    if (diff.code !== 0) throw new Error(`git diff: ${diff.stderr.trim() || `exit ${diff.code}`}`);
    splitter.flush();
    return {
      bytes: splitter.written,
      files: splitter.files,
      complete: splitter.omitted.length === 0,
      omitted: splitter.omitted,
    };
  } catch (err) {
    splitter.flush();
    return {
      bytes: splitter.written,
      files: splitter.files,
      complete: false,
      omitted: splitter.omitted,
      error: (err as Error).message,
    };
  } finally {
    await new Promise<void>((resolve) => out.end(resolve));
  }
}
