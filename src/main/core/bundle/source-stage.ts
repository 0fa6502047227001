/**
 * The source stage of an export: the repository at the recorded git_hash,
 * located (bundle/source.ts), extracted with git archive into a private
 * temporary folder, and listed as archive entries — files over the size
 * limit, and files git archive leaves out, reported rather than dropped.
 */
import { lstat, mkdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { JsonObject } from '../workspace/files';
import type { Item } from './packer';
import { humanBytes } from './readme';
import {
  extractSourceTree,
  listSourceTree,
  locateSource,
  type OmittedFile,
  type SourceEntry,
  type SourceLocation,
} from './source';

export interface SourceStage {
  location: SourceLocation | null;
  missing: string | null;
  omitted: OmittedFile[];
  items: Item[];
  submodules: string[];
  bytes: number;
}

/** The repository at git_hash, extracted into `tmp` and listed as archive entries. */
export async function sourceStage(
  metadata: JsonObject | null,
  opts: { repository?: string; signal?: AbortSignal },
  expDir: string,
  tmp: string,
  limit: number,
  progress: (p: { phase: 'source'; done: number; total: number }) => void,
): Promise<SourceStage> {
  const stage: SourceStage = {
    location: null,
    missing: null,
    omitted: [],
    items: [],
    submodules: [],
    bytes: 0,
  };
  const lookup = await locateSource({
    gitHash: metadata?.git_hash,
    gitRoot: metadata?.git_root,
    cwd: metadata?.cwd,
    gitRemote: metadata?.git_remote,
    expDir,
    repository: opts.repository,
  });
  if (!lookup.found) {
    stage.missing = lookup.reason;
    return stage;
  }
  stage.location = lookup.location;
  const tree = await listSourceTree(lookup.location);
  stage.submodules = tree.submodules;
  const skip = new Set<string>();
  for (const f of tree.files) {
    if (limit > 0 && f.bytes > limit) {
      skip.add(f.path);
      stage.omitted.push({
        path: f.path,
        bytes: f.bytes,
        reason: `over the ${humanBytes(limit)} limit for source files`,
      });
    }
  }
  const total = tree.files.reduce((n, f) => n + (skip.has(f.path) ? 0 : f.bytes), 0);
  let done = 0;
  progress({ phase: 'source', done, total });
  await mkdir(tmp, { recursive: true });
  await extractSourceTree(lookup.location, tmp, skip, opts.signal, (bytes) => {
    done += bytes;
    progress({ phase: 'source', done, total });
  });
  for (const f of tree.files) {
    if (skip.has(f.path)) continue;
    const item = await sourceItem(f, path.join(tmp, ...f.path.split('/')), `source/${f.path}`);
    if (item) {
      stage.items.push(item);
      stage.bytes += f.bytes;
    } else
      stage.omitted.push({
        path: f.path,
        bytes: f.bytes,
        reason: 'left out by git archive (export-ignore in .gitattributes)',
      });
  }
  return stage;
}

/** One file of the extracted source tree as an archive entry (null when git archive left it out). */
async function sourceItem(f: SourceEntry, abs: string, rel: string): Promise<Item | null> {
  const st = await lstat(abs).catch(() => null);
  if (!st) return null;
  if (f.mode === '120000') {
    if (!st.isSymbolicLink()) return null;
    return { kind: 'symlink', rel, target: await readlink(abs) };
  }
  if (!st.isFile()) return null;
  // The mode git recorded, not the extraction's (umask): 755 for executables, 644 else.
  return { kind: 'file', rel, abs, size: st.size, mode: f.mode === '100755' ? 0o755 : 0o644, stats: st };
}
