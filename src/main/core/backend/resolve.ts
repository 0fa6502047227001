/**
 * The one place (with src/shared/remote-location.ts, which parses) that
 * decides where a location lives and so which backend serves it. The host,
 * the server and the CLI call resolveBackend (or groupByBackend for many
 * locations at once) and never test for "remote" themselves. A third backend
 * is a third kind here.
 */
import path from 'node:path';
import { parseRemoteLocation } from '../../../shared/remote-location';
import type { ExperimentBackend } from './backend';

export type BackendKind = 'local' | 'ssh';

/** The backends a face (the host, the CLI) has; the SSH one may be loaded on first use (it pulls in ssh2). */
export interface Backends {
  local: ExperimentBackend;
  ssh(): ExperimentBackend | Promise<ExperimentBackend>;
}

/** Which kind of backend serves a location: ssh://… and host:/path are SSH, anything else a local path. */
export function backendKind(location: string): BackendKind {
  try {
    return parseRemoteLocation(location) ? 'ssh' : 'local';
  } catch {
    return 'ssh'; // a malformed ssh:// location: the SSH backend reports what is wrong with it
  }
}

/**
 * Which of a face's per-kind parts serves a location: its experiment backend,
 * its run service, its run commands. Every face picks through this (never by
 * testing the location itself), so a third kind is added here and in `parts`.
 */
export function byLocation<T>(location: string, parts: Record<BackendKind, T>): T {
  return parts[backendKind(location)];
}

/** The backend serving a location. */
export async function resolveBackend(location: string, backends: Backends): Promise<ExperimentBackend> {
  return byLocation<() => ExperimentBackend | Promise<ExperimentBackend>>(location, {
    local: () => backends.local,
    ssh: backends.ssh,
  })();
}

/** A location as its backend keeps it (a local path absolute; a remote one as written), without loading SSH. */
export function normalizeLocation(location: string): string {
  return byLocation(location, { local: path.resolve(location), ssh: location });
}

export interface BackendGroup {
  backend: ExperimentBackend;
  locations: string[];
  /** Each location's index in the list given to groupByBackend. */
  indexes: number[];
}

/** Locations grouped by backend, so each backend is asked once for all of its own (one round trip per host). */
export async function groupByBackend(locations: string[], backends: Backends): Promise<BackendGroup[]> {
  const groups = new Map<ExperimentBackend, BackendGroup>();
  for (const [index, location] of locations.entries()) {
    const backend = await resolveBackend(location, backends);
    let g = groups.get(backend);
    if (!g) {
      g = { backend, locations: [], indexes: [] };
      groups.set(backend, g);
    }
    g.locations.push(location);
    g.indexes.push(index);
  }
  return [...groups.values()];
}

/** Run a batched operation on each backend's share of the locations; the answers come back in the given order. */
export async function mapByBackend<T>(
  locations: string[],
  backends: Backends,
  fn: (backend: ExperimentBackend, locations: string[]) => Promise<T[]>,
): Promise<T[]> {
  const out = new Array<T>(locations.length);
  await Promise.all(
    (await groupByBackend(locations, backends)).map(async (g) => {
      const answers = await fn(g.backend, g.locations);
      answers.forEach((a, i) => (out[g.indexes[i]!] = a));
    }),
  );
  return out;
}

/** resolveBackend for a face whose SSH backend is already loaded (the host): no await. */
export function resolveLoadedBackend(
  location: string,
  backends: { local: ExperimentBackend; ssh: ExperimentBackend },
): ExperimentBackend {
  return byLocation(location, backends);
}
