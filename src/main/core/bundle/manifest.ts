/**
 * MANIFEST: one `sha256  relative/path` line per file of the bundle (except
 * MANIFEST itself), in the format of GNU sha256sum, so `sha256sum -c MANIFEST`
 * checks an unpacked bundle with no Expdesk at hand. Names holding a
 * backslash or a newline are escaped the way sha256sum escapes them (the line
 * then starts with a backslash).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export const MANIFEST_NAME = 'MANIFEST';

export interface ManifestEntry {
  path: string;
  sha256: string;
}

export function manifestLine(e: ManifestEntry): string {
  if (/[\\\n]/.test(e.path)) {
    return `\\${e.sha256}  ${e.path.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n`;
  }
  return `${e.sha256}  ${e.path}\n`;
}

/** The MANIFEST text, sorted by path so two exports of the same files list them alike. */
export function manifestText(entries: ManifestEntry[]): string {
  return [...entries]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map(manifestLine)
    .join('');
}

/** Parse a MANIFEST (for checking an unpacked bundle); unknown lines are errors. */
export function parseManifest(text: string): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    if (!raw) continue;
    const escaped = raw.startsWith('\\');
    const line = escaped ? raw.slice(1) : raw;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new Error(`MANIFEST line ${i + 1} is not "sha256  path": ${JSON.stringify(raw)}`);
    const p = escaped ? m[2]!.replace(/\\(\\|n)/g, (_s, c: string) => (c === 'n' ? '\n' : '\\')) : m[2]!;
    out.push({ sha256: m[1]!, path: p });
  }
  return out;
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => hash.update(c))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
