#!/usr/bin/env node
// The `expdesk` command. In a checkout (src/ present) it runs the TypeScript
// sources through tsx so it never runs stale code; an installed package runs
// the bundle built by `npm run build:cli` (out/cli/expdesk.mjs).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'cli', 'index.ts');
const bundle = join(root, 'out', 'cli', 'expdesk.mjs');

if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else if (existsSync(bundle)) {
  await import(pathToFileURL(bundle).href);
} else {
  process.stderr.write(
    'expdesk: neither src/cli nor out/cli/expdesk.mjs was found; run `npm run build:cli`\n',
  );
  process.exit(1);
}
