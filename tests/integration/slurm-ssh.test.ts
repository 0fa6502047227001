/**
 * SLURM through SSH: the real sshd on 127.0.0.1 is the login node of a real
 * single-node cluster (tests/helpers/slurm.ts; sessions get its SLURM_CONF).
 * `expdesk run --slurm --workspace ssh://…` prepares the folder and submits
 * there; `show --json` reads the job through the connection; `stop` cancels.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPDESK_BIN } from '../helpers/cli';
import { cli } from '../helpers/cli-async';
import { envOverrides } from '../helpers/env';
import { ExpdeskHost } from '../../src/main/host/host';
import { demoProject } from '../helpers/demo-project';
import { slurmRunArgs, slurmSkipReason, startSlurm, type TestSlurm } from '../helpers/slurm';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { tmpDir } from '../helpers/tmp';

const skip = slurmSkipReason();
if (skip) console.log(skip);

describe.skipIf(skip !== null)('SLURM through SSH', () => {
  let slurm: TestSlurm;
  let sshd: TestSshd;

  beforeAll(async () => {
    slurm = await startSlurm();
    sshd = await startSshd({ setEnv: { SLURM_CONF: slurm.conf } });
  }, 120_000);
  afterAll(async () => {
    await sshd?.stop();
    await slurm?.stop();
  }, 60_000);

  it('submits on the login node, reads queued → completed through the link, stops a queued job', async () => {
    const project = demoProject('expdesk-slurm-ssh-');
    const gate = path.join(tmpDir('expdesk-gates-'), 'go');
    writeFileSync(
      path.join(project, 'job.py'),
      'import os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.2)\nprint("remote job done", flush=True)\n',
    );
    // This process has no SLURM_CONF: only the SSH sessions reach the cluster.
    const env = { ...sshd.env, EXPDESK_CACHE_DIR: tmpDir() };
    const args = (extra: string[]): string[] => slurmRunArgs(sshd.url(project), project, gate, extra);
    const r = await cli(args(['--sbatch=--begin=now+1hour']), env);
    expect(r.stderr).toMatch(/submitted SLURM job \d+/);
    expect(r.code).toBe(0);
    const where = r.stdout.trim().split('\n').pop()!;
    expect(where.startsWith('ssh://')).toBe(true);
    const dir = decodeURIComponent(new URL(where).pathname);
    expect(existsSync(path.join(dir, 'expdesk_job.sbatch'))).toBe(true);
    const record = JSON.parse(readFileSync(path.join(dir, 'expdesk_slurm.json'), 'utf8')) as {
      job_id: string;
      host: string;
    };
    expect(record.host).toContain('127.0.0.1');

    const show = async (): Promise<{
      summary: { status: string };
      slurm: Record<string, unknown> | null;
    }> => {
      const s = await cli(['show', '--json', where], env);
      expect(s.stderr).toBe('');
      return JSON.parse(s.stdout) as never;
    };
    const queued = await show();
    expect(queued.summary.status).toBe('queued');
    expect(queued.slurm).toMatchObject({ jobId: record.job_id, state: 'PENDING', reason: 'BeginTime' });
    // The listing asks the scheduler too (only for folders with a status file: no round trip for the others).
    const listed = await cli(['list', '--json', sshd.url(project)], env);
    const rows = (JSON.parse(listed.stdout) as { experiments: Array<Record<string, unknown>> }).experiments;
    expect(rows.find((e) => e.path === where)).toMatchObject({ status: 'queued' });
    expect(String(rows.find((e) => e.path === where)!.status_reason)).toMatch(/BeginTime/);

    // Start it now; it completes once the gate opens.
    slurm.cmd(['scontrol', 'update', `JobId=${record.job_id}`, 'StartTime=now']);
    writeFileSync(gate, '');
    const deadline = Date.now() + 120_000;
    let last = queued;
    while (last.summary.status !== 'completed' && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 500));
      last = await show();
    }
    expect(last.summary.status).toBe('completed');
    expect(readFileSync(path.join(dir, 'logs/train.log'), 'utf8')).toContain('remote job done');

    // A queued job stopped through the link.
    const q = await cli(args(['--sbatch=--begin=now+1hour']), env);
    const qWhere = q.stdout.trim().split('\n').pop()!;
    const stop = await cli(['stop', qWhere], env);
    expect(stop.stderr).toBe('');
    expect(stop.stdout.trim()).toMatch(/^stopped/);
  }, 300_000);

  it('a sweep through SSH is one job array on the login node; without --detach it is followed to its end', async () => {
    const project = demoProject('expdesk-slurm-ssh-sweep-');
    const gate = path.join(tmpDir('expdesk-gates-'), 'go');
    // Each member waits for the gate; the one with beta 0.2 then fails with exit code 3.
    writeFileSync(
      path.join(project, 'job.py'),
      [
        'import os, re, sys, time',
        'beta = re.search(r"beta: ([0-9.]+)", open(sys.argv[2]).read()).group(1)',
        'print("member", beta, "started", flush=True)',
        'while not os.path.exists(sys.argv[1]): time.sleep(0.2)',
        'sys.exit(3 if beta == "0.2" else 0)',
        '',
      ].join('\n'),
    );
    const env = { ...sshd.env, EXPDESK_CACHE_DIR: tmpDir(), EXPDESK_STATE_DIR: tmpDir() };
    const args = slurmRunArgs(sshd.url(project), project, gate, [
      '--sweep',
      'dpo.beta=0.1,0.2',
      '--max-parallel',
      '2',
    ])
      .filter((a) => a !== '--detach')
      .concat('{config}');
    const child = spawn(process.execPath, [EXPDESK_BIN, ...args], { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const deadline = Date.now() + 180_000;
    while ((err.match(/: running\n/g) ?? []).length < 2) {
      if (Date.now() > deadline) throw new Error(`members never ran: ${err}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    const members = out.trim().split('\n');
    expect(members).toHaveLength(2);
    for (const m of members) expect(m.startsWith('ssh://')).toBe(true);
    const dirs = members.map((m) => decodeURIComponent(new URL(m).pathname));
    const ids = dirs.map(
      (d) =>
        (JSON.parse(readFileSync(path.join(d, 'expdesk_slurm.json'), 'utf8')) as { job_id: string }).job_id,
    );
    const array = ids[0]!.split('_')[0]!;
    expect(ids).toEqual([`${array}_0`, `${array}_1`]);
    expect(slurm.cmd(['scontrol', 'show', 'job', array])).toMatch(/ArrayTaskThrottle=2/);

    writeFileSync(gate, '');
    expect(await exited, err).toBe(1);
    const names = dirs.map((d) => path.basename(d));
    // One line per change: each member once running, then its end.
    for (const n of names) expect(err.split(`expdesk: ${n}: running\n`)).toHaveLength(2);
    expect(err).toContain(`expdesk: ${names[0]}: completed\n`);
    expect(err).toContain(`expdesk: ${names[1]}: failed (exit code 3)\n`);
    expect(err).toMatch(/sweep sweep_\S+ ended: 1 of 2 completed/);

    // A second sweep, detached, stopped through the link by one member's ssh:// location.
    const gate2 = path.join(tmpDir('expdesk-gates-'), 'never');
    const detached = await cli(
      slurmRunArgs(sshd.url(project), project, gate2, ['--sweep', 'dpo.beta=0.3,0.4']).concat('{config}'),
      env,
    );
    expect(detached.code, detached.stderr).toBe(0);
    const second = detached.stdout.trim().split('\n');
    const stop = await cli(['stop', '--sweep', second[1]!], env);
    expect(stop.code, stop.stderr).toBe(0);
    const lines = stop.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(': ')[0])).toEqual(second.map((m) => path.basename(m)));
    for (const l of lines) expect(l).toMatch(/: stopped\b/);
  }, 400_000);

  it("the launch form's SLURM sweep on an SSH workspace (run.sweep): one job array on the login node", async () => {
    const project = demoProject('expdesk-slurm-ssh-host-');
    writeFileSync(path.join(project, 'job.py'), 'print("never started")\n');
    const env = envOverrides();
    env.set({ ...sshd.env });
    const host = new ExpdeskHost({
      mode: 'browser',
      version: 'test',
      workspace: sshd.url(project),
      demoWorkspace: null,
      cacheDir: tmpDir('expdesk-sh-cache-'),
    });
    try {
      const r = (await host.dispatch('run.sweep', {
        workspace: sshd.url(project),
        configFile: path.join(project, 'configs/ppo.yaml'),
        command: ['python3', path.join(project, 'job.py')],
        sweep: ['dpo.beta=0.1,0.2,0.3'],
        maxParallel: 1,
        slurm: { sbatch: ['--begin=now+1hour'] },
      })) as { sweepId: string; maxParallel: number; members: Array<{ expDir: string }> };
      expect(r.maxParallel).toBe(1);
      expect(r.members).toHaveLength(3);
      const dirs = r.members.map((m) => {
        expect(m.expDir.startsWith('ssh://')).toBe(true);
        return decodeURIComponent(new URL(m.expDir).pathname);
      });
      const ids = dirs.map(
        (d) =>
          (JSON.parse(readFileSync(path.join(d, 'expdesk_slurm.json'), 'utf8')) as { job_id: string }).job_id,
      );
      const array = ids[0]!.split('_')[0]!;
      expect(ids).toEqual([0, 1, 2].map((i) => `${array}_${i}`));
      expect(slurm.cmd(['scontrol', 'show', 'job', array])).toMatch(/ArrayTaskThrottle=1/);
      const stopped = (await host.dispatch('run.stop', { expDir: r.members[0]!.expDir })) as {
        state: string;
      };
      expect(stopped.state).toBe('stopped');
      slurm.cmd(['scancel', array]);
    } finally {
      host.dispose();
      env.restore();
    }
  }, 300_000);
});
