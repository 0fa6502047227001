/**
 * The listing's GPU fields end to end (issue 13): a seed-style experiment
 * folder with the run wrapper's logs/system.jsonl for two GPUs, listed by the
 * real `expdesk list --json`, cold and then warm from the summary cache.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { metricsLines, writeExperiment } from '../helpers/experiments';
import { tmpDir } from '../helpers/tmp';

/** A sample in the form resources/runner/expdesk_system.py writes (nvidia-smi's MiB and percent). */
function sample(step: number, gpus: Array<[util: number, memMiB: number]>): Record<string, unknown> {
  const r: Record<string, unknown> = { step, prefix: 'system', timestamp: `2026-01-01T10:00:0${step}.000` };
  gpus.forEach(([util, mem], i) => {
    r[`system/gpu${i}/util_percent`] = util;
    r[`system/gpu${i}/mem_used_mb`] = mem;
    r[`system/gpu${i}/mem_total_mb`] = 40960;
    r[`system/gpu${i}/temp_c`] = 60;
  });
  r['system/cpu_percent'] = 40;
  r['system/mem_used_mb'] = 8000;
  return r;
}

interface Listed {
  folder: string;
  gpu: { peakMemoryMiB: number | null; meanUtilization: number | null } | null;
}

function list(root: string, cache: string): Listed[] {
  const r = runCli(['list', root, '--json'], { EXPDESK_CACHE_DIR: cache });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { experiments: Listed[] }).experiments;
}

describe('expdesk list --json: GPU fields', { timeout: 120_000 }, () => {
  it('carries peak GPU memory and mean GPU utilisation for a run with two GPUs, null for one without', () => {
    const root = tmpDir();
    const train = metricsLines([{ step: 1, prefix: 'train', timestamp: 't', 'train/loss': 0.5 }]);
    const gpuRun = writeExperiment(path.join(root, 'with_gpu'), { metrics: train });
    writeExperiment(path.join(root, 'cpu_only'), { metrics: train });
    const system = path.join(gpuRun, 'logs', 'system.jsonl');
    writeFileSync(
      system,
      metricsLines([
        sample(1, [
          [90, 30000],
          [10, 1000],
        ]),
        sample(2, [
          [70, 32512],
          [30, 1200],
        ]),
      ]),
    );
    const cache = tmpDir();
    const byFolder = (rows: Listed[]): Record<string, Listed['gpu']> =>
      Object.fromEntries(rows.map((e) => [e.folder, e.gpu]));

    expect(byFolder(list(root, cache))).toEqual({
      with_gpu: { peakMemoryMiB: 32512, meanUtilization: 50 },
      cpu_only: null,
    });

    // A later sample, listed warm from the summary cache: the fields move with the file.
    appendFileSync(
      system,
      metricsLines([
        sample(3, [
          [100, 39000],
          [80, 1100],
        ]),
      ]),
    );
    expect(byFolder(list(root, cache))).toEqual({
      with_gpu: { peakMemoryMiB: 39000, meanUtilization: 63.333333333333336 },
      cpu_only: null,
    });
  });
});
