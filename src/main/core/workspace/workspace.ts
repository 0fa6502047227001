/**
 * Listing a workspace: discover its experiments and summarize each. A damaged
 * experiment is listed with its problem; it never stops the others.
 */
import path from 'node:path';
import type { ExperimentSummary, WorkspaceListing } from '../../../shared/model';
import type { ListOptions, SummarizeOptions, Summarizer } from './summarizer';
import { discoverExperiments } from './discover';
import { mapLimited } from './fast-fs';

export { WorkspaceError } from './discover';

/** Folders summarized at once: enough to overlap I/O, few enough to bound open files. */
const CONCURRENCY = 128;

export { mapLimited };

/** A summary for a folder that could not be read at all, so it still shows up with its problem. */
export function unreadableSummary(dir: string, err: unknown): ExperimentSummary {
  const message = err instanceof Error ? err.message : String(err);
  return {
    path: dir,
    folder: path.basename(dir),
    name: path.basename(dir),
    algorithm: null,
    model: null,
    total_steps: null,
    final_loss: null,
    final_eval: null,
    status: { state: 'unknown', source: 'inferred', reason: `unreadable: ${message}` },
    startedAt: null,
    gitHash: null,
    gitDirty: null,
    metrics: {},
    records: 0,
    malformedLines: 0,
    params: {},
    problems: [{ file: '.', message: `cannot read the experiment: ${message}` }],
  };
}

export async function summarizeSafely(
  store: Summarizer,
  dir: string,
  opts?: SummarizeOptions,
): Promise<ExperimentSummary> {
  try {
    return await store.summarize(dir, opts);
  } catch (err) {
    return unreadableSummary(dir, err);
  }
}

export async function listWorkspace(
  root: string,
  store: Summarizer,
  opts?: ListOptions,
): Promise<WorkspaceListing> {
  // A whole listing's stats of the summaries' inputs go with discovery's (one round of stats),
  // a first screenful's only for the folders shown; the cache is read while they go on.
  let expected = false;
  const expect = (): void => {
    if (!expected) store.expect?.(root, opts);
    expected = true;
  };
  const found = await discoverExperiments(root, {
    inputs: opts?.limit === undefined ? store.inputs : [],
    whileStatting: expect,
  });
  expect();
  const unreadable = new Set(found.unreadable);
  const dirs = opts?.limit === undefined ? found.experiments : found.experiments.slice(0, opts.limit);
  const release = await store.prepare?.(
    dirs.filter((d) => !unreadable.has(d)),
    opts,
    found.statted,
  );
  // What prepare() made already (a warm listing: all) without a promise each; the rest summarized.
  const experiments: ExperimentSummary[] = new Array<ExperimentSummary>(dirs.length);
  const rest: number[] = [];
  dirs.forEach((dir, i) => {
    const ready = unreadable.has(dir)
      ? unreadableSummary(dir, new Error('permission denied'))
      : store.takePrepared?.(dir);
    if (ready) experiments[i] = ready;
    else rest.push(i);
  });
  await mapLimited(rest, CONCURRENCY, async (i) => {
    experiments[i] = await summarizeSafely(store, dirs[i]!, opts);
  }).finally(release);
  const listing: WorkspaceListing = {
    root: found.root,
    experimentsDir: found.experimentsDir,
    kind: found.kind,
    experiments,
  };
  // A first screenful says how many there are, so the table does not claim 200 of a 10,000-run workspace.
  if (dirs.length < found.experiments.length) listing.total = found.experiments.length;
  return listing;
}
