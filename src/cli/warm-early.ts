/**
 * A large local listing's stats, started first thing: the CLI's entry lists
 * DIR (or DIR/experiments, as discovery would) and asks the stat workers
 * (main/core/workspace/fs-batch.ts) for every candidate folder's stats —
 * discovery's marker and the summaries' inputs, the very grid the listing
 * will ask for — so they run while the command's modules load instead of
 * after. A small folder, which stats without a worker, starts nothing; a
 * remote DIR is not a folder here and starts nothing either. An
 * optimisation only: it never fails, and a listing that asks for another
 * grid (DIR changed meanwhile, DIR is itself an experiment) stats afresh.
 */
import { readdirSync, type Dirent } from 'node:fs';
import path from 'node:path';

/** Stats a listing makes per experiment folder (its markers, inputs and logs; summary/listing-inputs.ts). */
const STATS_PER_FOLDER = 10;

const warmed = new Set<string>();

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

export function warmEarly(dir: string): void {
  const root = path.resolve(dir);
  if (warmed.has(root)) return;
  warmed.add(root);
  // Discovery's order of search: a project's experiments/ first.
  const nested = path.join(root, 'experiments');
  const inNested = entries(nested);
  const [folder, found] = inNested.length ? [nested, inNested] : [root, entries(root)];
  if (found.length * STATS_PER_FOLDER < 64) return;
  void Promise.all([
    import('../main/core/workspace/fs-batch'),
    import('../main/core/workspace/discover'),
    import('../main/core/summary/listing-inputs'),
  ])
    .then(([batch, discover, inputs]) =>
      batch.prefetchStatGrid(
        discover.searchedSubdirs(folder, found),
        discover.discoveryStatNames(inputs.LISTING_INPUTS),
      ),
    )
    .catch(() => undefined);
}

/** The entry's call, before the command's modules load: `expdesk list DIR` in its plain form. */
export function warmEarlyFromArgv(args: readonly string[]): void {
  if (args[0] === 'list' && args[1] && !args[1].startsWith('-')) warmEarly(args[1]);
}
