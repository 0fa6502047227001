import { appendFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SummaryStore } from '../../../../../src/main/core/summary/summary-store';
import { listWorkspace } from '../../../../../src/main/core/workspace/workspace';
import { metricsLines, writeExperiment } from '../../../../helpers/experiments';
import { treeSnapshot } from '../../../../helpers/snapshot';
import { tmpDir } from '../../../../helpers/tmp';

const train = (step: number, loss: number): Record<string, unknown> => ({
  step,
  prefix: 'train',
  timestamp: 't',
  'train/loss': loss,
});

describe('SummaryStore', () => {
  it('summarizes with the seed semantics and reports config problems with their line', async () => {
    const dir = writeExperiment(path.join(tmpDir(), 'exp'), {
      config: 'experiment:\n  name: e\nalgorithm:\n  name: dpo\nalgorithm:\n  name: ppo\n',
      metrics: metricsLines([train(1, 2), { step: 1, prefix: 'eval', 'eval/loss': 1.5 }, train(2, 1)]),
    });
    const s = await new SummaryStore({ cacheDir: tmpDir() }).summarize(dir);
    expect(s).toMatchObject({ total_steps: 2, final_loss: 1, final_eval: { 'eval/loss': 1.5 } });
    expect(s.problems[0]).toMatchObject({ file: 'config.yaml', line: 5 });
    expect(s.problems[0]!.message).toMatch(/unique/i);
  });

  it('caches outside the experiment folder and never writes into it', async () => {
    const root = tmpDir();
    writeExperiment(path.join(root, 'exp'), { metrics: metricsLines([train(1, 2)]), final: true });
    const cache = tmpDir();
    const before = treeSnapshot(root);
    const store = new SummaryStore({ cacheDir: cache });
    await listWorkspace(root, store);
    await listWorkspace(root, store);
    expect(treeSnapshot(root)).toEqual(before);
    expect(readdirSync(path.join(cache, 'summaries-v2'))).toHaveLength(1);
  });

  it('re-reads when a file changes, resuming metrics at their byte offset', async () => {
    const cache = tmpDir();
    const dir = writeExperiment(path.join(tmpDir(), 'exp'), {
      metrics: metricsLines([train(1, 2), train(2, 1)]),
    });
    const first = await new SummaryStore({ cacheDir: cache }).summarize(dir);
    expect(first.total_steps).toBe(2);
    appendFileSync(path.join(dir, 'logs', 'metrics.jsonl'), metricsLines([train(3, 0.5)]));
    // A new store (a restarted app) resumes from the disk cache.
    const second = await new SummaryStore({ cacheDir: cache }).summarize(dir);
    expect(second.total_steps).toBe(3);
    expect(second.metrics['train/loss']).toMatchObject({ count: 3, best: 0.5 });
    writeFileSync(path.join(dir, 'FAILED.txt'), 'Failed at step 3\nboom\n');
    const third = await new SummaryStore({ cacheDir: cache }).summarize(dir);
    expect(third.status).toMatchObject({ state: 'failed', failedAtStep: 3 });
  });

  it('starts over when metrics.jsonl is rewritten', async () => {
    const cache = tmpDir();
    const dir = writeExperiment(path.join(tmpDir(), 'exp'), {
      metrics: metricsLines([train(1, 2), train(2, 1)]),
    });
    const store = new SummaryStore({ cacheDir: cache });
    await store.summarize(dir);
    writeFileSync(
      path.join(dir, 'logs', 'metrics.jsonl'),
      metricsLines([train(10, 9), train(11, 8), train(12, 7)]),
    );
    const s = await store.summarize(dir);
    expect(s.total_steps).toBe(12);
    expect(s.metrics['train/loss']).toMatchObject({ count: 3, min: 7 });
  });

  it('a damaged experiment is listed with its problem and does not stop the others', async () => {
    const root = tmpDir();
    writeExperiment(path.join(root, 'good'), { metrics: metricsLines([train(1, 1)]) });
    writeExperiment(path.join(root, 'bad'), { config: 'a: [1, 2\n', metrics: '{oops\n' });
    const listing = await listWorkspace(root, new SummaryStore({ cacheDir: false }));
    const bad = listing.experiments.find((e) => e.folder === 'bad')!;
    const good = listing.experiments.find((e) => e.folder === 'good')!;
    expect(good.total_steps).toBe(1);
    expect(bad.problems.map((p) => p.file).sort()).toEqual(['config.yaml', 'logs/metrics.jsonl']);
    expect(bad.problems.find((p) => p.file === 'config.yaml')!.line).toBeGreaterThan(0);
    expect(bad.malformedLines).toBe(1);
  });

  it('refuses alias bombs in config.yaml', async () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i++)
      bomb.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
          .fill('*' + String.fromCharCode(97 + i))
          .join(',')}]`,
      );
    const dir = writeExperiment(path.join(tmpDir(), 'exp'), { config: bomb.join('\n') + '\n' });
    const s = await new SummaryStore({ cacheDir: false }).summarize(dir);
    expect(s.problems[0]!.message).toMatch(/alias/i);
  });
});
