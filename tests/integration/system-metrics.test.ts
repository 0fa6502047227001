/**
 * System metrics end to end (issue 13): the real `expdesk run` starts the
 * real Python wrapper in tmux, whose sampler finds a stand-in nvidia-smi on
 * PATH (two GPUs) and appends seed-style records to logs/system.jsonl;
 * `expdesk show --json` then summarises them (last, min, max, mean).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXPDESK_BIN, runCli } from '../helpers/cli';
import { demoProject, usePrivateTmux } from '../helpers/demo-project';
import { fakeNvidiaSmi } from '../helpers/nvidia-smi';
import { pythonLines } from '../helpers/python-json';
import { tmpDir } from '../helpers/tmp';

const tmux = usePrivateTmux();

/** `expdesk run` of the demo for 15 steps in a new project; the experiment folder. */
function run(extraArgs: string[], env: Record<string, string>): string {
  const proj = demoProject('expdesk-sys-');
  const r = spawnSync(
    process.execPath,
    [
      EXPDESK_BIN,
      'run',
      '--config',
      'configs/dpo_beta0.05.yaml',
      '--set',
      'training.max_steps=15',
      ...extraArgs,
      '--',
      'python3',
      'train.py',
      '{config}',
      '--step-delay',
      '0.1',
    ],
    {
      cwd: proj,
      encoding: 'utf8',
      env: { ...process.env, ...tmux.env, EXPDESK_CACHE_DIR: tmpDir(), ...env },
      timeout: 120_000,
    },
  );
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n')[0]!;
}

describe('system metrics', { timeout: 180_000 }, () => {
  it('records two GPUs from nvidia-smi, CPU, memory, the run’s RSS and free disk; show --json summarises them', () => {
    const bin = fakeNvidiaSmi();
    const exp = run(['--system-interval', '0.2'], { PATH: `${bin}:${process.env.PATH}` });
    const records = pythonLines(path.join(exp, 'logs', 'system.jsonl'));
    expect(records.length).toBeGreaterThanOrEqual(2);
    for (const r of records) {
      expect(r.prefix).toBe('system');
      expect(typeof r.timestamp).toBe('string');
      expect(r.step === null || typeof r.step === 'number').toBe(true);
      expect(r).toMatchObject({
        'system/gpu0/util_percent': 87,
        'system/gpu0/mem_used_mb': 30512,
        'system/gpu0/mem_total_mb': 40960,
        'system/gpu0/temp_c': 71,
        'system/gpu0/power_w': 245.31,
        'system/gpu1/util_percent': 12,
        'system/gpu1/mem_used_mb': 1024,
        'system/gpu1/temp_c': 40,
      });
      // "[N/A]" power: the field is left out, not written as a string or zero.
      expect(r).not.toHaveProperty('system/gpu1/power_w');
      expect(r['system/mem_used_mb']).toBeGreaterThan(0);
      expect(r['system/disk_free_gb']).toBeGreaterThan(0);
    }
    // The step is the training step the run had reached: it never goes back, and ends at the last one.
    const steps = records.map((r) => r.step).filter((s): s is number => typeof s === 'number');
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(steps.at(-1)).toBeLessThanOrEqual(15);
    expect(records.some((r) => (r['system/proc_rss_mb'] as number) > 1)).toBe(true);
    expect(records.some((r) => typeof r['system/cpu_percent'] === 'number')).toBe(true);

    const show = runCli(['show', '--json', exp]);
    expect(show.code, show.stderr).toBe(0);
    const system = (JSON.parse(show.stdout) as { system: Record<string, Record<string, number>> }).system;
    expect(system['system/gpu0/mem_used_mb']).toEqual({
      last: 30512,
      min: 30512,
      max: 30512,
      mean: 30512,
      count: records.length,
    });
    expect(system['system/gpu1/util_percent']).toMatchObject({ last: 12, mean: 12 });
    expect(system['system/gpu1/power_w']).toBeUndefined();
    const rss = records.map((r) => r['system/proc_rss_mb'] as number).filter((v) => typeof v === 'number');
    expect(system['system/proc_rss_mb']).toMatchObject({ max: Math.max(...rss), min: Math.min(...rss) });
    expect(system['system/proc_rss_mb']!.mean).toBeCloseTo(rss.reduce((a, b) => a + b, 0) / rss.length, 6);

    const text = runCli(['show', exp]);
    expect(text.stdout).toMatch(/SYSTEM\s+LAST\s+MIN\s+MAX\s+MEAN/);
    expect(text.stdout).toMatch(/system\/gpu0\/util_percent\s+87\s+87\s+87\s+87/);

    // The listing's GPU fields: the larger GPU's memory, utilisation averaged over the two GPUs.
    const list = runCli(['list', '--json', path.dirname(exp)]);
    expect(list.code, list.stderr).toBe(0);
    const listed = (JSON.parse(list.stdout) as { experiments: Array<{ path: string; gpu: unknown }> })
      .experiments;
    expect(listed.find((e) => e.path === exp)?.gpu).toEqual({ peakMemoryMiB: 30512, meanUtilization: 49.5 });
  });

  it('without nvidia-smi records no GPU fields and no error; --system-interval 0 records nothing', () => {
    // PATH without any nvidia-smi (there is none on this machine; make sure).
    const noGpu = run(['--system-interval', '0.2'], { PATH: '/usr/bin:/bin' });
    const records = pythonLines(path.join(noGpu, 'logs', 'system.jsonl'));
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) {
      expect(Object.keys(r).filter((k) => k.startsWith('system/gpu'))).toEqual([]);
      expect(r['system/mem_total_mb']).toBeGreaterThan(0);
    }
    expect(readFileSync(path.join(noGpu, 'logs', 'train.log'), 'utf8')).not.toContain('expdesk: system');

    const off = run(['--system-interval', '0'], {});
    expect(existsSync(path.join(off, 'logs', 'system.jsonl'))).toBe(false);
    const show = runCli(['show', '--json', off]);
    expect(JSON.parse(show.stdout).system).toEqual({});
  });
});
