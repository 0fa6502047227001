/**
 * SLURM against a real single-node cluster (munged, slurmctld, slurmd in a
 * temp folder; tests/helpers/slurm.ts): `expdesk run --slurm` submits, the
 * job's folder goes queued → running → completed/failed/stopped as a user
 * sees it in `expdesk show --json`, and the scheduler is asked once a listing.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli-async';
import { demoProject } from '../helpers/demo-project';
import { fakeNvidiaSmi } from '../helpers/nvidia-smi';
import { slurmRunArgs, slurmSkipReason, startSlurm, type TestSlurm } from '../helpers/slurm';
import { tmpDir } from '../helpers/tmp';

const skip = slurmSkipReason();
if (skip) console.log(skip);

async function until<T>(what: string, f: () => Promise<T | null> | T | null, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe.skipIf(skip !== null)('SLURM on a real cluster', () => {
  let slurm: TestSlurm;
  let project: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    slurm = await startSlurm();
    env = { ...slurm.env, EXPDESK_CACHE_DIR: path.join(slurm.dir, 'cache') };
  }, 120_000);
  afterAll(async () => slurm?.stop(), 60_000);

  // A project a test (tmpDir folders go after each test).
  const setup = (): void => {
    project = demoProject('expdesk-slurm-proj-');
    // A job that runs until told: it waits for a file named by its argument, then exits with the code inside.
    writeFileSync(
      path.join(project, 'job.py'),
      [
        'import os, sys, time',
        'gate = sys.argv[1]',
        'print("job started", flush=True)',
        'while not os.path.exists(gate): time.sleep(0.2)',
        'code = int(open(gate).read() or 0)',
        'print("job ending with", code, flush=True)',
        'if code: print("boom: exit %d" % code, file=sys.stderr, flush=True)',
        'sys.exit(code)',
        '',
      ].join('\n'),
    );
  };

  const run = (gate: string, extra: string[] = []): ReturnType<typeof cli> =>
    cli(slurmRunArgs(project, project, gate, extra), env);

  const show = async (
    dir: string,
  ): Promise<{
    summary: { status: string; status_reason: string; status_source: string };
    slurm: Record<string, unknown> | null;
  }> => {
    const r = await cli(['show', '--json', dir], env);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as never;
  };

  const submitted = async (gate: string, extra: string[] = []): Promise<string> => {
    const r = await run(gate, extra);
    expect(r.stderr).toMatch(/submitted SLURM job \d+/);
    expect(r.code).toBe(0);
    return r.stdout.trim().split('\n').pop()!;
  };

  /** A PATH folder whose squeue, sacct and scontrol write their name to `count`, then run the real one. */
  const countingScheduler = (): { wrap: string; count: string } => {
    const wrap = tmpDir('expdesk-count-');
    const count = path.join(wrap, 'count');
    for (const cmd of ['squeue', 'sacct', 'scontrol']) {
      const real = slurm.cmd(['sh', '-c', `command -v ${cmd}`]).trim();
      writeFileSync(path.join(wrap, cmd), `#!/bin/sh\necho ${cmd} >> '${count}'\nexec '${real}' "$@"\n`);
      chmodSync(path.join(wrap, cmd), 0o755);
    }
    return { wrap, count };
  };

  it('submits with sbatch options, queued (with the reason) → running → completed, named after the folder', async () => {
    setup();
    const gates = tmpDir('expdesk-gates-');
    const gate = path.join(gates, 'done');
    const named = await run(gate, ['--sbatch=--job-name=mine']);
    expect(named.stderr).toContain('Expdesk names the job after its experiment folder');
    const dir = await submitted(gate, ['--sbatch=--begin=now+1hour', '--sbatch=--comment=a b']);
    const record = JSON.parse(readFileSync(path.join(dir, 'expdesk_slurm.json'), 'utf8')) as {
      job_id: string;
      job_name: string;
    };
    // The same capture as a local run, before submission; the script is kept.
    for (const f of [
      'config.yaml',
      'metadata.json',
      'requirements.txt',
      'reproduce.sh',
      'expdesk_job.sbatch',
    ])
      expect(existsSync(path.join(dir, f)), f).toBe(true);
    const queued = await show(dir);
    expect(queued.summary.status).toBe('queued');
    expect(queued.slurm).toMatchObject({ jobId: record.job_id, state: 'PENDING', reason: 'BeginTime' });
    // The job's name in the scheduler is the folder's.
    expect(slurm.cmd(['squeue', '-h', '-j', record.job_id, '-o', '%j']).trim()).toBe(path.basename(dir));
    slurm.cmd(['scontrol', 'update', `JobId=${record.job_id}`, 'StartTime=now']);
    await until('running', async () => ((await show(dir)).summary.status === 'running' ? true : null));
    writeFileSync(gate, '0');
    // The status file says completed before the job ends: wait for the scheduler to say so too.
    const done = await until('completed, in the folder and the scheduler', async () => {
      const s = await show(dir);
      return s.summary.status === 'completed' && s.slurm?.state === 'COMPLETED' ? s : null;
    });
    expect(done.summary.status_source).toBe('status-file');
    expect(readFileSync(path.join(dir, 'logs/train.log'), 'utf8')).toContain('job ending with 0');
    expect(done.slurm).toMatchObject({ jobId: record.job_id, state: 'COMPLETED', exitCode: '0:0' });
  }, 240_000);

  it('a failing script is failed with FAILED.txt; a time limit is failed with TIMEOUT', async () => {
    setup();
    const gates = tmpDir('expdesk-gates-');
    const failing = path.join(gates, 'fail');
    writeFileSync(failing, '3');
    const failed = await submitted(failing);
    const timed = await submitted(path.join(gates, 'never'), ['--sbatch=--time=0:01']);
    // FAILED.txt lands before the job ends: for a moment the scheduler still says RUNNING.
    const f = await until('failed, in the folder and the scheduler', async () => {
      const s = await show(failed);
      return s.summary.status === 'failed' && s.slurm?.state === 'FAILED' ? s : null;
    });
    expect(readFileSync(path.join(failed, 'FAILED.txt'), 'utf8')).toContain('boom: exit 3');
    expect(f.slurm).toMatchObject({ state: 'FAILED', exitCode: '3:0' });
    const t = await until(
      'timeout',
      async () => {
        const s = await show(timed);
        return s.summary.status === 'failed' ? s : null;
      },
      200_000,
    );
    expect(t.slurm).toMatchObject({ state: 'TIMEOUT' });
    expect(t.summary.status_reason).toMatch(/time limit/);
  }, 300_000);

  it('a job killed by scancel --full -s KILL is failed, its wrapper killed is failed (inferred); expdesk stop is stopped, queued or running', async () => {
    setup();
    const gates = tmpDir('expdesk-gates-');
    const killed = await submitted(path.join(gates, 'k'));
    const orphan = await submitted(path.join(gates, 'o'));
    const stoppedRunning = await submitted(path.join(gates, 's'));
    const stoppedQueued = await submitted(path.join(gates, 'q'), ['--sbatch=--begin=now+1hour']);
    for (const d of [killed, orphan, stoppedRunning])
      await until('running', async () => ((await show(d)).summary.status === 'running' ? true : null));
    const id = (d: string): string =>
      (JSON.parse(readFileSync(path.join(d, 'expdesk_slurm.json'), 'utf8')) as { job_id: string }).job_id;
    slurm.cmd(['scancel', '--full', '-s', 'KILL', id(killed)]);
    const k = await until('killed', async () => {
      const s = await show(killed);
      return s.summary.status === 'failed' ? s : null;
    });
    // The job is failed, whoever recorded it (here slurmd's SIGTERM reaches the wrapper first).
    expect(k.slurm).toMatchObject({ state: 'CANCELLED' });

    // A wrapper killed outright (the OOM killer, SIGKILL) records nothing: judged from the scheduler, labelled.
    const wrapperPid = (
      JSON.parse(readFileSync(path.join(orphan, 'expdesk_status.json'), 'utf8')) as { pid: number }
    ).pid;
    process.kill(wrapperPid, 'SIGKILL');
    const o = await until('wrapper killed', async () => {
      const s = await show(orphan);
      return s.summary.status === 'failed' ? s : null;
    });
    expect(o.summary.status_source).toBe('inferred');
    expect(o.summary.status_reason).toMatch(/SLURM job \d+ is \w+; its run wrapper recorded no end/);
    expect(existsSync(path.join(orphan, 'FAILED.txt'))).toBe(false);

    for (const d of [stoppedRunning, stoppedQueued]) {
      const r = await cli(['stop', d], env);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toMatch(/^stopped/);
      expect((await show(d)).summary.status).toBe('stopped');
    }
    expect(readFileSync(path.join(stoppedRunning, 'logs/train.log'), 'utf8')).toContain('job started');
  }, 300_000);

  it('sbatch rejecting an option shows its message and leaves no experiment; a missing sbatch says where it looked', async () => {
    setup();
    const before = existsSync(path.join(project, 'experiments'))
      ? readdir(path.join(project, 'experiments'))
      : [];
    const r = await run('/nonexistent', ['--sbatch=--partition=nosuchpartition']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/sbatch refused the job.*invalid partition/i);
    expect(readdir(path.join(project, 'experiments'))).toEqual(before);

    // A PATH holding node and git only.
    const bin = path.join(tmpDir('expdesk-nosbatch-'), 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, path.join(bin, 'node'));
    symlinkSync(slurm.cmd(['sh', '-c', 'command -v git']).trim(), path.join(bin, 'git'));
    const missing = await cli(
      [
        'run',
        '--slurm',
        '--workspace',
        project,
        '--config',
        path.join(project, 'configs/ppo.yaml'),
        '--',
        'true',
      ],
      { ...env, PATH: bin },
    );
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`sbatch was not found on this machine (searched PATH=${bin})`);
    expect(readdir(path.join(project, 'experiments'))).toEqual(before);
  }, 120_000);

  it('listing many SLURM experiments asks the scheduler once (a counting squeue on PATH)', async () => {
    setup();
    const gates = tmpDir('expdesk-gates-');
    const dirs: string[] = [];
    for (let i = 0; i < 6; i++)
      dirs.push(await submitted(path.join(gates, `g${i}`), ['--sbatch=--begin=now+1hour']));
    const { wrap, count } = countingScheduler();
    const r = await cli(['list', '--json', project], { ...env, PATH: `${wrap}:${process.env.PATH}` });
    const listed = JSON.parse(r.stdout) as { experiments: Array<{ path: string; status: string }> };
    for (const d of dirs) expect(listed.experiments.find((e) => e.path === d)?.status).toBe('queued');
    expect(readFileSync(count, 'utf8').trim().split('\n')).toEqual(['squeue']);
    for (const d of dirs) await cli(['stop', d], env);
  }, 300_000);

  it('a sweep is one job array: three folders, at most two at once, each its own value; stop --sweep cancels the array', async () => {
    setup();
    const gates = tmpDir('expdesk-gates-');
    const gate = path.join(gates, 'done');
    const sweep = ['--sweep', 'dpo.beta=0.1,0.2,0.3', '--max-parallel', '2'];
    const before = readdir(path.join(project, 'experiments'));
    const refused = await run(gate, [...sweep, '--sbatch=--partition=nosuchpartition']);
    expect(refused.stderr).toMatch(/sbatch refused the job array.*invalid partition/i);
    expect(readdir(path.join(project, 'experiments'))).toEqual(before);

    const r = await run(gate, sweep);
    expect(r.code, r.stderr).toBe(0);
    const dirs = r.stdout.trim().split('\n');
    expect(dirs).toHaveLength(3);
    const ids = dirs.map(
      (d) =>
        (JSON.parse(readFileSync(path.join(d, 'expdesk_slurm.json'), 'utf8')) as { job_id: string }).job_id,
    );
    const array = ids[0]!.split('_')[0]!;
    expect(ids).toEqual([`${array}_0`, `${array}_1`, `${array}_2`]);
    for (const d of dirs) expect(existsSync(path.join(d, 'expdesk_job.sbatch'))).toBe(true);
    const sweepId = /sweep (sweep_\d{8}_\d{6}_[0-9a-f]{6}): SLURM job array/.exec(r.stderr)![1]!;
    // One array, named after the sweep, limited to two at once.
    expect(slurm.cmd(['scontrol', 'show', 'job', array])).toMatch(/ArrayTaskThrottle=2/);
    expect(slurm.cmd(['squeue', '-h', '-r', '-j', array, '-o', '%j']).trim().split('\n')[0]).toBe(sweepId);

    // Listing them costs one squeue, and shows two running, one queued, all of the sweep.
    const { wrap, count } = countingScheduler();
    type Listed = { path: string; status: string; sweep: { id: string; index: number } | null };
    const list = async (counted = false): Promise<Listed[]> => {
      const l = await cli(
        ['list', '--json', project],
        counted ? { ...env, PATH: `${wrap}:${process.env.PATH}` } : env,
      );
      return (JSON.parse(l.stdout) as { experiments: Listed[] }).experiments.filter((e) =>
        dirs.includes(e.path),
      );
    };
    await until('two members running', async () =>
      (await list()).filter((e) => e.status === 'running').length === 2 ? true : null,
    );
    const listed = await list(true);
    expect(readFileSync(count, 'utf8').trim().split('\n')).toEqual(['squeue']);
    expect(listed.map((e) => e.status).sort()).toEqual(['queued', 'running', 'running']);
    expect(dirs.map((d) => listed.find((e) => e.path === d)?.sweep)).toMatchObject([
      { id: sweepId, index: 0 },
      { id: sweepId, index: 1 },
      { id: sweepId, index: 2 },
    ]);

    writeFileSync(gate, '0');
    await until('all completed', async () =>
      (await list()).every((e) => e.status === 'completed') ? true : null,
    );
    ['0.1', '0.2', '0.3'].forEach((beta, i) => {
      expect(readFileSync(path.join(dirs[i]!, 'config.yaml'), 'utf8')).toMatch(
        new RegExp(`beta: ${beta}\\b`),
      );
      expect(readFileSync(path.join(dirs[i]!, 'logs/train.log'), 'utf8')).toContain('job ending with 0');
    });

    // A second sweep, stopped by its id: the running members and the queued one all end stopped.
    const gate2 = path.join(gates, 'never');
    const r2 = await run(gate2, sweep);
    expect(r2.code, r2.stderr).toBe(0);
    const dirs2 = r2.stdout.trim().split('\n');
    const id2 = /sweep (sweep_\S+): SLURM/.exec(r2.stderr)![1]!;
    await until('a member running', async () => {
      const s = await show(dirs2[0]!);
      return s.summary.status === 'running' ? true : null;
    });
    // Stopping one member cancels only its element of the array.
    const one = await cli(['stop', dirs2[2]!], env);
    expect(one.code, one.stderr).toBe(0);
    expect((await show(dirs2[2]!)).summary.status).toBe('stopped');
    expect((await show(dirs2[0]!)).summary.status).toBe('running');
    const stop = await cli(['stop', '--sweep', id2], env);
    expect(stop.code, stop.stderr).toBe(0);
    for (const d of dirs2) expect((await show(d)).summary.status).toBe('stopped');
  }, 400_000);

  it('a job samples its node into logs/system.jsonl: one set on a one-node cluster, GPUs from the node’s nvidia-smi', async () => {
    setup();
    const gate = path.join(tmpDir('expdesk-gates-'), 'go');
    // sbatch passes the submitter's PATH on: the node finds the stand-in nvidia-smi (two GPUs).
    const withGpus = { ...env, PATH: `${fakeNvidiaSmi()}:${process.env.PATH}` };
    const r = await cli(slurmRunArgs(project, project, gate, ['--system-interval', '0.2']), withGpus);
    expect(r.code, r.stderr).toBe(0);
    const dir = r.stdout.trim().split('\n').pop()!;
    const system = path.join(dir, 'logs', 'system.jsonl');
    await until('two samples', () =>
      existsSync(system) && readFileSync(system, 'utf8').split('\n').length > 2 ? true : null,
    );
    writeFileSync(gate, '0');
    await until('completed', async () => ((await show(dir)).summary.status === 'completed' ? true : null));
    const s = await cli(['show', '--json', dir], env);
    const shown = JSON.parse(s.stdout) as {
      system: Record<string, { max: number }>;
      system_nodes: Record<string, unknown>;
    };
    expect(shown.system['system/gpu0/mem_used_mb']).toMatchObject({ max: 30512 });
    expect(shown.system['system/proc_rss_mb']!.max).toBeGreaterThan(0);
    expect(shown.system_nodes).toEqual({});
    expect(readdirSync(path.join(dir, 'logs')).filter((n) => n.startsWith('system'))).toEqual([
      'system.jsonl',
    ]);
  }, 300_000);
});

function readdir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}
