import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExperimentStatus } from '../../../src/shared/model';
import {
  batchScript,
  checkSbatchOption,
  judgeSlurmStatus,
  parseSacct,
  parseScontrol,
  parseSqueue,
  type SlurmJob,
  type SlurmRecord,
} from '../../../src/shared/slurm';

const record: SlurmRecord = {
  schema: 'expdesk.slurm/1',
  job_id: '42',
  job_name: 'exp001',
  submitted_at: '2026-01-01T00:00:00Z',
  sbatch_options: [],
  script: 'expdesk_job.sbatch',
  host: null,
};
const folder = (
  state: ExperimentStatus['state'],
  source: ExperimentStatus['source'] = 'status-file',
): ExperimentStatus => ({
  state,
  source,
  reason: `folder says ${state}`,
});
const job = (state: string, reason: string | null = null): SlurmJob => ({
  jobId: '42',
  state,
  reason,
  nodes: 'node1',
  exitCode: null,
  elapsed: null,
  source: 'squeue',
});

describe('reading the scheduler', () => {
  it('squeue: full names and reasons (nothing truncated), wait statuses as code:signal', () => {
    const jobs = parseSqueue(
      '7|PENDING|0|0:00||exp001_a_very_long_name_beyond_twenty_characters|Priority   \n8|FAILED|768|0:05|vm|x|NonZeroExitCode\n9|TIMEOUT|15|1:00|vm|y|TimeLimit\n',
    );
    expect(jobs.get('7')).toMatchObject({
      state: 'PENDING',
      reason: 'Priority',
      nodes: null,
      exitCode: '0:0',
    });
    expect(jobs.get('8')?.exitCode).toBe('3:0');
    expect(jobs.get('9')?.exitCode).toBe('0:15');
  });

  it('sacct and scontrol', () => {
    expect(parseSacct('5|CANCELLED by 0|0:9|00:00:07|vm||exp\n').get('5')).toMatchObject({
      state: 'CANCELLED',
      exitCode: '0:9',
      elapsed: '00:00:07',
      source: 'sacct',
    });
    expect(
      parseScontrol(
        'JobId=6 JobName=exp JobState=PENDING Reason=Resources ExitCode=0:0 RunTime=00:00:00 NodeList=(null)\n',
      ).get('6'),
    ).toMatchObject({ state: 'PENDING', reason: 'Resources', nodes: null, source: 'scontrol' });
  });
});

describe('judging a SLURM experiment', () => {
  it('the folder first; the scheduler where the folder cannot know; a forgotten job is inferred', () => {
    expect(judgeSlurmStatus(folder('queued'), record, job('PENDING', 'Priority'))).toMatchObject({
      state: 'queued',
      reason: 'SLURM job 42 is PENDING (Priority)',
    });
    expect(judgeSlurmStatus(folder('completed'), record, job('CANCELLED'))).toMatchObject({
      state: 'completed',
    });
    expect(judgeSlurmStatus(folder('failed', 'failed-file'), record, job('TIMEOUT')).reason).toMatch(
      /time limit/,
    );
    for (const s of ['OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'CANCELLED'])
      expect(judgeSlurmStatus(folder('running'), record, job(s))).toMatchObject({
        state: 'failed',
        source: 'inferred',
      });
    expect(
      judgeSlurmStatus(folder('running'), { ...record, stop_requested_at: 'now' }, job('CANCELLED')),
    ).toMatchObject({ state: 'stopped', source: 'inferred' });
    expect(judgeSlurmStatus(folder('queued'), record, null)).toMatchObject({
      state: 'failed',
      source: 'inferred',
      reason: 'inferred: the scheduler no longer knows SLURM job 42 and its run never started',
    });
  });
});

describe('the batch script', () => {
  it('refuses options that are not flags, hold line breaks or rename the job', () => {
    expect(checkSbatchOption('--partition=gpu')).toBeNull();
    expect(checkSbatchOption('partition=gpu')).toMatch(/must start with -/);
    expect(checkSbatchOption('--comment=a\n#SBATCH --x')).toMatch(/control character/);
    expect(checkSbatchOption('-Jname')).toMatch(/names the job after its experiment folder/);
  });

  it('is valid bash that hands the wrapper its spec, whatever the values hold', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-sbatch-'));
    try {
      const weird = `it's $(rm -rf /) "x" \`y\``;
      const text = batchScript(
        {
          jobName: 'exp001',
          expDir: path.join(dir, weird),
          cwd: dir,
          options: ['--comment=' + weird],
          runnerSource: 'import json, sys\nprint(json.dumps(json.load(open(sys.argv[1]))))\n',
          spec: { argv: ['echo', weird] },
          python: 'python3',
        },
        path.join,
      );
      const script = path.join(dir, 'job.sbatch');
      writeFileSync(script, text);
      const out = execFileSync('bash', [script], { encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual({ argv: ['echo', weird] });
      expect(text).toContain(`#SBATCH --job-name=exp001`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
