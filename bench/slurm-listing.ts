/**
 * Benchmark: listing 200 SLURM experiments (`expdesk list`) on a real
 * single-node cluster (tests/helpers/slurm.ts; needs root), held jobs that
 * stay queued. Figures: the time, and the number of scheduler commands
 * (counted by wrappers of squeue/sacct/scontrol first on PATH), for 8 and 200
 * jobs; baseline: the same listing with the SLURM records set aside (the
 * folders alone), measured in the same run. The target: one scheduler
 * command, at most two, whatever the number of jobs.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { slurmSkipReason, startSlurm } from '../tests/helpers/slurm';
import { median, type BenchResult } from './report';

const REPO = path.resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function cliList(dir: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(REPO, 'bin/expdesk.mjs'), 'list', '--json', dir], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(err))));
  });
}

/** `n` seed-written folders, each submitted (held, so it stays queued) and recorded as Expdesk records it. */
function makeWorkspace(root: string, n: number, submit: (name: string) => string): string {
  const seed = path.join(root, 'seed');
  execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), seed], { stdio: 'ignore' });
  const originals = readdirSync(path.join(seed, 'experiments')).sort();
  const ws = path.join(root, `project${n}`, 'experiments');
  mkdirSync(ws, { recursive: true });
  for (let i = 0; i < n; i++) {
    const name = `exp${String(i + 1).padStart(3, '0')}_slurm`;
    const dir = path.join(ws, name);
    cpSync(path.join(seed, 'experiments', originals[i % originals.length]!), dir, { recursive: true });
    rmSync(path.join(dir, 'FAILED.txt'), { force: true });
    rmSync(path.join(dir, 'checkpoints', 'final'), { recursive: true, force: true });
    const jobId = submit(name);
    writeFileSync(
      path.join(dir, 'expdesk_status.json'),
      JSON.stringify({ schema: 'expdesk.status/1', state: 'queued' }),
    );
    writeFileSync(
      path.join(dir, 'expdesk_slurm.json'),
      JSON.stringify({
        schema: 'expdesk.slurm/1',
        job_id: jobId,
        job_name: name,
        submitted_at: new Date().toISOString(),
        sbatch_options: ['--hold'],
        script: 'expdesk_job.sbatch',
        host: null,
      }),
    );
  }
  return ws;
}

export async function benchSlurmListing(): Promise<BenchResult[]> {
  const skip = slurmSkipReason();
  if (skip) {
    process.stderr.write(`${skip}\n`);
    return [];
  }
  const root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-bench-slurm-'));
  const slurm = await startSlurm();
  try {
    const submit = (name: string): string =>
      slurm.cmd(['sbatch', '--parsable', '--hold', '-J', name, '-o', '/dev/null', '--wrap=true']).trim();
    // Counting wrappers for every scheduler command Expdesk may run.
    const bin = path.join(root, 'bin');
    const count = path.join(root, 'count');
    mkdirSync(bin);
    for (const cmd of ['squeue', 'sacct', 'scontrol']) {
      const real = slurm.cmd(['sh', '-c', `command -v ${cmd}`]).trim();
      writeFileSync(path.join(bin, cmd), `#!/bin/sh\necho ${cmd} >> '${count}'\nexec '${real}' "$@"\n`);
      chmodSync(path.join(bin, cmd), 0o755);
    }
    const env = {
      ...slurm.env,
      PATH: `${bin}:${process.env.PATH}`,
      EXPDESK_CACHE_DIR: path.join(root, 'cache'),
    };
    const results: BenchResult[] = [];
    const commandsOf = async (ws: string): Promise<{ ms: number; commands: number }> => {
      const times: number[] = [];
      let commands = 0;
      for (let i = 0; i < RUNS; i++) {
        writeFileSync(count, '');
        times.push(await cliList(ws, env));
        commands = readFileSync(count, 'utf8').split('\n').filter(Boolean).length;
      }
      return { ms: median(times), commands };
    };
    process.stderr.write('submitting 8 + 200 held jobs…\n');
    const small = makeWorkspace(root, 8, submit);
    const big = makeWorkspace(root, 200, submit);
    const s8 = await commandsOf(small);
    const s200 = await commandsOf(big);
    // Baseline: the same folders without their SLURM records (a listing that asks no scheduler).
    for (const d of readdirSync(big))
      renameSync(path.join(big, d, 'expdesk_slurm.json'), path.join(big, d, 'slurm.off'));
    const plain = await commandsOf(big);
    results.push({
      name: 'list 200 queued SLURM experiments: scheduler commands',
      figure: `${s200.commands} command(s) for 200 jobs`,
      baseline: `${s8.commands} for 8 jobs`,
      ratio: s200.commands / Math.max(1, s8.commands),
      target: 1,
      targetText: 'the same count for 8 and 200 jobs; 1, at most 2',
    });
    results.push({
      name: 'list 200 queued SLURM experiments: time (median of ' + RUNS + ')',
      figure: `${(s200.ms / 1000).toFixed(2)} s`,
      baseline: `${(plain.ms / 1000).toFixed(2)} s without SLURM records (${plain.commands} scheduler commands)`,
      ratio: s200.ms / plain.ms,
      target: null,
    });
    return results;
  } finally {
    await slurm.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
