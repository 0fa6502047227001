/**
 * `expdesk list DIR`'s text table, kept with a fingerprint of what it was
 * made from (main/core/workspace/listing-fingerprint.ts) and printed again
 * while that fingerprint holds: a warm listing of an unchanged folder then
 * costs the entry's stats and one digest, without the listing's modules,
 * the summary cache's parse or the table's formatting.
 *
 * Kept only when the listing is made from those inputs alone: the listing
 * took the grid of stats this module prefetched (fs-batch.ts), the
 * fingerprint is not null, and every status is settled (status.ts
 * statusSettled: none depends on the clock, a process or a scheduler). The
 * key holds what else the text depends on: the build (the bundle's id: a
 * run from the sources keeps nothing), Node's version, the user, the folder,
 * and the environment that sets the locale (the folders' order) and the
 * time zone. Expdesk's own settings (EXPDESK_*) are for runs, SSH and where
 * files go; none changes a local listing's text, and the kept tables live
 * in the cache folder EXPDESK_CACHE_DIR names.
 *
 * One file per folder in the cache (list-snapshots/), written atomically;
 * read only as a regular file, bounded. Anything wrong with it is a miss.
 */
import { createHash } from 'node:crypto';
import fs, { type Dirent } from 'node:fs';
import path from 'node:path';
import { userCacheDir } from '../main/core/app/paths';
import { readRegularFileSync } from '../main/core/fs/safe-read';
import { searchedSubdirs, discoveryStatNames } from '../main/core/workspace/discover';
import { prefetchStatGrid, prefetchTaken, type StatGrid } from '../main/core/workspace/fs-batch';
import { listingFingerprint, type ListingInputs } from '../main/core/workspace/listing-fingerprint';
import { LISTING_INPUTS } from '../main/core/summary/listing-inputs';
import { statusSettled } from '../main/core/workspace/status';
import type { ExperimentSummary } from '../shared/model';

/** Set by scripts/build-cli.mjs (esbuild's define): the bundle's id. Undefined when run from the sources. */
declare const __EXPDESK_BUILD__: string | undefined;

/** A kept table larger than this is not read (a listing of 5,000 is ~0.6 MB). */
const MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;

const FORMAT = 'expdesk list snapshot 1';

/** The prefetched inputs of the listing this process makes. */
interface Early extends Omit<ListingInputs, 'grid'> {
  grid: Promise<StatGrid>;
  /** When the stats were asked for: a file changed after RACY_MS before this is not trusted. */
  at: number;
}
let early: Early | null = null;

/** The environment a text table depends on, besides its folder's files. */
function keyOf(root: string): string | null {
  const build = typeof __EXPDESK_BUILD__ === 'string' ? __EXPDESK_BUILD__ : null;
  if (build === null) return null;
  const env = Object.entries(process.env)
    .filter(([k]) => /^(LANG|LANGUAGE|LC_\w+|TZ)$/.test(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const who = typeof process.getuid === 'function' ? process.getuid() : -1;
  const text = JSON.stringify([FORMAT, build, process.version, who, root, env]);
  return createHash('sha256').update(text).digest('hex');
}

/** The file a folder's table is kept in. */
function snapshotFile(cacheRoot: string, root: string): string {
  const name = createHash('sha256').update(root).digest('hex').slice(0, 40);
  return path.join(cacheRoot, 'list-snapshots', `${name}.txt`);
}

/** The kept table of `root` under `key`: its fingerprint and text, or null. */
function readSnapshot(root: string, key: string): { fingerprint: string; text: string } | null {
  try {
    const raw = readRegularFileSync(fs, snapshotFile(userCacheDir(), root), MAX_SNAPSHOT_BYTES).toString(
      'utf8',
    );
    const eol = raw.indexOf('\n');
    const head = JSON.parse(raw.slice(0, eol)) as { key?: unknown; fingerprint?: unknown };
    if (eol < 0 || head.key !== key || typeof head.fingerprint !== 'string') return null;
    return { fingerprint: head.fingerprint, text: raw.slice(eol + 1) };
  } catch {
    return null;
  }
}

/**
 * Start the stats of a local listing of `root` (resolved), whose candidate
 * folders are `found` in `folder`. With `check` (the plain `list DIR`), and
 * a table kept for this folder and key: wait for the stats, and return the
 * table when its fingerprint holds (the caller prints it and is done).
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
  const key = check ? keyOf(root) : null;
  const kept = key === null ? null : readSnapshot(root, key);
  if (!kept) return null;
  const inputs = { ...early, grid: await early.grid };
  return listingFingerprint(inputs, Date.now()) === kept.fingerprint ? kept.text : null;
}

/**
 * After `list DIR` made `text` (as printed) from a listing of these
 * experiments: keep it for the next listing, where it was made from the
 * prefetched inputs alone. Never fails the listing.
 */
export async function keepListing(
  dir: string,
  experiments: readonly ExperimentSummary[],
  text: string,
  cacheRoot: string | null,
): Promise<void> {
  const e = early;
  const root = path.resolve(dir);
  if (!e || e.root !== root || cacheRoot === null) return;
  const file = snapshotFile(cacheRoot, root);
  const key = keyOf(root);
  const keep = key !== null && prefetchTaken(e.grid) && experiments.every((s) => statusSettled(s.status));
  const fingerprint = keep ? listingFingerprint({ ...e, grid: await e.grid }, e.at) : null;
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    // A table that could not be kept now: the one kept before goes, so the next listing need not wait to check it.
    if (fingerprint === null) return fs.rmSync(file, { force: true });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, `${JSON.stringify({ key, fingerprint })}\n${text}`);
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}
