/**
 * Benchmark: what the run wrapper's system sampler (resources/runner/expdesk_system.py)
 * costs — CPU time per sample (its own and its children's: the nvidia-smi it
 * runs) against one core over the default 10 s interval, measured in the same
 * run. The issue's target: under 1% of one core. No GPU here: a stand-in
 * nvidia-smi (a shell script printing two GPUs' CSV) runs in its place; a real
 * nvidia-smi costs more than a shell, so the figure for it is printed as well.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchResult } from './report';

const REPO = path.resolve(import.meta.dirname, '..');
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 100);
const INTERVAL_S = 10;

/** Python measuring SAMPLES records of a sampler following a run of 8 processes. */
const MEASURE = `
import json, os, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import expdesk_system
kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(8)]
s = expdesk_system.SystemSampler(sys.argv[2], 10, os.getpid())
n = int(sys.argv[3])
s.sample()
t0 = os.times()
for _ in range(n):
    s.sample()
t1 = os.times()
for k in kids:
    k.kill()
own = (t1.user + t1.system - t0.user - t0.system) / n
children = (t1.children_user + t1.children_system - t0.children_user - t0.children_system) / n
print(json.dumps({"own": own, "children": children, "samples": s.samples}))
`;

export async function benchSystemSampling(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-bench-system-'));
  try {
    const bin = path.join(dir, 'bin');
    const exp = path.join(dir, 'exp');
    mkdirSync(bin);
    mkdirSync(path.join(exp, 'logs'), { recursive: true });
    const smi = path.join(bin, 'nvidia-smi');
    writeFileSync(
      smi,
      "#!/bin/sh\nprintf '0, 87, 30512, 40960, 71, 245.31\\n1, 12, 1024, 40960, 40, 61.2\\n'\n",
    );
    chmodSync(smi, 0o755);
    writeFileSync(
      path.join(exp, 'logs', 'metrics.jsonl'),
      '{"step": 1, "prefix": "train", "train/loss": 1}\n',
    );
    const out = execFileSync(
      'python3',
      ['-c', MEASURE, path.join(REPO, 'resources', 'runner'), exp, String(SAMPLES)],
      { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } },
    );
    const m = JSON.parse(out) as { own: number; children: number; samples: number };
    if (m.samples !== SAMPLES + 1) throw new Error(`the sampler wrote ${m.samples} records`);
    const perSample = m.own + m.children;
    return [
      {
        name: `system sampler: CPU per sample (${SAMPLES} samples, 8-process run, stand-in nvidia-smi for 2 GPUs)`,
        figure: `${(perSample * 1000).toFixed(2)} ms CPU/sample (sampler ${(m.own * 1000).toFixed(2)} ms, nvidia-smi ${(m.children * 1000).toFixed(2)} ms)`,
        baseline: `one core over the ${INTERVAL_S} s interval (${INTERVAL_S * 1000} ms)`,
        ratio: perSample / INTERVAL_S,
        target: 0.01,
        targetText: '< 1% of one core',
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
