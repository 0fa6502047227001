/**
 * "What changed between two runs" (`expdesk diff A B`, request
 * `experiments.diff`): the config keys that differ (flattened, old → new,
 * added and removed), the code (the commits between the two recorded git
 * hashes, and the files each run's uncommitted.patch changes), and the
 * environment (packages of requirements.txt, Python/torch/CUDA versions).
 * The schema and the pure parts live here; core/backend/run-diff.ts reads
 * the files through each run's backend and asks git.
 */
import { z } from 'zod';
import { flattenConfig } from './config-diff';
import { isAlwaysDifferKey } from './identity-keys';
import type { JsonValue } from './model';
import { JsonValue as JsonValueSchema } from './model';

const Side = z.object({ path: z.string(), name: z.string() });

const PatchFileSchema = z.object({
  path: z.string(),
  status: z.enum(['added', 'deleted', 'modified', 'renamed', 'binary']),
  added: z.number(),
  removed: z.number(),
});

const Commit = z.object({ hash: z.string(), subject: z.string() });

const Pkg = z.object({ name: z.string(), version: z.string() });

export const RunDiffParams = z
  .object({ a: z.string().min(1).max(4096), b: z.string().min(1).max(4096) })
  .strict();

/** The commits between two hashes, or in words why they could not be read. */
export const CommitRange = z.union([
  z.object({
    available: z.literal(true),
    repository: z.string(),
    /** In b, not in a (`git log a..b`), newest first. */
    forward: z.array(Commit),
    /** In a, not in b (`git log b..a`): a is not an ancestor of b. */
    backward: z.array(Commit),
    /** More commits than listed (each list stops at its limit). */
    truncated: z.boolean(),
  }),
  z.object({ available: z.literal(false), reason: z.string() }),
]);
export type CommitRange = z.infer<typeof CommitRange>;

/** One run's uncommitted.patch: null when the run has none. */
const PatchSide = z.object({ files: z.number(), bytes: z.number(), truncated: z.boolean() }).nullable();

export const RunDiff = z.object({
  a: Side,
  b: Side,
  config: z.object({
    changed: z.array(z.object({ key: z.string(), from: JsonValueSchema, to: JsonValueSchema })),
    added: z.array(z.object({ key: z.string(), value: JsonValueSchema })),
    removed: z.array(z.object({ key: z.string(), value: JsonValueSchema })),
    /** Keys that differ but name the run itself (experiment.name, output_dir …): left out above. */
    identity: z.array(
      z.object({ key: z.string(), from: JsonValueSchema.nullable(), to: JsonValueSchema.nullable() }),
    ),
    /** Sides without a config.yaml (a and/or b). */
    missing: z.array(z.enum(['a', 'b'])),
  }),
  code: z.object({
    hashes: z.object({ a: z.string().nullable(), b: z.string().nullable() }),
    branches: z.object({ a: z.string().nullable(), b: z.string().nullable() }),
    dirty: z.object({ a: z.boolean().nullable(), b: z.boolean().nullable() }),
    commits: CommitRange,
    patches: z.object({
      a: PatchSide,
      b: PatchSide,
      files: z.array(
        z.object({
          path: z.string(),
          a: PatchFileSchema.nullable(),
          b: PatchFileSchema.nullable(),
          same: z.boolean(),
        }),
      ),
    }),
  }),
  environment: z.object({
    versions: z.array(
      z.object({ key: z.string(), a: z.string().nullable(), b: z.string().nullable(), differs: z.boolean() }),
    ),
    /** null when either run has no requirements.txt (`missing` says which). */
    packages: z
      .object({
        added: z.array(Pkg),
        removed: z.array(Pkg),
        changed: z.array(z.object({ name: z.string(), from: z.string(), to: z.string() })),
        unchanged: z.number(),
      })
      .nullable(),
    missing: z.array(z.enum(['a', 'b'])),
  }),
});
export type RunDiff = z.infer<typeof RunDiff>;

/** One run as the code comparison sees it: where it is and what its metadata.json recorded. */
export interface GitSide {
  location: string;
  metadata: Record<string, JsonValue> | null;
}

type ConfigPart = RunDiff['config'];

/** Config keys that differ between two configs, flattened to dotted keys; identity keys apart. */
export function diffConfigPair(
  a: Record<string, JsonValue> | null,
  b: Record<string, JsonValue> | null,
): ConfigPart {
  const fa = flattenConfig(a ?? {});
  const fb = flattenConfig(b ?? {});
  const out: ConfigPart = { changed: [], added: [], removed: [], identity: [], missing: [] };
  if (!a) out.missing.push('a');
  if (!b) out.missing.push('b');
  const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
  for (const key of keys) {
    const inA = has(fa, key);
    const inB = has(fb, key);
    if (inA && inB && JSON.stringify(fa[key]) === JSON.stringify(fb[key])) continue;
    if (isAlwaysDifferKey(key))
      out.identity.push({ key, from: inA ? fa[key]! : null, to: inB ? fb[key]! : null });
    else if (inA && inB) out.changed.push({ key, from: fa[key]!, to: fb[key]! });
    else if (inB) out.added.push({ key, value: fb[key]! });
    else out.removed.push({ key, value: fa[key]! });
  }
  return out;
}

/** The environment fields of metadata.json compared (the seed's names). */
export const VERSION_KEYS = ['python_version', 'torch_version', 'cuda_version', 'hostname'] as const;

export function metadataText(m: Record<string, JsonValue> | null, key: string): string | null {
  const v = m?.[key];
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}
