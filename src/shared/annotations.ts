/**
 * Notes, tags, star and archive of an experiment: what the user says about a
 * run, kept in one small JSON file in its folder (`expdesk_notes.json`,
 * written only when the user asks, atomically) so it travels with the
 * folder. Pure: parsing an untrusted file's value, and applying a change.
 * Plain data, no zod: the renderer imports it.
 */

export interface Annotations {
  tags: string[];
  note: string;
  starred: boolean;
  archived: boolean;
}

/** A change the user asked for; what it leaves out stays as it was. */
export interface AnnotationChange {
  addTags?: string[];
  removeTags?: string[];
  note?: string;
  starred?: boolean;
  archived?: boolean;
}

export const EMPTY_ANNOTATIONS: Annotations = { tags: [], note: '', starred: false, archived: false };

/** The longest note kept (a note is a few lines, not a document). */
export const MAX_NOTE_CHARS = 10_000;
const MAX_TAGS = 100;

/** Why a tag cannot be used, or null: one word of letters, digits and `_-.:/=`, at most 64 characters. */
export function tagProblem(tag: string): string | null {
  if (!/^[\p{L}\p{N}_\-.:/=]{1,64}$/u.test(tag)) {
    return `not a tag: ${JSON.stringify(tag)} (one word of letters, digits and _-.:/=, at most 64 characters)`;
  }
  return null;
}

/** The annotations of a parsed file; anything malformed in it is left out (the file is untrusted). */
export function annotationsFrom(value: unknown): Annotations {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ...EMPTY_ANNOTATIONS };
  const v = value as Record<string, unknown>;
  const tags = Array.isArray(v.tags)
    ? [...new Set(v.tags.filter((t): t is string => typeof t === 'string' && tagProblem(t) === null))]
    : [];
  return {
    tags: tags.slice(0, MAX_TAGS),
    note: typeof v.note === 'string' ? v.note.slice(0, MAX_NOTE_CHARS) : '',
    starred: v.starred === true,
    archived: v.archived === true,
  };
}

/** `a` with `change` applied (tags added in order, removed ones dropped). */
export function applyAnnotationChange(a: Annotations, change: AnnotationChange): Annotations {
  const remove = new Set(change.removeTags ?? []);
  const tags = a.tags.filter((t) => !remove.has(t));
  for (const t of change.addTags ?? []) if (!tags.includes(t) && !remove.has(t)) tags.push(t);
  return {
    tags: tags.slice(0, MAX_TAGS),
    note: change.note !== undefined ? change.note.slice(0, MAX_NOTE_CHARS) : a.note,
    starred: change.starred ?? a.starred,
    archived: change.archived ?? a.archived,
  };
}

/** `+baseline -old` arguments as a change; a word without + or - is an error. */
export function parseTagEdits(words: string[]): { change: AnnotationChange; problem: string | null } {
  const addTags: string[] = [];
  const removeTags: string[] = [];
  for (const w of words) {
    const tag = w.slice(1);
    if (w[0] !== '+' && w[0] !== '-') return { change: {}, problem: `a tag edit starts with + or -: ${w}` };
    const p = tagProblem(tag);
    if (p) return { change: {}, problem: p };
    (w[0] === '+' ? addTags : removeTags).push(tag);
  }
  return { change: { addTags, removeTags }, problem: null };
}
