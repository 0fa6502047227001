import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli';
import { metricsLines, writeExperiment } from '../../helpers/experiments';
import { treeSnapshot } from '../../helpers/snapshot';
import { tmpDir } from '../../helpers/tmp';

function workspace(): { root: string; a: string; b: string; cacheEnv: NodeJS.ProcessEnv } {
  const root = tmpDir();
  const a = writeExperiment(path.join(root, 'experiments', 'exp001_dpo'), {
    config:
      'experiment:\n  name: exp001_dpo\nalgorithm:\n  name: dpo\ndpo:\n  beta: 0.1\ntraining:\n  lr: 1.0e-5\n  seed: 1\n',
    metrics: metricsLines([
      { step: 1, prefix: 'train', timestamp: 't', 'train/loss': 0.9 },
      { step: 2, prefix: 'train', timestamp: 't', 'train/loss': 0.7 },
      { step: 2, prefix: 'eval', timestamp: 't', 'eval/loss': 0.8, 'eval/accuracy': 0.6 },
    ]),
    final: true,
  });
  const b = writeExperiment(path.join(root, 'experiments', 'exp002_dpo'), {
    config:
      'experiment:\n  name: exp002_dpo\nalgorithm:\n  name: dpo\ndpo:\n  beta: 0.5\ntraining:\n  lr: 1.0e-5\n  seed: 1\n',
    metrics: '{"step": 1, "prefix": "train", "train/loss": NaN}\n',
    failed: 'Failed at step 1\nTraceback (most recent call last):\nValueError: nan loss\n',
  });
  return { root, a, b, cacheEnv: { EXPDESK_CACHE_DIR: tmpDir() } };
}

describe('expdesk CLI', () => {
  it('list shows every experiment with its status, and writes nothing into the folders', () => {
    const { root, cacheEnv } = workspace();
    const before = treeSnapshot(root);
    const r = runCli(['list', root], cacheEnv);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/completed\?\s+exp001_dpo\s+dpo\s+2\s+0\.7/);
    expect(r.stdout).toMatch(/failed\s+exp002_dpo/);
    const json = JSON.parse(runCli(['list', root, '--json'], cacheEnv).stdout);
    expect(json.experiments.map((e: { name: string }) => e.name)).toEqual(['exp001_dpo', 'exp002_dpo']);
    expect(treeSnapshot(root)).toEqual(before);
  });

  it('summarize --json gives the seed fields, NaN as null', () => {
    const { a, b, cacheEnv } = workspace();
    const r = runCli(['summarize', a, b, '--json'], cacheEnv);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out[0]).toMatchObject({
      name: 'exp001_dpo',
      algorithm: 'dpo',
      total_steps: 2,
      final_loss: 0.7,
      final_eval: { 'eval/loss': 0.8, 'eval/accuracy': 0.6 },
      status: 'completed',
    });
    expect(out[1]).toMatchObject({
      name: 'exp002_dpo',
      final_loss: null,
      status: 'failed',
      failed_at_step: 1,
    });
  });

  it('compare lists only the config keys that differ (naming keys apart in text), in text, JSON and CSV', () => {
    const { a, b, cacheEnv } = workspace();
    const text = runCli(['compare', a, b], cacheEnv);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/dpo\.beta\s+0\.1\s+0\.5/);
    expect(text.stdout).not.toMatch(/training\.lr/);
    // The run's own name differs by nature: said in one line after the settings, listed with --all-keys.
    expect(text.stdout).toContain('config keys that differ (1):');
    expect(text.stdout).not.toMatch(/^experiment\.name\s/m);
    expect(text.stdout).toContain('run names differ too (experiment.name; --all-keys shows them)');
    const all = runCli(['compare', a, b, '--all-keys'], cacheEnv).stdout;
    expect(all).toMatch(/^experiment\.name\s+exp001_dpo\s+exp002_dpo/m);
    expect(all).toContain('config keys that differ (2):');
    const json = JSON.parse(runCli(['compare', a, b, '--json'], cacheEnv).stdout);
    expect(json.config_diff.map((r: { key: string }) => r.key)).toEqual(['dpo.beta', 'experiment.name']);
    const csv = runCli(['compare', a, b, '--csv'], cacheEnv).stdout.trim().split('\n');
    expect(csv[0]).toBe(
      'name,algorithm,total_steps,final_loss,eval/accuracy,eval/loss,dpo.beta,experiment.name',
    );
    expect(csv[2]).toBe('exp002_dpo,dpo,1,NaN,,,0.5,exp002_dpo');
  });

  it('show prints the traceback of a failed run and the problems found', () => {
    const { b, cacheEnv } = workspace();
    const r = runCli(['show', b], cacheEnv);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('status: failed — FAILED.txt: failed at step 1');
    expect(r.stdout).toContain('ValueError: nan loss');
  });

  it('a missing path or a folder without experiments exits non-zero with one clear line', () => {
    const { cacheEnv } = workspace();
    const missing = runCli(['list', '/nonexistent/expdesk'], cacheEnv);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim()).toBe('expdesk: no such folder: /nonexistent/expdesk');
    const empty = tmpDir();
    const none = runCli(['summarize', empty, '--json'], cacheEnv);
    expect(none.code).not.toBe(0);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/is not an experiment/);
  });
});
