/**
 * The listing's GPU fields (issue 13): the summary store folds
 * logs/system.jsonl beside metrics.jsonl into peak GPU memory and mean GPU
 * utilisation, and keeps them up to date as the file grows.
 */
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetricsFold } from '../../../../../src/shared/metrics-summary';
import { gpuSummary } from '../../../../../src/shared/system-metrics';
import { SummaryStore } from '../../../../../src/main/core/summary/summary-store';
import { MetricsFeeds } from '../../../../../src/main/core/metrics/metrics-feed';
import { metricsLines, writeExperiment } from '../../../../helpers/experiments';
import { tmpDir } from '../../../../helpers/tmp';

/** One sample of two GPUs, as the run wrapper writes it. */
function sample(step: number, gpu0: [number, number], gpu1: [number, number]): Record<string, unknown> {
  return {
    step,
    prefix: 'system',
    timestamp: `2026-01-01T00:00:${String(step).padStart(2, '0')}`,
    'system/gpu0/util_percent': gpu0[0],
    'system/gpu0/mem_used_mb': gpu0[1],
    'system/gpu0/mem_total_mb': 40960,
    'system/gpu1/util_percent': gpu1[0],
    'system/gpu1/mem_used_mb': gpu1[1],
    'system/gpu1/mem_total_mb': 40960,
    'system/cpu_percent': 50,
  };
}

describe('GPU summary fold', () => {
  it('takes the highest memory of any GPU and the utilisation averaged over samples, then GPUs', () => {
    const fold = new MetricsFold();
    fold.add(sample(1, [80, 30000], [10, 1000]));
    fold.add(sample(2, [100, 31000], [30, 900]));
    expect(gpuSummary(fold.state)).toEqual({ peakMemoryMiB: 31000, meanUtilization: 55 });
  });

  it('is null for samples without GPU fields', () => {
    const fold = new MetricsFold();
    fold.add({ step: 1, prefix: 'system', timestamp: 't', 'system/cpu_percent': 12 });
    expect(gpuSummary(fold.state)).toBeNull();
  });
});

describe('summary store: GPU fields', () => {
  it('reads logs/system.jsonl into the summary, follows appends, and drops the fields when it goes', async () => {
    const dir = writeExperiment(path.join(tmpDir(), 'run'), {
      metrics: metricsLines([{ step: 1, prefix: 'train', 'train/loss': 1 }]),
    });
    const file = path.join(dir, 'logs', 'system.jsonl');
    writeFileSync(file, metricsLines([sample(1, [80, 30000], [10, 1000])]));
    const store = new SummaryStore({ cacheDir: false, feeds: new MetricsFeeds() });
    expect((await store.summarize(dir)).gpu).toEqual({ peakMemoryMiB: 30000, meanUtilization: 45 });

    appendFileSync(file, metricsLines([sample(2, [100, 32000], [30, 900])]));
    expect((await store.summarize(dir)).gpu).toEqual({ peakMemoryMiB: 32000, meanUtilization: 55 });

    rmSync(file);
    expect((await store.summarize(dir)).gpu).toBeNull();
  });

  it('a warm listing from the disk cache keeps the fields and follows appends after it', async () => {
    const cacheDir = tmpDir();
    const dir = writeExperiment(path.join(tmpDir(), 'run'), {});
    const file = path.join(dir, 'logs', 'system.jsonl');
    writeFileSync(file, metricsLines([sample(1, [80, 30000], [10, 1000])]));
    const first = new SummaryStore({ cacheDir, feeds: new MetricsFeeds() });
    await first.summarize(dir);
    await first.flush();

    const warm = new SummaryStore({ cacheDir, feeds: new MetricsFeeds() });
    expect((await warm.summarize(dir)).gpu).toEqual({ peakMemoryMiB: 30000, meanUtilization: 45 });
    appendFileSync(file, metricsLines([sample(2, [100, 500], [30, 900])]));
    // The first sample's peak still counts beside the second's utilisation.
    expect((await warm.summarize(dir)).gpu).toEqual({ peakMemoryMiB: 30000, meanUtilization: 55 });
  });
});
