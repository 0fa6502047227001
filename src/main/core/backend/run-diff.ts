/**
 * What changed between two runs, for every face (`expdesk diff`, request
 * `experiments.diff`): config and metadata come from each run's backend
 * (details), requirements.txt and uncommitted.patch through its readFile (so
 * an SSH run is read on its host, confined like any file of an experiment),
 * and the commits between the two recorded hashes from the backend that
 * holds the first run (`commitsBetween`), in a repository that has both.
 * The pure parts are in src/shared (run-diff, requirements-diff,
 * patch-files).
 */
import type { JsonValue } from '../../../shared/model';
import { ExpdeskError } from '../../../shared/errors';
import { comparePatches, patchSections } from '../../../shared/patch-files';
import { diffRequirements } from '../../../shared/requirements-diff';
import {
  diffConfigPair,
  metadataText,
  VERSION_KEYS,
  type CommitRange,
  type GitSide,
  type RunDiff,
} from '../../../shared/run-diff';
import { safeGit } from '../capture/safe-git';
import { locateSource } from '../bundle/source';
import type { ExperimentBackend } from './backend';
import { detailsAcross } from './across';
import { resolveBackend, type Backends } from './resolve';

/** The seed has no patch of its own; Expdesk's capture writes this one (core/capture/git.ts). */
export const PATCH_FILE = 'uncommitted.patch';
export const REQUIREMENTS_FILE = 'requirements.txt';
/** Enough for any requirements.txt and for the file list of a large patch; more is marked truncated. */
const READ_LIMIT = 8 * 1024 * 1024;
/** Commits listed per direction. */
const COMMIT_LIMIT = 500;

function childOf(location: string, name: string): string {
  return `${location.replace(/\/+$/, '')}/${name}`;
}

/** A file of a run, or null when it has none; any other failure (a link out, a FIFO) is an error naming it. */
async function readOptional(
  backend: ExperimentBackend,
  location: string,
  name: string,
): Promise<{ text: string; size: number; truncated: boolean } | null> {
  try {
    return await backend.readFile(childOf(location, name), READ_LIMIT);
  } catch (err) {
    if (err instanceof ExpdeskError && err.code === 'not-found') return null;
    throw err;
  }
}

const HASH = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

function recordedHash(m: Record<string, JsonValue> | null): string | null {
  const h = m?.git_hash;
  return typeof h === 'string' && h.trim() ? h.trim() : null;
}

async function gitLog(repository: string, range: string): Promise<Array<{ hash: string; subject: string }>> {
  const git = await safeGit(repository);
  // --no-show-signature: log.showSignature in the repository's config would run its gpg.program.
  const r = await git.run(
    [
      'log',
      '--no-show-signature',
      '--no-color',
      `--max-count=${COMMIT_LIMIT + 1}`,
      '--format=%H%x09%s',
      range,
      '--',
    ],
    { timeoutMs: 30_000 },
  );
  if (!r.ok) throw new Error(`git log ${range} in ${repository}: ${r.stderr.trim() || r.error}`);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf('\t');
      return { hash: line.slice(0, tab), subject: line.slice(tab + 1) };
    });
}

/**
 * The commits between the hashes two runs recorded, read on this machine:
 * the repository is found as export finds a run's source (the recorded
 * git_root, cwd or local remote, else the repository holding the folder), and
 * must hold both commits. Every git call goes through safeGit.
 */
