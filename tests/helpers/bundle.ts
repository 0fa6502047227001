/**
 * Helpers for bundle tests: unpack a bundle as a receiver would and check
 * its MANIFEST (./bundle-unpack.ts), and run its reproduce.sh with a PATH
 * that holds no node and no expdesk.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

export { checkManifest, filesUnder, unpackBundle } from './bundle-unpack';

/** The real interpreter behind python3 (here a pyenv shim, which needs pyenv on PATH). */
export function realPython(): string {
  return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
}

const NOT_ON_PATH = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack', 'expdesk']);

/** Folders of links, made once per test file (linking all of /usr/bin takes a second). */
const binDirs = new Map<string, string>();
afterAll(() => {
  for (const dir of binDirs.values()) rmSync(dir, { recursive: true, force: true });
  binDirs.clear();
});

/**
 * A PATH for a machine that has the bundle but no Node and no Expdesk: the
 * real python's folder first, then a folder of links to every program in
 * /usr/bin and /bin except node, npm, npx and expdesk (and, on request, git
 * and patch, or every python).
 */
export function receiverPath(opts: { noGit?: boolean; noPatch?: boolean; noPython?: boolean } = {}): string {
  const key = JSON.stringify([Boolean(opts.noGit), Boolean(opts.noPatch), Boolean(opts.noPython)]);
  let binDir = binDirs.get(key);
  if (!binDir) {
    binDir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-receiver-bin-'));
    binDirs.set(key, binDir);
    const skip = (name: string): boolean =>
      NOT_ON_PATH.has(name) ||
      (Boolean(opts.noGit) && name.startsWith('git')) ||
      (Boolean(opts.noPatch) && name === 'patch') ||
      (Boolean(opts.noPython) && name.startsWith('python'));
    for (const dir of ['/usr/bin', '/bin']) {
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        if (skip(name) || existsSync(path.join(binDir, name))) continue;
        symlinkSync(path.join(dir, name), path.join(binDir, name));
      }
    }
  }
  return opts.noPython ? binDir : `${path.dirname(realPython())}:${binDir}`;
}

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The last line of stdout: the new experiment folder. */
  last: string;
}

/** Run the unpacked bundle's reproduce.sh with only `PATH` (and HOME) in its environment. */
export function runReproduce(bundleDir: string, args: string[], envPath: string, cwd?: string): ScriptResult {
  const r = spawnSync('/bin/bash', [path.join(bundleDir, 'reproduce.sh'), ...args], {
    cwd: cwd ?? bundleDir,
    encoding: 'utf8',
    env: { PATH: envPath, HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' },
    timeout: 120_000,
  });
  const lines = r.stdout.trimEnd().split('\n');
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, last: lines[lines.length - 1] ?? '' };
}
