/** A temporary folder removed when the test process exits (for beforeAll, where tests/helpers/tmp's afterEach would delete it too early). */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tmpDirOutsideHooks(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
