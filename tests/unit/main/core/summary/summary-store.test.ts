import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExperimentSummary } from '../../../../../src/shared/model';
import { CACHE_VERSION, SummaryStore } from '../../../../../src/main/core/summary/summary-store';
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
    await store.flush();
    expect(treeSnapshot(root)).toEqual(before);
    expect(readdirSync(path.join(cache, `summaries-v${CACHE_VERSION}`))).toHaveLength(1);
  });

  it("shares a folder's entries out among files: one experiment changed rewrites its own file only", async () => {
    const root = tmpDir();
    for (let i = 0; i < 40; i++)
      writeExperiment(path.join(root, `exp${String(i).padStart(2, '0')}`), {
        metrics: metricsLines([train(1, i)]),
      });
    const cache = tmpDir();
    const entries = path.join(cache, `summaries-v${CACHE_VERSION}`);
    // An earlier build's single file for this folder: it goes once the shards are written.
    mkdirSync(entries, { recursive: true });
    const store = new SummaryStore({ cacheDir: cache });
    await listWorkspace(root, store);
    await store.flush();
    const files = readdirSync(entries);
    expect(files.length).toBeGreaterThan(10);
    const whole = path.join(entries, files[0]!.replace(/-\d+\.json$/, '.json'));
    writeFileSync(whole, '{}');
    const old = new Date('2026-01-01T00:00:00Z');
    for (const f of files) utimesSync(path.join(entries, f), old, old);

    appendFileSync(path.join(root, 'exp07', 'logs', 'metrics.jsonl'), metricsLines([train(2, 0.25)]));
    const restarted = new SummaryStore({ cacheDir: cache });
    const listing = await listWorkspace(root, restarted);
    await restarted.flush();
    expect(listing.experiments.find((e) => e.name === 'exp07')).toMatchObject({
      total_steps: 2,
      final_loss: 0.25,
    });
    const rewritten = readdirSync(entries).filter(
      (f) => statSync(path.join(entries, f)).mtimeMs > old.getTime(),
    );
    expect(rewritten).toHaveLength(1);
    expect(readdirSync(entries)).not.toContain(path.basename(whole));
    // And the rest still come from their files: a third process reads every summary back.
    const third = new SummaryStore({ cacheDir: cache });
    const again = await listWorkspace(root, third);
    expect(again.experiments.map((e) => e.final_loss)).toEqual(listing.experiments.map((e) => e.final_loss));
  });

  it('re-reads when a file changes, resuming metrics at their byte offset', async () => {
    const cache = tmpDir();
    const dir = writeExperiment(path.join(tmpDir(), 'exp'), {
      metrics: metricsLines([train(1, 2), train(2, 1)]),
    });
    const store = new SummaryStore({ cacheDir: cache });
    const first = await store.summarize(dir);
    expect(first.total_steps).toBe(2);
    await store.flush();
    appendFileSync(path.join(dir, 'logs', 'metrics.jsonl'), metricsLines([train(3, 0.5)]));
    // A new store (a restarted app) resumes from the disk cache.
    const restarted = new SummaryStore({ cacheDir: cache });
    const second = await restarted.summarize(dir);
    expect(second.total_steps).toBe(3);
    expect(second.metrics['train/loss']).toMatchObject({ count: 3, best: 0.5 });
    await restarted.flush();
    writeFileSync(path.join(dir, 'FAILED.txt'), 'Failed at step 3\nboom\n');
    const third = await new SummaryStore({ cacheDir: cache }).summarize(dir);
    expect(third.status).toMatchObject({ state: 'failed', failedAtStep: 3 });
  });

  it('a listing with a warm cache (in memory or on disk) sees every changed, new or removed input file', async () => {
    const root = tmpDir();
    const cache = tmpDir();
    const a = writeExperiment(path.join(root, 'a'), { metrics: metricsLines([train(1, 2), train(2, 1)]) });
    const b = writeExperiment(path.join(root, 'b'), { metadata: { git_hash: 'abc', git_dirty: false } });
    const store = new SummaryStore({ cacheDir: cache });
    const byFolder = async (s: SummaryStore): Promise<Record<string, ExperimentSummary>> =>
      Object.fromEntries((await listWorkspace(root, s)).experiments.map((e) => [e.folder, e]));
    const first = await byFolder(store);
    expect(first.a).toMatchObject({ total_steps: 2, algorithm: 'dpo', params: {} });
    expect(first.b).toMatchObject({ gitDirty: false, status: { source: 'inferred' } });

    appendFileSync(path.join(a, 'logs', 'metrics.jsonl'), metricsLines([train(3, 0.5)]));
    writeFileSync(
      path.join(a, 'config.yaml'),
      'experiment:\n  name: a\nalgorithm:\n  name: ppo\ntraining:\n  lr: 1.0e-05\n  optimizer: adam\n',
    );
    writeFileSync(
      path.join(b, 'expdesk_status.json'),
      JSON.stringify({
        schema: 'expdesk.status/1',
        state: 'completed',
        exit_code: 0,
        started_at: '2026-01-01T00:00:00',
      }),
    );
    writeFileSync(path.join(b, 'metadata.json'), JSON.stringify({ git_hash: 'abc', git_dirty: true }));
    await store.flush();
    for (const s of [store, new SummaryStore({ cacheDir: cache })]) {
      const again = await byFolder(s);
      expect(again.a).toMatchObject({ total_steps: 3, final_loss: 0.5, algorithm: 'ppo' });
      // The key hyperparameters the table shows ride along; other config keys do not.
      expect(again.a!.params).toEqual({ 'training.lr': 1e-5 });
      expect(again.b).toMatchObject({
        gitDirty: true,
        status: { state: 'completed', source: 'status-file' },
      });
    }

    rmSync(path.join(b, 'expdesk_status.json'));
    writeFileSync(path.join(b, 'FAILED.txt'), 'Failed at step 7\nboom\n');
    const third = await byFolder(store);
    expect(third.b!.status).toMatchObject({ state: 'failed', failedAtStep: 7 });
    await store.flush();
    rmSync(path.join(b, 'FAILED.txt'));
    expect((await byFolder(new SummaryStore({ cacheDir: cache }))).b!.status.source).toBe('inferred');
  });

  it('a warm listing infers "running" from a log written just now, and stops when the run leaves a record', async () => {
    const root = tmpDir();
    const cache = tmpDir();
    const a = writeExperiment(path.join(root, 'a'), { metrics: metricsLines([train(1, 2)]) });
    const log = path.join(a, 'logs', 'train.log');
    const old = new Date(Date.now() - 3_600_000);
    writeFileSync(log, 'step 1\n');
    utimesSync(log, old, old);
    utimesSync(path.join(a, 'logs', 'metrics.jsonl'), old, old);
    const stateOf = async (s: SummaryStore): Promise<ExperimentSummary['status']> =>
      (await listWorkspace(root, s)).experiments[0]!.status;
    const store = new SummaryStore({ cacheDir: cache });
    expect(await stateOf(store)).toMatchObject({ state: 'unknown', source: 'inferred' });
    await store.flush();
    // Only the log moves: the cached entry stands, the status is judged again from the log's mtime.
    appendFileSync(log, 'step 2\n');
    for (const s of [store, new SummaryStore({ cacheDir: cache })])
      expect(await stateOf(s)).toMatchObject({ state: 'running', source: 'inferred' });
    writeFileSync(path.join(a, 'FAILED.txt'), 'Failed at step 1\n');
    expect(await stateOf(store)).toMatchObject({ state: 'failed', source: 'failed-file' });
    // The record said "failed": once FAILED.txt is gone (a run started again), the log's mtime counts.
    await store.flush();
    rmSync(path.join(a, 'FAILED.txt'));
    appendFileSync(log, 'step 1 again\n');
    for (const s of [store, new SummaryStore({ cacheDir: cache })])
      expect(await stateOf(s)).toMatchObject({ state: 'running', source: 'inferred' });
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

describe('SummaryStore: an unreadable metrics.jsonl', () => {
  it('is one problem while it lasts, kept when the config changes, gone once the file is regular', async () => {
    const dir = tmpDir();
    mkdirSync(path.join(dir, 'logs'));
    writeFileSync(path.join(dir, 'config.yaml'), 'experiment:\n  name: a\n');
    const metrics = path.join(dir, 'logs', 'metrics.jsonl');
    execFileSync('mkfifo', [metrics]);
    const store = new SummaryStore({ cacheDir: tmpDir() });
    const fifo = [
      { file: 'logs/metrics.jsonl', message: 'logs/metrics.jsonl is a FIFO, not a regular file' },
    ];
    expect((await store.summarize(dir)).problems).toEqual(fifo);
    // The config changes (its small-file problems are re-derived): the metrics problem stays, once.
    writeFileSync(path.join(dir, 'config.yaml'), 'experiment:\n  name: b\n');
    utimesSync(path.join(dir, 'config.yaml'), new Date(), new Date(Date.now() + 5000));
    expect((await store.summarize(dir)).problems).toEqual(fifo);
    rmSync(metrics);
    writeFileSync(metrics, '{"step": 1, "prefix": "train", "train/loss": 0.5}\n');
    const fixed = await store.summarize(dir);
    expect(fixed.problems).toEqual([]);
    expect(fixed.final_loss).toBe(0.5);
  });
});
