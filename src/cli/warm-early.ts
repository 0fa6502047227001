/**
 * A large local listing's stat workers (main/core/workspace/fs-batch.ts),
 * started first thing: they boot while the listing's modules load, instead
 * of after. How many it will need is judged from the entries of DIR and
 * DIR/experiments (one readdir each, ~3 ms for 5,000): a small listing,
 * which stats without a worker, starts none; a remote DIR is not a folder
 * here and starts none either.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

/** Stats a listing makes per experiment folder (its markers, inputs and logs; summary-store.ts). */
const STATS_PER_FOLDER = 10;

function entries(dir: string): number {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
}

export async function warmEarly(dir: string): Promise<void> {
  const folders = entries(dir) + entries(path.join(dir, 'experiments'));
  (await import('../main/core/workspace/fs-batch')).warmStatWorkers(folders * STATS_PER_FOLDER);
}
