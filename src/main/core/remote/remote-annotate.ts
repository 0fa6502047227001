/**
 * Notes, tags, star and archive of remote experiments (issue 12): the
 * change is applied here, by the same code as for a local folder
 * (workspace/annotations.ts), and the helper's `annotate` writes the
 * result into the experiment's expdesk_notes.json on the remote —
 * atomically (a temporary file created exclusively beside it, fsynced,
 * renamed over it), relative to the folder's descriptor, refusing a link or
 * anything but a regular file at the name. One round trip reads every
 * experiment's notes, one writes them all; a write says which text it was
 * based on, and a file changed meanwhile (another client) is read again and
 * the change applied to it, so no one's edit is lost.
 */
import type { AnnotationChange, Annotations } from '../../../shared/annotations';
import { annotatedText } from '../workspace/annotations';
import { callRemote, RemoteOpError, type HelperHost } from './remote-python';

/** Rounds of "changed meanwhile" before giving up (each is another client's write in between). */
const MAX_ROUNDS = 5;

/** An answer's item: the error it carries thrown, else the file's bytes as the helper sent them (base64, null: none). */
function currentOf(it: { error: [string, string] } | { current: string | null }): string | null {
  if ('error' in it) throw new RemoteOpError(it.error[0] as RemoteOpError['code'], it.error[1]);
  return it.current;
}

const textOf = (b64: string | null): string | null =>
  b64 === null ? null : Buffer.from(b64, 'base64').toString('utf8');

export async function annotateRemote(
  conn: HelperHost,
  dirs: string[],
  change: AnnotationChange,
): Promise<Annotations[]> {
  const read = await callRemote(
    conn,
    { op: 'annotate', items: dirs.map((d) => ({ exp_dir: d })) },
    { retry: true },
  );
  // The bytes each write is based on, exactly as read (a file that is not UTF-8 still compares equal).
  const current = read.items.map(currentOf);
  const out = new Array<Annotations>(dirs.length);
  let pending = dirs.map((_, i) => i);
  for (let round = 0; pending.length > 0; round++) {
    if (round >= MAX_ROUNDS)
      throw new RemoteOpError('internal', `${dirs[pending[0]!]}: its notes keep changing; not written`);
    const made = pending.map((i) => ({ i, ...annotatedText(textOf(current[i] ?? null), change) }));
    // Not retried: a write that went through but whose answer was lost would read as a conflict.
    const wrote = await callRemote(conn, {
      op: 'annotate',
      items: made.map(({ i, text }) => ({
        exp_dir: dirs[i]!,
        data: Buffer.from(text, 'utf8').toString('base64'),
        expected: current[i] ?? null,
      })),
    });
    const next: number[] = [];
    wrote.items.forEach((it, k) => {
      const { i, next: result } = made[k]!;
      const now = currentOf(it);
      if ('written' in it && it.written) out[i] = result;
      else {
        current[i] = now;
        next.push(i);
      }
    });
    pending = next;
  }
  return out;
}
