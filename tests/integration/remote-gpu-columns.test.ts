/**
 * The GPU columns and `expdesk show`'s system summary for an SSH workspace
 * (issue 13), against a real sshd: the remote run wrapper samples a stand-in
 * nvidia-smi (two GPUs, on the sessions' PATH) into logs/system.jsonl; the
 * helper ships those bytes with the listing, and the client computes the
 * same fields as a local listing of the same folder (shared/system-metrics.ts).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli-async';
import { demoProject } from '../helpers/demo-project';
import { fakeNvidiaSmi } from '../helpers/nvidia-smi';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { tmpDir } from '../helpers/tmp';

let sshd: TestSshd;

beforeAll(async () => {
  sshd = await startSshd({ setEnv: { PATH: `${fakeNvidiaSmi()}:${process.env.PATH ?? '/usr/bin:/bin'}` } });
});

afterAll(async () => {
  await sshd?.stop();
});

interface Listed {
  path: string;
  gpu: { peakMemoryMiB: number | null; meanUtilization: number | null } | null;
}

describe('GPU columns over SSH', { timeout: 240_000 }, () => {
  it('list --json over SSH carries the GPU fields a local listing has; show summarises them; appends follow', async () => {
    const proj = demoProject('expdesk-rgpu-');
    const env = { ...sshd.env, EXPDESK_CACHE_DIR: tmpDir() };
    const run = await cli(
      [
        'run',
        '--workspace',
        sshd.url(proj),
        '--config',
        path.join(proj, 'configs', 'dpo_beta0.05.yaml'),
        '--set',
        'training.max_steps=10',
        '--system-interval',
        '0.2',
        '--',
        'python3',
        'train.py',
        '{config}',
        '--step-delay',
        '0.1',
      ],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    const exp = new URL(run.stdout.split('\n')[0]!).pathname;
    const listOf = async (where: string): Promise<Listed[]> => {
      const r = await cli(['list', '--json', where], env);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { experiments: Listed[] }).experiments;
    };
    const gpuOf = (rows: Listed[]): Listed['gpu'] | undefined =>
      rows.find((e) => e.path.endsWith(path.basename(exp)))?.gpu;

    // The wrapper's samples land beside the run (within seconds of its end on a loaded machine).
    const samples = path.join(exp, 'logs', 'system.jsonl');
    for (
      const deadline = Date.now() + 20_000;
      !existsSync(samples) || !readFileSync(samples, 'utf8').includes('\n');
    ) {
      if (Date.now() > deadline) throw new Error(`no system sample in ${samples} 20 s after the run`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const remote = await listOf(sshd.url(path.dirname(exp)));
    const local = await listOf(path.dirname(exp));
    // The stand-in's two GPUs: 30512 and 1024 MiB used, 87 % and 12 % busy — locally, and over SSH alike.
    expect(gpuOf(local)).toEqual({ peakMemoryMiB: 30512, meanUtilization: 49.5 });
    expect(gpuOf(remote)).toEqual(gpuOf(local));

    const show = await cli(['show', '--json', sshd.url(exp)], env);
    expect(show.code, show.stderr).toBe(0);
    const system = (JSON.parse(show.stdout) as { system: Record<string, { max: number; mean: number }> })
      .system;
    expect(system['system/gpu0/mem_used_mb']).toMatchObject({ max: 30512, mean: 30512 });
    expect(system['system/gpu1/util_percent']).toMatchObject({ mean: 12 });

    // A later sample (a busier GPU): the next listing, warm from the cache, moves with it.
    appendFileSync(
      path.join(exp, 'logs', 'system.jsonl'),
      JSON.stringify({
        step: 10,
        prefix: 'system',
        timestamp: '2026-01-01T00:00:00',
        'system/gpu0/mem_used_mb': 40000,
      }) + '\n',
    );
    const again = await listOf(sshd.url(path.dirname(exp)));
    expect(gpuOf(again)?.peakMemoryMiB).toBe(40000);
    expect(gpuOf(again)).toEqual(gpuOf(await listOf(path.dirname(exp))));

    // A multi-node job's other node (logs/system-<node>.jsonl): show over SSH has its own set.
    writeFileSync(
      path.join(exp, 'logs', 'system-gpu-node-2.jsonl'),
      JSON.stringify({ step: 1, prefix: 'system', timestamp: 't', 'system/gpu0/util_percent': 33 }) + '\n',
    );
    const nodes = await cli(['show', '--json', sshd.url(exp)], env);
    expect(nodes.code, nodes.stderr).toBe(0);
    const shown = JSON.parse(nodes.stdout) as {
      system_nodes: Record<string, Record<string, { mean: number }>>;
    };
    expect(Object.keys(shown.system_nodes)).toEqual(['gpu-node-2']);
    expect(shown.system_nodes['gpu-node-2']!['system/gpu0/util_percent']).toMatchObject({ mean: 33 });
  });
});