export async function localCommitsBetween(a: GitSide, b: GitSide): Promise<CommitRange> {
  const ha = recordedHash(a.metadata);
  const hb = recordedHash(b.metadata);
  for (const [side, h] of [
    ['A', ha],
    ['B', hb],
  ] as const) {
    if (!h || h === 'unknown')
      return {
        available: false,
        reason: `run ${side} recorded no git commit (git_hash is ${h ? '"unknown"' : 'absent'})`,
      };
    if (!HASH.test(h))
      return { available: false, reason: `run ${side}'s git_hash ${JSON.stringify(h)} is not a commit id` };
  }
  const lookup = (hash: string, side: GitSide, repository?: string): ReturnType<typeof locateSource> =>
    locateSource({
      gitHash: hash,
      gitRoot: side.metadata?.git_root,
      cwd: side.metadata?.cwd,
      gitRemote: side.metadata?.git_remote,
      expDir: side.location,
      repository,
    });
  const reasons: string[] = [];
  for (const [hash, side, other] of [
    [ha!, a, hb!],
    [hb!, b, ha!],
  ] as const) {
    const found = await lookup(hash, side);
    if (!found.found) {
      reasons.push(found.reason);
      continue;
    }
    const repo = found.location.repository;
    const both = await lookup(other, side, repo);
    if (!both.found) {
      reasons.push(`${repo} holds ${hash.slice(0, 12)} but not ${other.slice(0, 12)}`);
      continue;
    }
    if (ha === hb) return { available: true, repository: repo, forward: [], backward: [], truncated: false };
    const forward = await gitLog(repo, `${ha}..${hb}`);
    const backward = await gitLog(repo, `${hb}..${ha}`);
    const truncated = forward.length > COMMIT_LIMIT || backward.length > COMMIT_LIMIT;
    return {
      available: true,
      repository: repo,
      forward: forward.slice(0, COMMIT_LIMIT),
      backward: backward.slice(0, COMMIT_LIMIT),
      truncated,
    };
  }
  return { available: false, reason: [...new Set(reasons)].join('; ') };
}

function patchSide(
  p: { text: string; size: number; truncated: boolean } | null,
): RunDiff['code']['patches']['a'] {
  return p ? { files: patchSections(p.text).length, bytes: p.size, truncated: p.truncated } : null;
}

/** The whole diff of two runs, each wherever it is. */
export async function diffRuns(a: string, b: string, backends: Backends): Promise<RunDiff> {
  const [da, db] = await detailsAcross([a, b], backends);
  const [ba, bb] = await Promise.all([resolveBackend(a, backends), resolveBackend(b, backends)]);
  const sa: GitSide = { location: ba.normalize(a), metadata: da!.metadata };
  const sb: GitSide = { location: bb.normalize(b), metadata: db!.metadata };
  const [reqA, reqB, patchA, patchB, commits] = await Promise.all([
    readOptional(ba, a, REQUIREMENTS_FILE),
    readOptional(bb, b, REQUIREMENTS_FILE),
    readOptional(ba, a, PATCH_FILE),
    readOptional(bb, b, PATCH_FILE),
    ba === bb
      ? ba.commitsBetween(sa, sb)
      : Promise.resolve<CommitRange>({
          available: false,
          reason: 'the two runs are on different machines: no one repository holds both commits here',
        }),
  ]);
  const ma = da!.metadata;
  const mb = db!.metadata;
  const bool = (m: Record<string, JsonValue> | null): boolean | null =>
    typeof m?.git_dirty === 'boolean' ? m.git_dirty : null;
  const missingReq: Array<'a' | 'b'> = [];
  if (!reqA) missingReq.push('a');
  if (!reqB) missingReq.push('b');
  let packages: RunDiff['environment']['packages'] = null;
  if (reqA && reqB) {
    const { skipped: _skipped, ...rest } = diffRequirements(reqA.text, reqB.text);
    packages = rest;
  }
  return {
    a: { path: sa.location, name: da!.summary.name },
    b: { path: sb.location, name: db!.summary.name },
    config: diffConfigPair(da!.config, db!.config),
    code: {
      hashes: { a: recordedHash(ma), b: recordedHash(mb) },
      branches: { a: metadataText(ma, 'git_branch'), b: metadataText(mb, 'git_branch') },
      dirty: { a: bool(ma), b: bool(mb) },
      commits,
      patches: {
        a: patchSide(patchA),
        b: patchSide(patchB),
        files: comparePatches(patchA?.text ?? null, patchB?.text ?? null),
      },
    },
    environment: {
      versions: VERSION_KEYS.map((key) => {
        const va = metadataText(ma, key);
        const vb = metadataText(mb, key);
        return { key, a: va, b: vb, differs: va !== vb };
      }),
      packages,
      missing: missingReq,
    },
  };
}
