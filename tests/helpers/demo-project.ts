/**
 * For vitest files that launch real runs: the demo's configs and train.py in
 * a fresh git repository, and a private tmux server for the whole file.
 */
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { REPO } from './cli';
import { initRepo } from './git';
import { tmpDir } from './tmp';
import { privateTmux } from './tmux';

/** A project holding the demo's configs/ and train.py, committed; `.gitignore` when given. */
export function demoProject(prefix = 'expdesk-proj-', gitignore: string | null = '*.ckpt\n'): string {
  const dir = tmpDir(prefix);
  cpSync(path.join(REPO, 'resources/demo/configs'), path.join(dir, 'configs'), { recursive: true });
  cpSync(path.join(REPO, 'resources/demo/train.py'), path.join(dir, 'train.py'));
  if (gitignore !== null) writeFileSync(path.join(dir, '.gitignore'), gitignore);
  initRepo(dir);
  return dir;
}

/** A private tmux server started before the file's tests and killed after them. */
export function usePrivateTmux(): { readonly env: Record<string, string> } {
  let tmux: ReturnType<typeof privateTmux> | null = null;
  beforeAll(() => {
    tmux = privateTmux();
  });
  afterAll(() => tmux?.cleanup());
  return {
    get env(): Record<string, string> {
      if (!tmux) throw new Error('usePrivateTmux: the tmux server starts in beforeAll');
      return tmux.env;
    },
  };
}
