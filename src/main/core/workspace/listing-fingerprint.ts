/**
 * A fingerprint of what a local listing of a folder is made from, for the
 * listings made from that alone: the CLI keeps its text table with the
 * fingerprint, and prints that table again while the fingerprint holds
 * (cli/list-snapshot.ts), without loading the listing's modules.
 *
 * A listing of a project root or of a folder of experiments is made from:
 * - the folder's entries (whether it is itself an experiment, whether it
 *   holds experiments/) and its subfolders' names (discover.ts);
 * - each subfolder's stats of discovery's first marker and of the
 *   summaries' inputs (listing-inputs.ts): its cached summary holds while
 *   they do;
 * - the clock and other processes, only through statuses that are not
 *   settled (status.ts statusSettled), which the caller checks.
 * The fingerprint is a digest of the first two. It is null where a listing
 * reads more than these: a subfolder without the first marker (discovery
 * looks further into it), one without logs/metrics.jsonl (its metrics are
 * looked for in TensorBoard or MLflow files), a stat that failed, a folder
 * that may itself be an experiment. It is null too when a file changed
 * within RACY_MS of `now`: a later change in the same tick of a coarse clock
 * could keep the file's size and mtime.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { EXPERIMENT_MARKERS, isTfeventsName, LAYOUT } from './layout';
import type { StatGrid } from './stat-grid';

/** A file changed this recently may change again unseen (the same size, in the same clock tick). */
export const RACY_MS = 2_000;

/** The names in a folder that may make it an experiment (discover.ts experimentDirState). */
const OWN_MARKS = new Set([...EXPERIMENT_MARKERS.map((m) => m.split(/[\\/]/)[0]!), 'meta.yaml']);

export interface ListingInputs {
  /** The folder listed (resolved) and its entries. */
  root: string;
  rootEntries: readonly Dirent[];
  /** Where the experiments are searched (root, or root/experiments) and its searched subfolders. */
  folder: string;
  rows: readonly string[];
  /** The names statted in each subfolder (discover.ts discoveryStatNames) and their stats. */
  names: readonly string[];
  grid: StatGrid;
}

function entryType(e: Dirent): string {
  return e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : e.isFile() ? 'f' : 'o';
}

/** The digest of a listing's inputs (hex), or null where the listing is made from more than these. */
export function listingFingerprint(inputs: ListingInputs, now: number): string | null {
  const { rootEntries, rows, names, grid } = inputs;
  if (rows.length === 0 || grid.rows !== rows.length || grid.cols !== names.length) return null;
  if (rootEntries.some((e) => OWN_MARKS.has(e.name) || isTfeventsName(e.name))) return null;
  const metrics = names.indexOf(LAYOUT.metrics);
  if (names[0] !== EXPERIMENT_MARKERS[0] || metrics < 0 || grid.anyFailed()) return null;
  for (let r = 0; r < rows.length; r++) {
    if (grid.exists(r, 0) !== true || grid.exists(r, metrics) !== true) return null;
  }
  if (grid.latestMtimeMs() > now - RACY_MS) return null;
  const hash = createHash('sha256');
  const text = (parts: readonly string[]): void => void hash.update(parts.join('\0') + '\n');
  text(['expdesk listing inputs 1', inputs.root, inputs.folder]);
  text(rootEntries.map((e) => entryType(e) + e.name));
  text(rows);
  text(names);
  hash.update(grid.bytes());
  return hash.digest('hex');
}
