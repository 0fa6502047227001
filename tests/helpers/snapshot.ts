/**
 * A fingerprint of a folder tree (paths, sizes, mtimes, contents' hashes) to
 * prove that analysis never writes into an experiment folder.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export function treeSnapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    const st = statSync(dir);
    out[path.relative(root, dir) || '.'] = `dir mtime=${st.mtimeMs}`;
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else {
        const hash = createHash('sha256').update(readFileSync(p)).digest('hex');
        out[path.relative(root, p)] = `size=${s.size} mtime=${s.mtimeMs} sha=${hash}`;
      }
    }
  };
  walk(root);
  return out;
}
