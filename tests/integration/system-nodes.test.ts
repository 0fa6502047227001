/**
 * One set of system metrics per node of a multi-node SLURM job (issues 11
 * and 13), without a multi-node cluster: the real run wrapper is started the
 * way a batch script starts it (the node's environment, the job's SLURM_*
 * variables: two nodes, this one "nodeA"), with a stand-in `srun` on PATH
 * that runs its task once per "node" (SLURMD_NODENAME nodeA and nodeB), as
 * the real one does with --ntasks-per-node=1. The wrapper's node is sampled
 * into logs/system.jsonl, the other into logs/system-nodeB.jsonl, and
 * `expdesk show` presents one set per node. (A real one-node SLURM job
 * yields one set: tests/integration/slurm.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli';
import { fakeNvidiaSmi } from '../helpers/nvidia-smi';
import { pythonLines } from '../helpers/python-json';
import { tmpDir } from '../helpers/tmp';

describe('system metrics of a multi-node job', { timeout: 120_000 }, () => {
  it('one sampler per other node (srun, one task per node) into logs/system-<node>.jsonl; show has one set per node', () => {
    const bin = fakeNvidiaSmi();
    const args = path.join(bin, 'srun.args');
    // The stand-in srun: its options recorded, its task run once per "node", both ended by its SIGTERM.
    writeFileSync(
      path.join(bin, 'srun'),
      [
        '#!/bin/sh',
        `while [ "\${1#--}" != "$1" ]; do echo "$1" >> '${args}'; shift; done`,
        'SLURMD_NODENAME=nodeA "$@" & a=$!',
        'SLURMD_NODENAME=nodeB "$@" & b=$!',
        "trap 'kill $a $b 2>/dev/null' TERM INT",
        'wait; wait',
        '',
      ].join('\n'),
    );
    chmodSync(path.join(bin, 'srun'), 0o755);
    const exp = tmpDir('expdesk-nodes-');
    writeFileSync(path.join(exp, 'config.yaml'), 'seed: 1\n');
    const spec = path.join(tmpDir('expdesk-nodes-spec-'), 'spec.json');
    writeFileSync(
      spec,
      JSON.stringify({
        exp_dir: exp,
        cwd: exp,
        argv: ['python3', '-c', 'import time; time.sleep(2.5)'],
        env: {},
        env_from_process: true,
        term_is_stop: false,
        tmux_session: null,
        stop_timeouts: [5, 5],
      }),
    );
    const r = spawnSync(
      'python3',
      [path.join(REPO, 'resources/runner/expdesk_run.py'), '--system-interval', '0.2', spec],
      {
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          ...process.env,
          PATH: `${bin}:${process.env.PATH}`,
          SLURM_JOB_ID: '42',
          SLURM_JOB_NUM_NODES: '2',
          SLURMD_NODENAME: 'nodeA',
        },
      },
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(readFileSync(args, 'utf8').split('\n')).toEqual(
      expect.arrayContaining(['--overlap', '--nodes=2', '--ntasks=2', '--ntasks-per-node=1']),
    );
    // The wrapper's node in system.jsonl (with the run's RSS), the other node in a file of its own.
    expect(readdirSync(path.join(exp, 'logs')).filter((n) => n.startsWith('system'))).toEqual([
      'system-nodeB.jsonl',
      'system.jsonl',
    ]);
    const own = pythonLines(path.join(exp, 'logs', 'system.jsonl'));
    const other = pythonLines(path.join(exp, 'logs', 'system-nodeB.jsonl'));
    expect(other.length).toBeGreaterThan(0);
    for (const rec of other) {
      expect(rec).toMatchObject({ prefix: 'system', 'system/gpu0/mem_used_mb': 30512 });
      expect(rec).not.toHaveProperty('system/proc_rss_mb');
    }
    expect(own.some((rec) => typeof rec['system/proc_rss_mb'] === 'number')).toBe(true);
    expect(existsSync(path.join(exp, 'logs', 'system-nodeA.jsonl'))).toBe(false);

    const show = runCli(['show', '--json', exp]);
    expect(show.code, show.stderr).toBe(0);
    const shown = JSON.parse(show.stdout) as {
      system: Record<string, { count: number }>;
      system_nodes: Record<string, Record<string, { max: number; count: number }>>;
    };
    expect(Object.keys(shown.system_nodes)).toEqual(['nodeB']);
    expect(shown.system_nodes.nodeB!['system/gpu0/mem_used_mb']).toMatchObject({
      max: 30512,
      count: other.length,
    });
    expect(shown.system['system/gpu1/util_percent']!.count).toBe(own.length);
    const text = runCli(['show', exp]).stdout;
    expect(text).toMatch(/^SYSTEM\s+LAST\s+MIN\s+MAX\s+MEAN$/m);
    expect(text).toMatch(/^SYSTEM nodeB\s+LAST\s+MIN\s+MAX\s+MEAN$/m);
  });
});
