/**
 * A large local listing's stat workers (main/core/workspace/fs-batch.ts),
 * started first thing: they boot while the command's modules load, instead
 * of after. How many it will need is judged from the entries of DIR and
 * DIR/experiments (one readdir each, ~3 ms for 5,000): a small listing,
 * which stats without a worker, starts none; a remote DIR is not a folder
 * here and starts none either. An optimisation only: it never fails.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

/** Stats a listing makes per experiment folder (its markers, inputs and logs; summary-store.ts). */
const STATS_PER_FOLDER = 10;

const warmed = new Set<string>();

function entries(dir: string): number {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
}

export function warmEarly(dir: string): void {
  if (warmed.has(dir)) return;
  warmed.add(dir);
  const folders = entries(dir) + entries(path.join(dir, 'experiments'));
  void import('../main/core/workspace/fs-batch')
    .then((m) => m.warmStatWorkers(folders * STATS_PER_FOLDER))
    .catch(() => undefined);
}

/** The entry's call, before the command's modules load: `expdesk list DIR` in its plain form. */
export function warmEarlyFromArgv(args: readonly string[]): void {
  if (args[0] === 'list' && args[1] && !args[1].startsWith('-')) warmEarly(args[1]);
}
