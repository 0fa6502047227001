/**
 * Writing an experiment's notes, tags, star and archive flag
 * (`expdesk_notes.json`, src/shared/annotations.ts) — the one file analysis
 * writes into an experiment folder, and only when the user asks (a CLI
 * command, an edit in the interface). Atomic: a temporary file created
 * exclusively beside it, fsynced, renamed over it (a link at the name is
 * replaced, never followed). The seed's readers never open it: they read
 * config.yaml, metadata.json and logs/metrics.jsonl by name.
 */
import { randomBytes } from 'node:crypto';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import {
  annotationsFrom,
  applyAnnotationChange,
  type AnnotationChange,
  type Annotations,
} from '../../../shared/annotations';
import { experimentDirState, permissionDenied, WorkspaceError } from './discover';
import { jsonObjectFromText, readSmallFile } from './small-file-text';
import { LAYOUT } from './layout';

/** The annotations of a folder's file text (missing or malformed: none). */
export function annotationsFromText(text: string | null): Annotations {
  if (text === null) return annotationsFrom(null);
  return annotationsFrom(jsonObjectFromText({ text }, LAYOUT.annotations).value);
}

/** The file text that records `change` over a file holding `current` (null: no file), and the result. */
export function annotatedText(
  current: string | null,
  change: AnnotationChange,
): { next: Annotations; text: string } {
  const next = applyAnnotationChange(annotationsFromText(current), change);
  const doc = { ...next, updated_at: new Date().toISOString() };
  return { next, text: `${JSON.stringify(doc, null, 2)}\n` };
}

async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Apply `change` to the annotations of the experiment at `dir`; returns what was written. */
export async function annotateExperiment(dir: string, change: AnnotationChange): Promise<Annotations> {
  const state = await experimentDirState(dir).catch(() => 'none' as const);
  if (state === 'unreadable') throw permissionDenied(dir);
  if (state === 'none') throw new WorkspaceError('not-found', `${dir} is not an experiment`);
  const file = path.join(dir, LAYOUT.annotations);
  const st = await lstat(file).catch(() => null);
  if (st && !st.isFile()) {
    throw new WorkspaceError(
      'bad-request',
      `${LAYOUT.annotations} in ${dir} is not a regular file; not replaced`,
    );
  }
  const current = st ? await readSmallFile(file, LAYOUT.annotations) : { text: null };
  const { next, text } = annotatedText(current.text, change);
  try {
    await writeFileAtomic(file, text);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new WorkspaceError(
        'forbidden',
        `cannot write ${LAYOUT.annotations} in ${dir}: ${(err as Error).message}`,
      );
    }
    throw err;
  }
  return next;
}
