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
 *   afresh. The plain `list DIR` also reads the text table kept for DIR
 *   (./list-snapshot.ts), and prints it when nothing it was made from changed.
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

/**
 * A local DIR's grid of stats, asked for now (once per folder). With `check`
 * (the plain `list DIR`): the text table kept for DIR when nothing it was
 * made from changed (./list-snapshot.ts), else null.
 */
async function warmLocal(dir: string, check: boolean): Promise<string | null> {
  const root = path.resolve(dir);
  if (warmed.has(root)) return null;
  warmed.add(root);
  // Discovery's order of search: a project's experiments/ first.
  const rootEntries = entries(root);
  const nested = path.join(root, 'experiments');
  const inNested = rootEntries.some((e) => e.name === 'experiments') ? entries(nested) : [];
  const [folder, found] = inNested.length ? [nested, inNested] : [root, rootEntries];
  if (found.length === 0) return null;
  try {
    const { startLocalListing } = await import('./list-snapshot');
    return await startLocalListing(root, rootEntries, folder, found, check);
  } catch {
    return null;
  }
}

/** The list action's call: a remote DIR's connection, or a local one's stats. */
export async function startEarly(dir: string): Promise<void> {
  if (backendKind(dir) === 'ssh') (await import('./remote-pool')).connectEarly(dir);
  else void warmLocal(dir, false);
}

/**
 * The entry's call, before commander and the commands load: `expdesk list
 * DIR` in its plain form. A local DIR's stats start here, and its kept text
 * table is returned when it still holds (the entry prints it and is done);
 * a remote DIR's connection starts too, unless the command line holds SSH
 * options (commander reads them before the command's connection pool is made).
 */
export async function startEarlyFromArgv(args: readonly string[]): Promise<string | null> {
  if (args[0] !== 'list' || !args[1] || args[1].startsWith('-')) return null;
  // The connection's TCP, and its identification string, go first; the commands load after.
  if (backendKind(args[1]) === 'local') {
    // Only the plain form prints a kept table: any other starts the stats and goes on at once.
    if (args.length === 2) return warmLocal(args[1], true);
    void warmLocal(args[1], false);
    return null;
  }
  if (args.slice(2).every((a) => a === '--json')) await startEarly(args[1]).catch(() => undefined);
  return null;
}
