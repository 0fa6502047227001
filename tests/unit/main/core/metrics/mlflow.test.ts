import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetricsFeeds } from '../../../../../src/main/core/metrics/metrics-feed';
import { SeriesStore } from '../../../../../src/main/core/metrics/series-store';
import { SummaryStore } from '../../../../../src/main/core/summary/summary-store';
import { discoverExperiments } from '../../../../../src/main/core/workspace/discover';
import { readExperimentDetail } from '../../../../../src/main/core/workspace/experiment';
import { treeSnapshot } from '../../../../helpers/snapshot';
import { tmpDir } from '../../../../helpers/tmp';

/** A run as MLflow's FileStore lays it out: meta.yaml, metrics/<key> "timestamp value step", params/, tags/. */
function mlflowRun(
  root: string,
  exp: string,
  run: string,
  metrics: Record<string, string>,
  params: Record<string, string>,
): string {
  const dir = path.join(root, exp, run);
  for (const [key, text] of Object.entries(metrics)) {
    mkdirSync(path.dirname(path.join(dir, 'metrics', key)), { recursive: true });
    writeFileSync(path.join(dir, 'metrics', key), text);
  }
  mkdirSync(path.join(dir, 'params'), { recursive: true });
  for (const [key, text] of Object.entries(params)) writeFileSync(path.join(dir, 'params', key), text);
  mkdirSync(path.join(dir, 'tags'), { recursive: true });
  writeFileSync(path.join(dir, 'tags', 'mlflow.runName'), run);
  writeFileSync(path.join(dir, 'meta.yaml'), `run_id: ${run}\nexperiment_id: '${exp}'\nstatus: 3\n`);
  return dir;
}

describe('MLflow file stores (mlruns/)', () => {
  it('lists each run, with its metrics, params as config, NaN counted, and writes nothing', async () => {
    const root = path.join(tmpDir(), 'mlruns');
    mkdirSync(path.join(root, '0'), { recursive: true });
    writeFileSync(path.join(root, '0', 'meta.yaml'), "experiment_id: '0'\nname: Default\n");
    const a = mlflowRun(
      root,
      '0',
      'a1b2',
      {
        loss: '1700000000000 0.9 0\n1700000001000 0.5 1\n1700000002000 nan 2\n',
        'eval/acc': '1700000001500 0.75 1\n',
      },
      { lr: '0.01', optimizer: 'adam', amp: 'True' },
    );
    mlflowRun(root, '0', 'c3d4', { loss: '1700000000000 1.5 0\n' }, { lr: '0.1' });
    mkdirSync(path.join(root, '.trash'));
    mkdirSync(path.join(root, 'models', 'm1'), { recursive: true });
    const before = treeSnapshot(root);

    const d = await discoverExperiments(root);
    expect(d.experiments.map((e) => path.relative(root, e))).toEqual(['0/a1b2', '0/c3d4']);

    const feeds = new MetricsFeeds();
    const summaries = new SummaryStore({ cacheDir: false, feeds });
    const detail = await readExperimentDetail(a, summaries);
    expect(detail.config).toEqual({ lr: 0.01, optimizer: 'adam', amp: true });
    const s = detail.summary;
    expect(s.problems).toEqual([{ file: 'metrics/*', message: 'diverged: loss is NaN at step 2' }]);
    expect(s.metrics.loss).toMatchObject({ count: 3, nonFinite: 1, min: 0.5, max: 0.9 });
    expect(s.metrics['eval/acc']).toMatchObject({ count: 1, last: 0.75 });
    expect(s.total_steps).toBe(2);

    const q = await new SeriesStore({ feeds }).query(a, { x: 'step', buckets: 100 });
    expect(q.series.loss!.x).toEqual([0, 1, 2]);

    // Appended lines are read from their offset; a partial line waits.
    appendFileSync(path.join(a, 'metrics', 'loss'), '1700000003000 0.4 3\n1700000004000 0.3');
    const s2 = await summaries.summarize(a);
    expect(s2.metrics.loss).toMatchObject({ count: 4, last: 0.4 });
    expect(treeSnapshot(root)).toEqual({
      ...before,
      [path.join('0', 'a1b2', 'metrics', 'loss')]: expect.anything(),
    });
  });
});
