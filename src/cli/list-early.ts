/**
 * A listing's I/O, started first thing, before the listing's modules load.
 * Whether DIR is remote is resolve.ts's decision:
 * - a remote DIR: its connection (./remote-pool.ts, ssh2 and the connection
 *   code only), whose handshake's round trips pass while the modules load;
 *   a failure here is the listing's to meet and report, never this one's;
 * - a local DIR: the entry lists DIR (or DIR/experiments, as discovery
 *   would) and asks for every candidate folder's stats — discovery's marker
 *   and the summaries' inputs, the very grid the listing will ask for
 *   (main/core/workspace/fs-batch.ts decides how: a small grid through the
 *   asynchronous API, a large one in its workers). A listing that asks for
 *   another grid (DIR changed meanwhile, DIR is itself an experiment) stats
 *   afresh.
 * An optimisation only: it never fails.
 */
import { readdirSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { backendKind } from '../main/core/backend/resolve';

const warmed = new Set<string>();

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** A local DIR's grid of stats, asked for now (once per folder). */
function warmLocal(dir: string): void {
  const root = path.resolve(dir);
  if (warmed.has(root)) return;
  warmed.add(root);
  // Discovery's order of search: a project's experiments/ first.
  const nested = path.join(root, 'experiments');
  const inNested = entries(nested);
  const [folder, found] = inNested.length ? [nested, inNested] : [root, entries(root)];
  if (found.length === 0) return;
  void Promise.all([
    import('../main/core/workspace/fs-batch'),
    import('../main/core/workspace/discover'),
    import('../main/core/summary/listing-inputs'),
  ])
    .then(([batch, discover, inputs]) => {
      const rows = discover.searchedSubdirs(folder, found);
      if (rows.length) batch.prefetchStatGrid(rows, discover.discoveryStatNames(inputs.LISTING_INPUTS));
    })
    .catch(() => undefined);
}

/** The list action's call: a remote DIR's connection, or a local one's stats. */
export async function startEarly(dir: string): Promise<void> {
  if (backendKind(dir) === 'ssh') (await import('./remote-pool')).connectEarly(dir);
  else warmLocal(dir);
}

/**
 * The entry's call, before commander and the commands load: `expdesk list
 * DIR` in its plain form. A local DIR's stats start here; a remote DIR's
 * connection too, unless the command line holds SSH options (commander
 * reads them before the command's connection pool is made).
 */
export async function startEarlyFromArgv(args: readonly string[]): Promise<void> {
  if (args[0] !== 'list' || !args[1] || args[1].startsWith('-')) return;
  // The connection's TCP, and its identification string, go first; the commands load after.
  if (backendKind(args[1]) === 'local') warmLocal(args[1]);
  else if (args.slice(2).every((a) => a === '--json')) await startEarly(args[1]).catch(() => undefined);
}
