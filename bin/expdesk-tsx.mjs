#!/usr/bin/env node
// Run a TypeScript file of this checkout (benchmarks, scripts) through tsx.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: expdesk-tsx FILE.ts [ARGS...]\n');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(file), ...rest];
const { register } = await import('tsx/esm/api');
register();
await import(pathToFileURL(resolve(file)).href);
