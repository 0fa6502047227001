/**
 * The files an export writes itself: README.md for the person who receives
 * the bundle, reproduce.sh that runs it again from the bundle alone, and
 * bundle.json describing what it holds, lacks and left out, for programs.
 */
import { expdeskVersion } from '../app/paths';
import { pythonIsoNow } from '../runs/prepare';
import type { JsonObject } from '../workspace/files';
import type { Item } from './packer';
import { environmentOf, relativeCwdOf, stringOf, type PatchFacts, type RecordedPlan } from './plan';
import { bundleReadme } from './readme';
import { bundleReproduceScript } from './reproduce-bundle';
import type { SourceStage } from './source-stage';

export interface DocumentsInput {
  name: string;
  folder: string;
  metadata: JsonObject | null;
  seed: number | null;
  commandTemplate: string[] | null;
  patch: PatchFacts;
  source: SourceStage;
  plan: RecordedPlan;
  withLogs: boolean;
  limit: number;
  warnings: string[];
  notes: string[];
}

/** README.md, reproduce.sh and bundle.json. */
export function bundleDocuments(d: DocumentsInput): Item[] {
  const { metadata, source, plan } = d;
  const createdAt = pythonIsoNow();
  const version = expdeskVersion();
  const relativeCwd = relativeCwdOf(metadata);
  const pyVersion = /^(\d+\.\d+(?:\.\d+)?)/.exec(stringOf(metadata?.python_version) ?? '')?.[1] ?? null;
  const script = bundleReproduceScript({
    name: d.name,
    gitHash: stringOf(metadata?.git_hash) ?? 'unknown',
    seed: d.seed,
    relativeCwd,
    hasSource: source.location !== null,
    sourceMissingReason: source.missing,
    sourceOmitted: source.omitted.map((o) => o.path),
    hasPatch: d.patch.present,
    patchComplete: d.patch.complete,
    patchOmitted: d.patch.omitted,
    pythonVersion: pyVersion,
    commandTemplate: d.commandTemplate,
    recordedCommand: stringOf(metadata?.command),
    environment: environmentOf(metadata),
    generatedAt: createdAt,
    expdeskVersion: version,
  });
  const readme = bundleReadme({
    name: d.name,
    bundleFolder: d.folder,
    createdAt,
    expdeskVersion: version,
    metadata,
    seed: d.seed,
    commandTemplate: d.commandTemplate,
    relativeCwd,
    source: source.location
      ? { included: true, gitHash: source.location.gitHash, files: source.items.length, bytes: source.bytes }
      : { included: false, reason: source.missing ?? 'unknown' },
    sourceOmitted: source.omitted,
    submodules: source.submodules,
    patch: d.patch,
    absent: plan.absent,
    included: plan.recorded.map((i) => i.rel),
    hasMetrics: plan.hasMetrics,
    checkpoint: plan.checkpoint,
    withLogs: d.withLogs,
    warnings: d.notes,
  });
  const description = {
    format: 'expdesk.bundle/1',
    experiment: d.name,
    created_at: createdAt,
    expdesk_version: version,
    git_hash: stringOf(metadata?.git_hash),
    seed: d.seed,
    command_template: d.commandTemplate,
    relative_cwd: relativeCwd,
    source: {
      included: source.location !== null,
      repository: source.location?.repository ?? null,
      missing_reason: source.missing,
      files: source.items.length,
      bytes: source.bytes,
      omitted: source.omitted,
      submodules: source.submodules,
      file_limit_bytes: d.limit,
    },
    patch: d.patch,
    included: { metrics: plan.hasMetrics, logs: d.withLogs, checkpoint: plan.checkpoint },
    absent: plan.absent,
    left_out: plan.leftOut,
    warnings: d.warnings,
  };
  return [
    { kind: 'buffer', rel: 'README.md', data: Buffer.from(readme), mode: 0o644 },
    { kind: 'buffer', rel: 'reproduce.sh', data: Buffer.from(script), mode: 0o755 },
    {
      kind: 'buffer',
      rel: 'bundle.json',
      data: Buffer.from(JSON.stringify(description, null, 2) + '\n'),
      mode: 0o644,
    },
  ];
}
