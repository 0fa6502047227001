/**
 * The files an uncommitted.patch changes (`git diff --binary` output, as
 * Expdesk's capture writes it), and two such patches side by side: which
 * files only one run had changed, and which both had changed alike or
 * differently. Pure: the Diff view and `expdesk diff` read it the same way.
 */

export interface PatchFile {
  path: string;
  status: 'added' | 'deleted' | 'modified' | 'renamed' | 'binary';
  added: number;
  removed: number;
}

export interface PatchSection extends PatchFile {
  /** The section's text, for telling two patches' changes of one file apart. */
  text: string;
}

export interface PatchCompareRow {
  path: string;
  a: PatchFile | null;
  b: PatchFile | null;
  /** Both patches change the file in exactly the same way. */
  same: boolean;
}

const HEADER = /^diff --git a\/(.*) b\/(.*)$/;

/** Split a patch into its per-file sections with their line counts. */
export function patchSections(text: string): PatchSection[] {
  const out: PatchSection[] = [];
  let cur: PatchSection | null = null;
  let lines: string[] = [];
  const close = (): void => {
    if (cur) out.push({ ...cur, text: lines.join('\n') });
  };
  for (const line of text.split('\n')) {
    const h = HEADER.exec(line);
    if (h) {
      close();
      cur = { path: h[2]!, status: 'modified', added: 0, removed: 0, text: '' };
      lines = [line];
      continue;
    }
    if (!cur) continue;
    lines.push(line);
    if (line.startsWith('new file mode')) cur.status = 'added';
    else if (line.startsWith('deleted file mode')) cur.status = 'deleted';
    else if (line.startsWith('rename to ')) cur.status = 'renamed';
    else if (line.startsWith('GIT binary patch') || line.startsWith('Binary files ')) cur.status = 'binary';
    else if (line.startsWith('+++ ') || line.startsWith('--- ')) continue;
    else if (line.startsWith('+')) cur.added++;
    else if (line.startsWith('-')) cur.removed++;
  }
  close();
  return out;
}

/** Every file either patch changes, by path: in which patch, and whether both change it alike. */
export function comparePatches(a: string | null, b: string | null): PatchCompareRow[] {
  const sa = new Map(patchSections(a ?? '').map((s) => [s.path, s]));
  const sb = new Map(patchSections(b ?? '').map((s) => [s.path, s]));
  const paths = [...new Set([...sa.keys(), ...sb.keys()])].sort();
  const strip = (s: PatchSection | undefined): PatchFile | null => {
    if (!s) return null;
    const { text: _t, ...f } = s;
    return f;
  };
  return paths.map((p) => {
    const x = sa.get(p);
    const y = sb.get(p);
    // The index line names blob ids, which differ only when the contents do.
    return { path: p, a: strip(x), b: strip(y), same: Boolean(x && y && x.text === y.text) };
  });
}
