/**
 * The uncommitted patch recorded at launch, against a real git repository:
 * applied to a clean checkout of HEAD it gives back the working tree, also
 * when the project's .gitignore lists the experiments folder itself (a
 * common layout, where `git add -N` exits 1 after doing its work).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeUncommittedPatch } from '../../../../../src/main/core/capture/git';
import { git, initRepo } from '../../../../helpers/git';
import { tmpDir } from '../../../../helpers/tmp';

function dirtyProject(gitignore: string): string {
  const proj = tmpDir('expdesk-patch-');
  writeFileSync(path.join(proj, 'train.py'), 'print("v1")\n');
  writeFileSync(path.join(proj, '.gitignore'), gitignore);
  initRepo(proj);
  writeFileSync(path.join(proj, 'train.py'), 'print("v2")\n');
  writeFileSync(path.join(proj, 'new_module.py'), 'X = 1\n');
  mkdirSync(path.join(proj, 'experiments', 'exp001'), { recursive: true });
  writeFileSync(path.join(proj, 'experiments', 'exp001', 'metadata.json'), '{}\n');
  return proj;
}

async function patchOf(proj: string): Promise<{ text: string; complete: boolean; error?: string }> {
  const out = path.join(tmpDir('expdesk-patch-out-'), 'uncommitted.patch');
  const r = await writeUncommittedPatch(proj, out, undefined, [path.join(proj, 'experiments')]);
  return { text: readFileSync(out, 'utf8'), complete: r.complete, error: r.error };
}

describe('the uncommitted patch', () => {
  for (const [label, gitignore] of [
    ['experiments/ not ignored', '*.ckpt\n'],
    ['experiments/ listed in .gitignore', 'experiments/\n*.ckpt\n'],
  ] as const) {
    it(`holds every change and untracked file, never the experiments (${label})`, async () => {
      const proj = dirtyProject(gitignore);
      const patch = await patchOf(proj);
      expect(patch.error).toBeUndefined();
      expect(patch.complete).toBe(true);
      expect(patch.text).toContain('new_module.py');
      expect(patch.text).not.toContain('experiments/exp001');
      // Applied to a fresh clone of HEAD, it reproduces the tree.
      const clone = tmpDir('expdesk-patch-clone-');
      git(clone, 'clone', '-q', proj, '.');
      const patchFile = path.join(clone, '..', `${path.basename(clone)}.patch`);
      writeFileSync(patchFile, patch.text);
      execFileSync('git', ['apply', '--whitespace=nowarn', patchFile], { cwd: clone });
      expect(readFileSync(path.join(clone, 'train.py'), 'utf8')).toBe('print("v2")\n');
      expect(readFileSync(path.join(clone, 'new_module.py'), 'utf8')).toBe('X = 1\n');
    });
  }
});
