/**
 * SLURM through SSH: the real sshd on 127.0.0.1 is the login node of a real
 * single-node cluster (tests/helpers/slurm.ts; sessions get its SLURM_CONF).
 * `expdesk run --slurm --workspace ssh://…` prepares the folder and submits
 * there; `show --json` reads the job through the connection; `stop` cancels.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli-async';
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
});
