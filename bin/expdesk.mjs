#!/usr/bin/env node
// The `expdesk` command. It runs the bundle `npm run build` writes to
// out/cli/expdesk.mjs. In a checkout (src/ present) it runs the bundle only
// when the bundle is newer than every file in src/ (one walk of their mtimes,
// ~3 ms), else the TypeScript sources through tsx, so it never runs stale
// code. An installed package has no src/ and no tsx: it always runs the bundle.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src');
const source = join(srcDir, 'cli', 'index.ts');
const bundle = join(root, 'out', 'cli', 'expdesk.mjs');

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

/** True when some file under src/ changed after the bundle was built. */
function sourcesNewerThan(builtAt) {
  for (const entry of readdirSync(srcDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const m = mtime(join(entry.parentPath, entry.name));
    if (m === null || m > builtAt) return true;
  }
  return false;
}

const builtAt = mtime(bundle);
const hasSources = existsSync(source);

if (builtAt !== null && (!hasSources || !sourcesNewerThan(builtAt))) {
  await import(pathToFileURL(bundle).href);
} else if (hasSources) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      'expdesk: out/cli/expdesk.mjs is missing or older than src/, and tsx is not installed to run the sources; run `npm run build`\n',
    );
    process.exit(1);
  }
  register();
  await import(pathToFileURL(source).href);
} else {
  process.stderr.write(
    `expdesk: ${bundle} is missing; this installation is incomplete (reinstall expdesk)\n`,
  );
  process.exit(1);
}
