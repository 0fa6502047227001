/**
 * The experiment folder layout of shared/seed/experiment-management.md, plus
 * the one file Expdesk adds (the status file, see docs/status-file.md).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';

export const LAYOUT = {
  config: 'config.yaml',
  metadata: 'metadata.json',
  failed: 'FAILED.txt',
  requirements: 'requirements.txt',
  reproduce: 'reproduce.sh',
  checkpoints: 'checkpoints',
  logs: 'logs',
  metrics: path.join('logs', 'metrics.jsonl'),
  /** The run wrapper's samples of the machine (GPU, CPU, memory, disk), in the metrics' record form. */
  system: path.join('logs', 'system.jsonl'),
  outputs: 'outputs',
  /** Written only by Expdesk's run wrapper, atomically; never by analysis. */
  status: 'expdesk_status.json',
  /** Notes, tags, star, archive (src/shared/annotations.ts): written only on the user's request. */
  annotations: 'expdesk_notes.json',
} as const;

/** Any of these files makes a folder an experiment. */
export const EXPERIMENT_MARKERS = [LAYOUT.config, LAYOUT.metadata, LAYOUT.metrics] as const;

/**
 * TensorBoard's rule: a folder that directly holds event files is a run.
 * Such a folder is an experiment too (its metrics are those files, when it
 * has no logs/metrics.jsonl).
 */
export const TFEVENTS_PREFIX = 'events.out.tfevents.';

export function isTfeventsName(name: string): boolean {
  return name.startsWith(TFEVENTS_PREFIX);
}

/** An MLflow file-store run (`mlruns/<experiment>/<run>/`): meta.yaml beside a metrics/ folder. */
export async function isMlflowRunDir(dir: string): Promise<boolean> {
  const [meta, metrics] = await Promise.all([
    stat(path.join(dir, 'meta.yaml')).catch(() => null),
    stat(path.join(dir, 'metrics')).catch(() => null),
  ]);
  return meta !== null && meta.isFile() && metrics !== null && metrics.isDirectory();
}
