/**
 * The code of fs-batch.ts's workers (CommonJS, eval'd in a worker thread):
 * grids of stats with the synchronous calls, bounded reads of regular files,
 * atomic writes; fs-batch.ts sends them their work and gathers the answers.
 */
import { readRegularFileSync } from '../fs/safe-read';

/** Runs in the worker (CommonJS, eval'd): one message per batch (or part of one), answered in order. */
export const WORKER_CODE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const readRegularFileSync = ${readRegularFileSync.toString()};
const errOf = (e) => ({ code: e && e.code ? String(e.code) : 'EIO', message: e && e.message ? String(e.message) : String(e) });
// A stat into out at k: -1 missing (ENOTDIR too), -2 failed (its error in errors), else size, mtime, inode.
function statInto(file, out, k, errors) {
  let st;
  try {
    st = fs.statSync(file, { throwIfNoEntry: false });
  } catch (e) {
    if (e && e.code === 'ENOTDIR') st = undefined;
    else { out[3 * k] = -2; errors[k] = errOf(e); return; }
  }
  if (st === undefined) { out[3 * k] = -1; return; }
  out[3 * k] = st.size; out[3 * k + 1] = st.mtimeMs; out[3 * k + 2] = st.ino;
}
parentPort.on('message', ({ rows, names, sep, reads, writes }) => {
  // A grid's rows (folders, or files when names is null) times its names, built here, not on the main thread.
  const list = rows.length ? rows.split('\\0') : [];
  const n = names ? names.length : 1;
  const sigs = new Float64Array(list.length * n * 3);
  const statErrors = {};
  for (let i = 0; i < list.length; i++) {
    if (!names) statInto(list[i], sigs, i, statErrors);
    else for (let j = 0; j < n; j++) statInto(list[i] + sep + names[j], sigs, i * n + j, statErrors);
  }
  // Only regular files, never blocking on open (a FIFO would hang this thread), bounded.
  const texts = reads.map(([file, maxBytes, label]) => {
    try { return readRegularFileSync(fs, file, maxBytes, label).toString('utf8'); } catch (e) { return errOf(e); }
  });
  const dirs = new Set();
  const written = writes.map(([file, text]) => {
    try {
      const dir = path.dirname(file);
      if (!dirs.has(dir)) { fs.mkdirSync(dir, { recursive: true }); dirs.add(dir); }
      const tmp = file + '.' + process.pid + '.' + Math.random().toString(36).slice(2) + '.tmp';
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, file);
      return null;
    } catch (e) { return errOf(e); }
  });
  parentPort.postMessage({ sigs, statErrors, texts, written }, [sigs.buffer]);
});
`;
