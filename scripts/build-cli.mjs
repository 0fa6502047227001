#!/usr/bin/env node
// Build the `expdesk` command into out/cli/: one esbuild ESM bundle whose
// entry (expdesk.mjs) holds what every command needs, and whose commands that
// need heavy modules (run: node-pty; remote: ssh2; export: archiver, tar;
// serve: ws and the renderer) sit in chunks the entry imports only when such
// a command runs (esbuild's code splitting of the CLI's dynamic imports).
// bin/expdesk.mjs runs it when it is newer than every file in src/.
import { build } from 'esbuild';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// `--outdir DIR` builds elsewhere (the packaging test builds into a staged copy of the package).
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]) : join(root, 'out', 'cli');
// `--metafile FILE` writes esbuild's metafile (which sources each chunk holds) for tests of what a command loads.
const mf = process.argv.indexOf('--metafile');
const metafile = mf > 0 && process.argv[mf + 1] ? resolve(process.argv[mf + 1]) : null;

// Native or heavy packages stay installed dependencies, imported from the chunks that need them.
const EXTERNAL = ['node-pty', 'ssh2', 'ws', 'archiver', 'tar', 'yauzl'];

rmSync(outdir, { recursive: true, force: true });
const started = Date.now();
const result = await build({
  absWorkingDir: root,
  entryPoints: { expdesk: 'src/cli/index.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  // ESM builds of yaml and zod; CommonJS packages bundled in still get a require().
  mainFields: ['module', 'main'],
  banner: {
    js: "import { createRequire as __expdeskRequire } from 'node:module'; const require = __expdeskRequire(import.meta.url);",
  },
  external: EXTERNAL,
  // The bundle's id: what `expdesk list` keeps for a folder is for this build only (src/cli/list-snapshot.ts).
  define: {
    __EXPDESK_BUILD__: JSON.stringify(`${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`),
  },
  minify: true,
  // Function and class names stay: error messages and stack traces name them.
  keepNames: true,
  logLevel: 'warning',
  metafile: metafile !== null,
});
if (metafile) writeFileSync(metafile, JSON.stringify(result.metafile));
process.stdout.write(`${outdir}: the expdesk bundle, built in ${Date.now() - started} ms\n`);
