/** Small hand-written experiment folders for unit tests. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface FakeExperiment {
  name?: string;
  algorithm?: string;
  config?: string;
  metadata?: Record<string, unknown>;
  metrics?: string;
  failed?: string;
  final?: boolean;
  status?: Record<string, unknown>;
}

export function metricsLines(records: Array<Record<string, unknown>>): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

export function writeExperiment(dir: string, e: FakeExperiment): string {
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const config =
    e.config ??
    `experiment:\n  name: ${e.name ?? path.basename(dir)}\nalgorithm:\n  name: ${e.algorithm ?? 'dpo'}\n`;
  writeFileSync(path.join(dir, 'config.yaml'), config);
  if (e.metadata) writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify(e.metadata, null, 2));
  if (e.metrics !== undefined) writeFileSync(path.join(dir, 'logs', 'metrics.jsonl'), e.metrics);
  if (e.failed !== undefined) writeFileSync(path.join(dir, 'FAILED.txt'), e.failed);
  if (e.final) {
    mkdirSync(path.join(dir, 'checkpoints', 'final'), { recursive: true });
    writeFileSync(path.join(dir, 'checkpoints', 'final', 'model.bin'), 'x');
  }
  if (e.status) writeFileSync(path.join(dir, 'expdesk_status.json'), JSON.stringify(e.status));
  return dir;
}

/** The first keys of metadata.json as the seed's code writes them, in its order (experiment-management.md). */
export const SEED_METADATA_KEYS = [
  'name',
  'started_at',
  'git_hash',
  'git_branch',
  'git_dirty',
  'python_version',
  'torch_version',
  'cuda_version',
  'hostname',
  'command',
];
