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
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { isInside } from '../fs/confine';
import { readRegularHead } from '../fs/safe-read';
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
  // Opened without following a link (the path is resolved) and without blocking (a FIFO);
  // the opened file must be regular: a FIFO or device would block or never end.
  const { data, size } = await readRegularHead(real, maxBytes, { noFollow: true, label: requested }).catch(
    (err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTREG' || code === 'ELOOP')
        throw new WorkspaceError('bad-request', (err as Error).message);
      throw fsError(err, requested);
    },
  );
  const got = data.length;
  const buf = data;
  const truncated = size > got;
  // stream: true holds back a character cut at the cap instead of turning it into U+FFFD.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(buf.subarray(0, got), { stream: truncated });
  return { text, size, truncated };
}
