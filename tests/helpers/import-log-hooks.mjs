// Module loader hooks (node:module register, run off the main thread) for ./import-log.mjs.
import { appendFileSync } from 'node:fs';

let file = null;

export function initialize(data) {
  file = data.file ?? null;
}

export async function load(url, context, nextLoad) {
  if (file) appendFileSync(file, `${url}\n`);
  return nextLoad(url, context);
}
