/**
 * Comparing experiments side by side: their summaries, the config keys whose
 * values differ (and, on demand, those that are equal), and the metadata that
 * decides whether two runs are comparable at all — code version, environment,
 * machine, seed, command. Read-only.
 */
import { diffConfigs, flattenConfig } from '../../../shared/config-diff';
import type { CompareResult } from '../../../shared/contract';
import type { ExperimentDetail, JsonValue } from '../../../shared/model';
import type { Summarizer } from './summarizer';
import { readExperimentDetail } from './experiment';
import { mapLimited } from './workspace';

/** Reproducibility fields first, in the seed's order; then every other key by name. */
const METADATA_ORDER = [
  'git_hash',
  'git_branch',
  'git_dirty',
  'python_version',
  'torch_version',
  'cuda_version',
  'hostname',
  'seed',
  'command',
];
/** Always different between runs and already in the summaries: noise in a diff. */
const METADATA_SKIP = new Set(['name', 'started_at']);
/** Where a seed-written run keeps its seed when metadata.json has none (Expdesk's launcher reads the same keys). */
const CONFIG_SEED_KEYS = ['seed', 'training.seed', 'experiment.seed'];

type Row = CompareResult['configDiff'][number];
type SameRow = CompareResult['configSame'][number];

function rank(key: string): number {
  const i = METADATA_ORDER.indexOf(key);
  return i < 0 ? METADATA_ORDER.length : i;
}

/** Split flattened objects into rows that differ and rows equal (and present) everywhere. */
function split(objects: (Record<string, JsonValue> | null)[]): { diff: Row[]; same: SameRow[] } {
  const diff: Row[] = diffConfigs(objects).map((r) => ({
    key: r.key,
    values: r.values.map((v) => (v === undefined ? null : v)),
    present: r.values.map((v) => v !== undefined),
  }));
  const differing = new Set(diff.map((r) => r.key));
  const first = flattenConfig(objects[0] ?? {});
  const same: SameRow[] = Object.keys(first)
    .filter((k) => !differing.has(k))
    .sort()
    .map((key) => ({ key, value: first[key]! }));
  return { diff, same };
}

/** The metadata rows of one run: without name and started_at, with the config's seed when metadata has none. */
function comparableMetadata(
  metadata: Record<string, JsonValue> | null,
  config: Record<string, JsonValue> | null,
): Record<string, JsonValue> | null {
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) if (!METADATA_SKIP.has(k)) out[k] = v;
  if (out.seed === undefined && config) {
    const flat = flattenConfig(config);
    const seed = CONFIG_SEED_KEYS.map((k) => flat[k]).find((v) => typeof v === 'number');
    if (seed !== undefined) out.seed = seed;
  }
  return metadata || out.seed !== undefined ? out : null;
}

/** The comparison of experiment details already read, wherever they came from (local folders, a remote host). */
export function compareDetails(
  details: Array<Pick<ExperimentDetail, 'summary' | 'config' | 'metadata'>>,
): CompareResult {
  const config = split(details.map((d) => d.config));
  const metadata = split(details.map((d) => comparableMetadata(d.metadata, d.config)));
  const byImportance = <T extends { key: string }>(rows: T[]): T[] =>
    rows.sort((a, b) => rank(a.key) - rank(b.key) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    experiments: details.map((d) => d.summary),
    configDiff: config.diff,
    configSame: config.same,
    metadataDiff: byImportance(metadata.diff),
    metadataSame: byImportance(metadata.same),
  };
}

export async function compareExperiments(dirs: string[], store: Summarizer): Promise<CompareResult> {
  return compareDetails(await mapLimited(dirs, 8, (dir) => readExperimentDetail(dir, store)));
}
