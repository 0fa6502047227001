/**
 * The CLI bundle built fresh into a temporary folder (with esbuild's
 * metafile, which says which sources each chunk holds), and runs of it under
 * a loader hook (./import-log.mjs) that records every module the process
 * loads: what a command loads is then a fact a test can check.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { REPO } from './cli';

export interface Built {
  root: string;
  bin: string;
  /** Each output file (absolute, real path) and the sources it holds (as esbuild names them). */
  chunks: Map<string, string[]>;
}

export function buildCliBundle(): Built {
  // Outside the checkout, with its node_modules beside it for the packages the bundle leaves out.
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'expdesk-list-loads-')));
  symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'));
  const outdir = path.join(root, 'out', 'cli');
  const metafile = path.join(root, 'meta.json');
  execFileSync(process.execPath, [
    path.join(REPO, 'scripts/build-cli.mjs'),
    '--outdir',
    outdir,
    '--metafile',
    metafile,
  ]);
  const meta = JSON.parse(readFileSync(metafile, 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, unknown> }>;
  };
  const chunks = new Map<string, string[]>();
  for (const [out, o] of Object.entries(meta.outputs))
    chunks.set(realpathSync(path.resolve(REPO, out)), Object.keys(o.inputs));
  return { root, bin: path.join(outdir, 'expdesk.mjs'), chunks };
}

export interface Ran {
  stdout: string;
  /** Every source and package file the run loaded: the bundle's chunks' inputs, and external files. */
  loaded: string[];
}

/** `expdesk ARGS` from the bundle under the loader hook; what it printed and what it loaded. */
export function runLogged(built: Built, args: string[], cache: string, env: NodeJS.ProcessEnv = {}): Ran {
  const log = path.join(built.root, `imports-${Date.now()}-${Math.random()}.log`);
  const r = spawnSync(
    process.execPath,
    ['--import', path.join(REPO, 'tests/helpers/import-log.mjs'), built.bin, ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, ...env, EXPDESK_CACHE_DIR: cache, EXPDESK_IMPORT_LOG: log },
      timeout: 60_000,
    },
  );
  if (r.status !== 0) throw new Error(`expdesk ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const loaded: string[] = [];
  for (const url of urls) {
    if (!url.startsWith('file:')) continue; // node: builtins
    const file = realpathSync(fileURLToPath(url));
    loaded.push(...(built.chunks.get(file) ?? [file]));
  }
  expect(loaded.length, 'the hook saw the bundle load').toBeGreaterThan(5);
  return { stdout: r.stdout, loaded };
}
