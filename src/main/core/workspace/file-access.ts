/**
 * Reading one text file of an experiment for the interface (outputs/, logs/,
 * FAILED.txt, config.yaml, requirements.txt …). Only files inside an
 * experiment folder are served: the folder is found by walking up from the
 * file to a folder holding config.yaml, metadata.json or logs/metrics.jsonl,
 * and the file's real path (symlinks resolved) must still lie inside that
 * folder's real path, so a link in outputs/ pointing at ~/.ssh is refused.
 * Size-capped (the start is returned, marked truncated), decoded as UTF-8
 * with U+FFFD for invalid bytes. Read-only.
 */
import { open, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isInside } from '../fs/confine';
import { isExperimentDir, WorkspaceError } from './discover';

export const DEFAULT_MAX_BYTES = 2 * 1024 * 1024;

export interface FileText {
  text: string;
  size: number;
  truncated: boolean;
}

/** The nearest folder at or above `dir` that is an experiment, or null. */
export async function experimentRootOf(dir: string): Promise<string | null> {
  let cur = path.resolve(dir);
  for (;;) {
    if (await isExperimentDir(cur)) return cur;
    const parent = path.dirname(cur);
    if (parent === cur) return null;
    cur = parent;
  }
}

// One rule for "inside" across core (core/fs/confine.ts); re-exported for existing callers.
export { isInside };

function fsError(err: unknown, file: string): WorkspaceError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return new WorkspaceError('not-found', `no such file: ${file}`);
  if (code === 'EACCES' || code === 'EPERM')
    return new WorkspaceError('forbidden', `cannot read ${file}: permission denied`);
  return new WorkspaceError('bad-request', `cannot read ${file}: ${(err as Error).message}`);
}

export async function readExperimentFile(file: string, maxBytes = DEFAULT_MAX_BYTES): Promise<FileText> {
  const requested = path.resolve(file);
  const root = await experimentRootOf(path.dirname(requested));
  if (root === null) {
    throw new WorkspaceError('forbidden', `${requested} is not inside an experiment folder`);
  }
  let real: string;
  let rootReal: string;
  try {
    [real, rootReal] = await Promise.all([realpath(requested), realpath(root)]);
  } catch (err) {
    throw fsError(err, requested);
  }
  if (!isInside(real, rootReal)) {
    throw new WorkspaceError('forbidden', `${requested} leads outside its experiment folder (to ${real})`);
  }
  const st = await stat(real).catch((err: unknown) => {
    throw fsError(err, requested);
  });
  // A FIFO or device would block or never end: only regular files are read.
  if (!st.isFile()) throw new WorkspaceError('bad-request', `not a regular file: ${requested}`);
  const want = Math.min(st.size, maxBytes);
  const buf = Buffer.alloc(want);
  let got = 0;
  const fh = await open(real, 'r').catch((err: unknown) => {
    throw fsError(err, requested);
  });
  try {
    while (got < want) {
      const { bytesRead } = await fh.read(buf, got, want - got, got);
      if (bytesRead === 0) break; // shrank while reading
      got += bytesRead;
    }
  } finally {
    await fh.close();
  }
  const truncated = st.size > got;
  // stream: true holds back a character cut at the cap instead of turning it into U+FFFD.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(buf.subarray(0, got), { stream: truncated });
  return { text, size: st.size, truncated };
}
