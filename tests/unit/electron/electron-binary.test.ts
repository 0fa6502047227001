/**
 * Finding the Electron binary without triggering Electron 45's download
 * (scripts/electron-binary.mjs, used by npm start and the smoke test). Also
 * start.mjs's translation of app arguments to `expdesk serve` arguments and
 * its staleness check.
 */
import { chmodSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { findElectronBinary, type ElectronBinary } from '../../../scripts/electron-binary.mjs';
import { tmpDir } from '../../helpers/tmp';

type Finder = (dir: string, env?: NodeJS.ProcessEnv, platform?: NodeJS.Platform) => ElectronBinary;
interface StartModule {
  findElectronBinary: Finder;
  serveArgs(args: string[]): string[];
  staleReason(root: string): string | null;
}

const ROOT = path.resolve(__dirname, '../../..');
let start: StartModule;

beforeAll(async () => {
  // A plain .mjs without type declarations: its shape is asserted by the tests below.
  start = (await import(pathToFileURL(path.join(ROOT, 'scripts', 'start.mjs')).href)) as StartModule;
});

function fakeElectronPackage(options: {
  pathTxt?: string;
  binary?: 'executable' | 'plain' | 'none';
}): string {
  const dir = tmpDir('expdesk-electron-pkg-');
  if (options.pathTxt !== undefined) writeFileSync(path.join(dir, 'path.txt'), options.pathTxt);
  if (options.binary && options.binary !== 'none') {
    mkdirSync(path.join(dir, 'dist'), { recursive: true });
    const bin = path.join(dir, 'dist', 'electron');
    writeFileSync(bin, '#!/bin/sh\n');
    chmodSync(bin, options.binary === 'executable' ? 0o755 : 0o644);
  }
  return dir;
}

describe('findElectronBinary', () => {
  const finder = (): Finder => findElectronBinary;
  it('is the one npm start uses', () => {
    expect(start.findElectronBinary).toBe(findElectronBinary);
  });

  const env = {};
  it('reports a never-downloaded binary (no path.txt) with the path it looked for', () => {
    const dir = fakeElectronPackage({});
    const found = finder()(dir, env, 'linux');
    expect(found).toMatchObject({ available: false, path: path.join(dir, 'dist', 'electron') });
    expect(found.reason).toMatch(/path\.txt is missing/);
  });

  it('reports a recorded but absent binary', () => {
    const dir = fakeElectronPackage({ pathTxt: 'electron', binary: 'none' });
    expect(finder()(dir, env, 'linux')).toMatchObject({
      available: false,
      reason: expect.stringMatching(/does not exist/),
    });
  });

  it.skipIf(process.platform === 'win32')('reports a binary that is not executable', () => {
    const dir = fakeElectronPackage({ pathTxt: 'electron', binary: 'plain' });
    expect(finder()(dir, env, 'linux')).toMatchObject({
      available: false,
      reason: expect.stringMatching(/not executable/),
    });
  });

  it('finds an installed binary', () => {
    const dir = fakeElectronPackage({ pathTxt: 'electron', binary: 'executable' });
    expect(finder()(dir, env, 'linux')).toEqual({
      path: path.join(dir, 'dist', 'electron'),
      available: true,
      reason: '',
    });
  });

  it('honours ELECTRON_OVERRIDE_DIST_PATH like electron/index.js', () => {
    const dist = fakeElectronPackage({ pathTxt: 'electron', binary: 'executable' });
    const pkg = fakeElectronPackage({});
    const found = finder()(pkg, { ELECTRON_OVERRIDE_DIST_PATH: path.join(dist, 'dist') }, 'linux');
    expect(found).toMatchObject({ available: true, path: path.join(dist, 'dist', 'electron') });
  });
});

describe('start.mjs', () => {
  it('passes a bare folder to serve as --workspace, keeping serve options and their values', () => {
    expect(start.serveArgs([])).toEqual(['serve']);
    expect(start.serveArgs(['/data/runs'])).toEqual(['serve', '--workspace', '/data/runs']);
    expect(start.serveArgs(['--port', '0', 'runs'])).toEqual(['serve', '--port', '0', '--workspace', 'runs']);
    expect(start.serveArgs(['--workspace', 'a'])).toEqual(['serve', '--workspace', 'a']);
    expect(start.serveArgs(['--workspace=a', '--host', '127.0.0.1'])).toEqual([
      'serve',
      '--workspace=a',
      '--host',
      '127.0.0.1',
    ]);
  });

  it('rebuilds when an output is missing or older than a source', () => {
    const root = tmpDir('expdesk-start-');
    mkdirSync(path.join(root, 'src', 'main'), { recursive: true });
    writeFileSync(path.join(root, 'src', 'main', 'a.ts'), '');
    expect(start.staleReason(root)).toMatch(/out\/main\/index\.js is missing/);
    for (const out of ['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html']) {
      mkdirSync(path.dirname(path.join(root, out)), { recursive: true });
      writeFileSync(path.join(root, out), '');
    }
    const past = new Date(Date.now() - 60_000);
    utimesSync(path.join(root, 'src', 'main', 'a.ts'), past, past);
    utimesSync(path.join(root, 'src', 'main'), past, past);
    utimesSync(path.join(root, 'src'), past, past);
    expect(start.staleReason(root)).toBeNull();
    const future = new Date(Date.now() + 60_000);
    utimesSync(path.join(root, 'src', 'main', 'a.ts'), future, future);
    expect(start.staleReason(root)).toMatch(/sources changed/);
  });
});
