/**
 * Where Expdesk's own files are: the package root (for the built renderer and
 * the bundled demo workspace) and the per-user cache. Works from the source
 * tree (tsx), from the bundled out/ folder and from a packaged app, whose
 * resources electron-builder copies to process.resourcesPath.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** The folder holding Expdesk's package.json. */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string };
        if (pkg.name === 'expdesk') return (cachedRoot = dir);
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return (cachedRoot = process.cwd());
}

export function expdeskVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The bundled demo project (resources/demo), or null when it is not shipped. */
export function demoWorkspaceDir(): string | null {
  const candidates = [path.join(packageRoot(), 'resources', 'demo')];
  const resourcesPath = (process as NodeJS.Process & { resourcesPath?: string }).resourcesPath;
  if (resourcesPath) candidates.unshift(path.join(resourcesPath, 'demo'));
  return candidates.find((c) => existsSync(c)) ?? null;
}

/** The built renderer served to browsers and loaded by the Electron window. */
export function rendererDir(): string {
  return path.join(packageRoot(), 'out', 'renderer');
}

/**
 * Per-user cache: EXPDESK_CACHE_DIR, else $XDG_CACHE_HOME/expdesk, else
 * ~/.cache/expdesk. Never inside an experiment folder: analysis is read-only.
 */
export function userCacheDir(): string {
  if (process.env.EXPDESK_CACHE_DIR) return path.resolve(process.env.EXPDESK_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'expdesk');
}

/**
 * Per-user state that must not live in an experiment folder (folders are not
 * trusted): EXPDESK_STATE_DIR, else $XDG_STATE_HOME/expdesk, else
 * ~/.local/state/expdesk. Holds the records of the runs Expdesk started.
 */
export function userStateDir(): string {
  if (process.env.EXPDESK_STATE_DIR) return path.resolve(process.env.EXPDESK_STATE_DIR);
  const base = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'expdesk');
}

/** The wrapper's system sampler (resources/runner/expdesk_system.py), beside the wrapper. */
export function systemSamplerScript(): string {
  return path.join(path.dirname(runnerScript()), 'expdesk_system.py');
}

/** The run wrapper (resources/runner/expdesk_run.py), shipped beside the code. */
export function runnerScript(): string {
  const resourcesPath = (process as NodeJS.Process & { resourcesPath?: string }).resourcesPath;
  const candidates = [path.join(packageRoot(), 'resources', 'runner', 'expdesk_run.py')];
  if (resourcesPath) candidates.unshift(path.join(resourcesPath, 'runner', 'expdesk_run.py'));
  return candidates.find((c) => existsSync(c)) ?? candidates[candidates.length - 1]!;
}
