/**
 * Issue 10: whether a location is remote is decided in one place. Outside
 * src/shared/remote-location.ts (which parses), only the files below may call
 * isRemoteLocation or parseRemoteLocation; every face (host, server, CLI)
 * resolves a location to its experiment backend through
 * src/main/core/backend/resolve.ts instead. A new call site anywhere else
 * fails this test with its file and line: route it through resolveBackend.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const SRC = path.join(ROOT, 'src');

/** Files allowed to call them, and why. Shrink this list; never grow it. */
const ALLOWED: Record<string, string> = {
  // The one decision: which backend serves a location.
  'src/main/core/backend/resolve.ts': 'the resolver',
  // The SSH backend's own parsing of locations already routed to it (endpoint and path), not a decision.
  'src/main/core/remote/pool.ts': 'parses an SSH location into its endpoint',
  'src/main/core/remote/remote-watcher.ts': 'parses watched SSH locations into endpoints',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.(ts|tsx)$/.test(name) ? [p] : [];
  });
}

function callSites(): Array<{ file: string; line: number; text: string }> {
  const out: Array<{ file: string; line: number; text: string }> = [];
  for (const file of sourceFiles(SRC)) {
    const rel = path.relative(ROOT, file).split(path.sep).join('/');
    if (rel === 'src/shared/remote-location.ts') continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((text, i) => {
        if (/\b(isRemoteLocation|parseRemoteLocation)\s*\(/.test(text))
          out.push({ file: rel, line: i + 1, text: text.trim() });
      });
  }
  return out;
}

describe('where a location is decided to be remote', () => {
  it('is only in the allowed files (the backend resolver, and run commands until they have executors)', () => {
    const stray = callSites()
      .filter((c) => !(c.file in ALLOWED))
      .map((c) => `${c.file}:${c.line}: ${c.text}`);
    expect(stray).toEqual([]);
  });

  it('the allowed list is no longer than needed (a file that stopped deciding is removed from it)', () => {
    const files = new Set(callSites().map((c) => c.file));
    expect(Object.keys(ALLOWED).filter((f) => !files.has(f))).toEqual([]);
  });

  it('the host, the server and the analysis commands of the CLI resolve backends, never test for remote', () => {
    const faces = callSites().filter((c) =>
      /^src\/(main\/host|main\/server|main\/electron|renderer)\//.test(c.file),
    );
    expect(faces).toEqual([]);
    for (const f of ['src/cli/commands.ts', 'src/cli/bundle.ts', 'src/cli/serve.ts', 'src/cli/remote.ts'])
      expect(callSites().filter((c) => c.file === f)).toEqual([]);
  });
});
