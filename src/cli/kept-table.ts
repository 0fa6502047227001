/**
 * The text tables `expdesk list` keeps, one file per location listed, each
 * with the fingerprint of what it was made from: the next `list` of that
 * location prints it while the fingerprint holds. Who computes the
 * fingerprint depends on where the files are (./list-snapshot.ts for a local
 * folder, in the CLI's entry; the remote helper for SSH,
 * ExperimentBackend.listUnlessKept); keeping, reading and the key are here.
 *
 * A table is kept only when every status in it is settled (status.ts
 * statusSettled: none depends on the clock, a process or a scheduler) and
 * the listing gave a fingerprint. The key holds what else the text depends
 * on: the build (the bundle's id: a run from the sources keeps nothing),
 * Node's version, the user, the location, and the environment that sets
 * the locale (the folders' order) and the time zone. Expdesk's own settings
 * (EXPDESK_*) are for runs, SSH and where files go; none changes a
 * listing's text, and the kept tables live in the cache folder
 * EXPDESK_CACHE_DIR names.
 *
 * Written atomically (fs-batch.ts writeAtomic) under <cache>/list-snapshots/; read only as a regular
 * file, bounded. Anything wrong with one is a miss. A listing that cannot
 * be kept removes the table kept before, so the next one does not wait to
 * check it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { readRegularFileSync } from '../main/core/fs/safe-read';
import { writeAtomic } from '../main/core/workspace/fs-batch';
import { statusSettled } from '../main/core/workspace/status';
import type { ExperimentSummary } from '../shared/model';

/** Set by scripts/build-cli.mjs (esbuild's define): the bundle's id. Undefined when run from the sources. */
declare const __EXPDESK_BUILD__: string | undefined;

/** A kept table larger than this is not read (a listing of 5,000 is ~0.6 MB). */
const MAX_KEPT_BYTES = 64 * 1024 * 1024;

const FORMAT = 'expdesk kept table 1';

/** A table kept for a location: the fingerprint it was made from and its text (as `list` made it). */
export interface Kept {
  fingerprint: string;
  text: string;
}

/** The key of a location's table: what its text depends on besides the files; null when nothing is kept. */
function keyOf(location: string): string | null {
  const build = typeof __EXPDESK_BUILD__ === 'string' ? __EXPDESK_BUILD__ : null;
  if (build === null) return null;
  const env = Object.entries(process.env)
    .filter(([k]) => /^(LANG|LANGUAGE|LC_\w+|TZ)$/.test(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const who = typeof process.getuid === 'function' ? process.getuid() : -1;
  const text = JSON.stringify([FORMAT, build, process.version, who, location, env]);
  return createHash('sha256').update(text).digest('hex');
}

function keptFile(cacheRoot: string, location: string): string {
  const name = createHash('sha256').update(location).digest('hex').slice(0, 40);
  return path.join(cacheRoot, 'list-snapshots', `${name}.txt`);
}

/** The table kept for `location` under today's key, or null. Never throws. */
export function readKept(location: string, cacheRoot: string | null): Kept | null {
  const key = keyOf(location);
  if (key === null || cacheRoot === null) return null;
  try {
    const raw = readRegularFileSync(fs, keptFile(cacheRoot, location), MAX_KEPT_BYTES).toString('utf8');
    const eol = raw.indexOf('\n');
    if (eol < 0) return null;
    const head = JSON.parse(raw.slice(0, eol)) as { key?: unknown; fingerprint?: unknown };
    if (head.key !== key || typeof head.fingerprint !== 'string') return null;
    return { fingerprint: head.fingerprint, text: raw.slice(eol + 1) };
  } catch {
    return null;
  }
}

/**
 * After `list` made `text` from these experiments: keep it with the
 * fingerprint of what it was made from, where it can be kept; else remove
 * the table kept before. Never fails the listing.
 */
export async function keepTable(
  location: string,
  fingerprint: string | null,
  experiments: readonly ExperimentSummary[],
  text: string,
  cacheRoot: string | null,
): Promise<void> {
  if (cacheRoot === null) return;
  const key = keyOf(location);
  const file = keptFile(cacheRoot, location);
  const keep = key !== null && fingerprint !== null && experiments.every((s) => statusSettled(s.status));
  await (
    keep ? writeAtomic(file, `${JSON.stringify({ key, fingerprint })}\n${text}`) : rm(file, { force: true })
  ).catch(() => undefined);
}
