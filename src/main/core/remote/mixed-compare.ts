/**
 * `experiments.compare` over experiment details already read, wherever they
 * came from (local folders, RemoteWorkspace.details for a host in one round
 * trip): the same rows and order as core/workspace/compare.ts — config keys
 * that differ (with `present` flags) and those equal everywhere; metadata
 * likewise, name and started_at left out, the config's seed standing in when
 * metadata.json has none, reproducibility fields first.
 *
 * It repeats compare.ts's row logic because that module reads local folders
 * itself; the two should become one (compareExperiments calling this) when
 * compare.ts is next edited. tests/integration/remote-interface.test.ts
 * checks that a local/remote mix gives the rows a local compare gives.
 */
import { diffConfigs, flattenConfig } from '../../../shared/config-diff';
import type { CompareResult } from '../../../shared/contract';
import type { ExperimentDetail, JsonValue } from '../../../shared/model';

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
const METADATA_SKIP = new Set(['name', 'started_at']);
const CONFIG_SEED_KEYS = ['seed', 'training.seed', 'experiment.seed'];

type Row = CompareResult['configDiff'][number];
type SameRow = CompareResult['configSame'][number];

function rank(key: string): number {
  const i = METADATA_ORDER.indexOf(key);
  return i < 0 ? METADATA_ORDER.length : i;
}

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
