import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allButSeedKeys, groupStat } from '../../../src/shared/groups';
import { runCli } from '../../helpers/cli';
import { metricsLines, writeExperiment } from '../../helpers/experiments';
import { tmpDir } from '../../helpers/tmp';

/** Python's statistics.stdev: the sample standard deviation (n − 1), pandas' default. */
function pythonStdev(values: number[]): number {
  return Number(
    execFileSync(
      'python3',
      ['-c', 'import json,sys,statistics; print(repr(statistics.stdev(json.load(sys.stdin))))'],
      {
        input: JSON.stringify(values),
        encoding: 'utf8',
      },
    ).trim(),
  );
}

function run(
  root: string,
  name: string,
  beta: number,
  seed: number,
  loss: number | 'NaN',
  acc: number,
): string {
  const lossText = loss === 'NaN' ? 'NaN' : String(loss);
  return writeExperiment(path.join(root, name), {
    config: `experiment:\n  name: ${name}\n  output_dir: out/${name}\nalgorithm:\n  name: dpo\ndpo:\n  beta: ${beta}\ntraining:\n  seed: ${seed}\n`,
    metrics:
      `{"step": 10, "prefix": "train", "train/loss": ${lossText}}\n` +
      metricsLines([{ step: 10, prefix: 'eval', 'eval/accuracy': acc }]),
  });
}

describe('expdesk summarize --group-by', () => {
  it('prints one object per group with mean, sample std (n − 1), min, max and n; NaN left out and counted', () => {
    const root = tmpDir();
    const dirs = [
      run(root, 'a1', 0.1, 1, 0.5, 0.7),
      run(root, 'b1', 0.5, 1, 0.9, 0.5),
      run(root, 'a2', 0.1, 2, 0.7, 0.8),
      run(root, 'a3', 0.1, 3, 0.6, 0.75),
      run(root, 'b2', 0.5, 2, 'NaN', 0.55),
    ];
    const r = runCli(['summarize', ...dirs, '--json', '--group-by', 'dpo.beta'], {
      EXPDESK_CACHE_DIR: tmpDir(),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const groups = JSON.parse(r.stdout);
    expect(groups).toHaveLength(2);
    const [a, b] = groups;
    expect(a.group).toEqual({ 'dpo.beta': 0.1 });
    expect(a.n).toBe(3);
    expect(a.experiments).toEqual(['a1', 'a2', 'a3']);
    expect(a.final_loss.mean).toBeCloseTo(0.6, 12);
    expect(a.final_loss.std).toBeCloseTo(pythonStdev([0.5, 0.7, 0.6]), 12);
    expect(a.final_loss).toMatchObject({ min: 0.5, max: 0.7, n: 3, nan: 0 });
    expect(a.final_eval['eval/accuracy'].std).toBeCloseTo(pythonStdev([0.7, 0.8, 0.75]), 12);
    expect(b.group).toEqual({ 'dpo.beta': 0.5 });
    expect(b.experiments).toEqual(['b1', 'b2']);
    // The NaN loss is left out of the statistics and counted; one value has no sample std.
    expect(b.final_loss).toEqual({ mean: 0.9, std: null, min: 0.9, max: 0.9, n: 1, nan: 1 });
    expect(b.final_eval['eval/accuracy'].n).toBe(2);
  }, 60_000);

  it('groups by several keys; a key a run lacks groups as null', () => {
    const root = tmpDir();
    const dirs = [run(root, 'a1', 0.1, 1, 0.5, 0.7), run(root, 'a2', 0.1, 2, 0.7, 0.8)];
    const r = runCli(['summarize', ...dirs, '--group-by', 'dpo.beta,training.seed,missing.key'], {
      EXPDESK_CACHE_DIR: tmpDir(),
    });
    const groups = JSON.parse(r.stdout);
    expect(groups.map((g: { group: unknown }) => g.group)).toEqual([
      { 'dpo.beta': 0.1, 'training.seed': 1, 'missing.key': null },
      { 'dpo.beta': 0.1, 'training.seed': 2, 'missing.key': null },
    ]);
    expect(runCli(['summarize', ...dirs, '--group-by', 'a,,b']).code).toBe(2);
  }, 60_000);

  it('"everything but the seed" keeps the keys that differ, without seeds, names and output folders', () => {
    const configs = [
      { experiment: { name: 'x', output_dir: 'o/x' }, dpo: { beta: 0.1 }, training: { seed: 1, lr: 1 } },
      { experiment: { name: 'y', output_dir: 'o/y' }, dpo: { beta: 0.5 }, training: { seed: 2, lr: 1 } },
    ];
    expect(allButSeedKeys(configs)).toEqual(['dpo.beta']);
    expect(groupStat([1, 2, null, 3])).toEqual({ mean: 2, std: 1, min: 1, max: 3, n: 3, nan: 1 });
  });
});
