/**
 * Everything about one experiment folder, for `expdesk show` and the detail view.
 * Read-only, like every analysis path.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ExperimentDetail } from '../../../shared/model';
import type { Summarizer } from './summarizer';
import { experimentDirState, permissionDenied, WorkspaceError } from './discover';
import { listCheckpoints, listLogs, listOutputs, listSystemNodes, readConfig, readJsonObject } from './files';
import { LAYOUT } from './layout';

async function fileExists(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

export async function readExperimentDetail(dir: string, store: Summarizer): Promise<ExperimentDetail> {
  const st = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    throw new WorkspaceError(err.code === 'ENOENT' ? 'not-found' : 'bad-request', `no such folder: ${dir}`);
  });
  if (!st.isDirectory()) throw new WorkspaceError('bad-request', `not a folder: ${dir}`);
  const state = await experimentDirState(dir);
  if (state === 'unreadable') throw permissionDenied(dir);
  if (state === 'none') {
    throw new WorkspaceError(
      'not-found',
      `${dir} is not an experiment (no config.yaml, metadata.json, logs/metrics.jsonl or events.out.tfevents.*)`,
    );
  }
  const [summary, config, metadata, checkpoints, logs, outputs, extras] = await Promise.all([
    store.summarize(dir),
    readConfig(dir),
    readJsonObject(dir, LAYOUT.metadata),
    listCheckpoints(dir),
    listLogs(dir),
    listOutputs(dir),
    Promise.all([
      fileExists(path.join(dir, LAYOUT.requirements)),
      fileExists(path.join(dir, LAYOUT.reproduce)),
      listSystemNodes(dir),
    ] as const),
  ]);
  const [hasRequirements, hasReproduceScript, systemNodes] = extras;
  return {
    summary,
    // A TensorBoard run has no config.yaml: its hparams stand for it.
    config: config.value ?? summary.hparams ?? null,
    metadata: metadata.value,
    checkpoints,
    logs,
    outputs,
    hasRequirements,
    hasReproduceScript,
    systemNodes,
  };
}
