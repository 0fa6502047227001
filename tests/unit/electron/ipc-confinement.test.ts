/**
 * GitHub Desktop's rule, as a test: the typed wrappers are the only code that
 * touches Electron's IPC. ipcMain only in src/main/electron/ipc.ts, ipcRenderer
 * only in src/preload/index.ts, and the preload never hands ipcRenderer (or
 * the electron module) to the page.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../../..');
const SRC = path.join(ROOT, 'src');

const ALLOWED: Record<string, string> = {
  ipcMain: 'src/main/electron/ipc.ts',
  ipcRenderer: 'src/preload/index.ts',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : /\.(ts|tsx|mts|cts)$/.test(name) ? [p] : [];
  });
}

/** Names a file imports from 'electron' (named imports, or the whole module). */
function electronImports(text: string): string[] {
  const names: string[] = [];
  const re =
    /import\s+(type\s+)?([^'";]*?)\s+from\s+['"]electron(?:\/[^'"]*)?['"]|require\(\s*['"]electron['"]\s*\)/g;
  for (const m of text.matchAll(re)) {
    if (m[1]) continue; // type-only imports do nothing at run time
    const clause = m[2];
    if (clause === undefined) {
      names.push('*');
      continue;
    }
    const braces = /\{([^}]*)\}/.exec(clause);
    if (braces) {
      for (const part of braces[1]!.split(',')) {
        const spec = part.trim();
        if (!spec || spec.startsWith('type ')) continue;
        names.push(spec.split(/\s+as\s+/)[0]!.trim());
      }
    }
    if (/^\s*(\*\s+as\s+\w+|\w+)\s*(,|$)/.test(clause)) names.push('*');
  }
  return names;
}

describe('IPC confinement', () => {
  const files = sourceFiles(SRC).map((f) => ({
    rel: path.relative(ROOT, f).split(path.sep).join('/'),
    text: readFileSync(f, 'utf8'),
  }));

  it('only the wrappers import ipcMain / ipcRenderer, and nobody imports electron wholesale', () => {
    const found: string[] = [];
    for (const { rel, text } of files) {
      for (const name of electronImports(text)) {
        if (name === '*') found.push(`${rel}: imports the whole electron module`);
        const allowed = ALLOWED[name];
        if (allowed && allowed !== rel) found.push(`${rel}: imports ${name} (only ${allowed} may)`);
      }
    }
    expect(found).toEqual([]);
  });

  it('the preload exposes no Electron object to the page', () => {
    const preload = readFileSync(path.join(SRC, 'preload', 'index.ts'), 'utf8');
    const exposed = [...preload.matchAll(/(?:exposeInMainWorld|executeInMainWorld)\(([\s\S]*?)\);/g)].map(
      (m) => m[1]!,
    );
    expect(exposed.length).toBeGreaterThan(0);
    for (const args of exposed) expect(args).not.toMatch(/ipcRenderer|contextBridge|webUtils|require/);
  });

  it('the import scanner sees what it must', () => {
    expect(electronImports("import { ipcMain, app as a } from 'electron';")).toEqual(['ipcMain', 'app']);
    expect(electronImports("import { type Session, protocol } from 'electron';")).toEqual(['protocol']);
    expect(electronImports("import type { WebContents } from 'electron';")).toEqual([]);
    expect(electronImports("import * as electron from 'electron';")).toEqual(['*']);
    expect(electronImports("import electron from 'electron';")).toEqual(['*']);
    expect(electronImports("const e = require('electron');")).toEqual(['*']);
  });
});
