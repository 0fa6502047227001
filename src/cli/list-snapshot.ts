/**
 * A local folder's kept text table (./kept-table.ts), checked in the CLI's
 * entry: the entry lists DIR and asks for every candidate folder's stats
 * before the listing's modules load (./list-early.ts); with a table kept
 * for DIR it waits for those stats, and the table is printed when their
 * fingerprint (main/core/workspace/listing-fingerprint.ts) is the one kept —
 * no module of the listing, no parse of the summary cache, no formatting.
 * After a listing, the fingerprint of the stats it took is kept with its
 * table: only when the listing took exactly these prefetched stats
 * (fs-batch.ts prefetchTaken), so that it was made from them.
 */
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { userCacheDir } from '../main/core/app/paths';
import { LISTING_INPUTS } from '../main/core/summary/listing-inputs';
import { discoveryStatNames, searchedSubdirs } from '../main/core/workspace/discover';
import { prefetchStatGrid, prefetchTaken, type StatGrid } from '../main/core/workspace/fs-batch';
import { listingFingerprint, type ListingInputs } from '../main/core/workspace/listing-fingerprint';
import type { ExperimentSummary } from '../shared/model';
import { keepTable, readKept } from './kept-table';

/** The prefetched inputs of the listing this process makes, and their fingerprint once asked for. */
interface Early extends Omit<ListingInputs, 'grid'> {
  grid: Promise<StatGrid>;
  /** When the stats were asked for: a file changed after RACY_MS before this is not trusted. */
  at: number;
  fingerprint?: Promise<string | null>;
}
let early: Early | null = null;

/** The prefetched inputs' fingerprint, digested once (the check, then the table kept after a miss). */
function fingerprintOf(e: Early): Promise<string | null> {
  return (e.fingerprint ??= e.grid.then((grid) => listingFingerprint({ ...e, grid }, e.at)));
}

/**
 * Start the stats of a local listing of `root` (resolved), whose candidate
 * folders are `found` in `folder`. With `check` (the plain `list DIR`) and a
 * table kept for DIR: wait for the stats, and return the table (as `list`
 * made it) when its fingerprint holds; else null.
 */
export async function startLocalListing(
  root: string,
  rootEntries: readonly Dirent[],
  folder: string,
  found: readonly Dirent[],
  check: boolean,
): Promise<string | null> {
  const rows = searchedSubdirs(folder, found);
  if (rows.length === 0) return null;
  const names = discoveryStatNames(LISTING_INPUTS);
  const at = Date.now();
  early = { root, rootEntries, folder, rows, names, grid: prefetchStatGrid(rows, names), at };
  const kept = check ? readKept(root, userCacheDir()) : null;
  if (!kept) return null;
  return (await fingerprintOf(early)) === kept.fingerprint ? kept.text : null;
}

/**
 * After `list DIR` made `text` from a local listing of these experiments:
 * keep it for the next listing, where it was made from the prefetched
 * inputs alone. Never fails the listing.
 */
export async function keepLocalListing(
  dir: string,
  experiments: readonly ExperimentSummary[],
  text: string,
  cacheRoot: string | null,
): Promise<void> {
  const e = early;
  const root = path.resolve(dir);
  if (!e || e.root !== root) return;
  await keepTable(root, prefetchTaken(e.grid) ? await fingerprintOf(e) : null, experiments, text, cacheRoot);
}
