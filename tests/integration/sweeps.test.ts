/**
 * Local sweeps through the real `expdesk` command: the demo's real train.py,
 * a private tmux server, the queue runner in a session of its own. The queue
 * goes on after `expdesk run --sweep --detach` exits, never runs more members
 * at once than --max-parallel (read from the members' own status files, not
 * from timing), and `expdesk stop --sweep` stops queued and running members.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli-async';
import { demoProject, usePrivateTmux } from '../helpers/demo-project';
import { waitFor } from '../helpers/planted';
import { tmpDir } from '../helpers/tmp';

const tmux = usePrivateTmux();
let stateDir = '';
beforeAll(() => {
  stateDir = tmpDir('expdesk-state-');
});

interface Status {
  state: string;
  started_at: string | null;
  ended_at: string | null;
  sweep?: { id: string; index: number; count: number; params: Record<string, unknown> };
}
const status = (dir: string): Status | null => {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'expdesk_status.json'), 'utf8')) as Status;
  } catch {
    return null;
  }
};
const env = (): NodeJS.ProcessEnv => ({ ...tmux.env, EXPDESK_STATE_DIR: stateDir, CUDA_VISIBLE_DEVICES: '' });

function sweepArgs(proj: string, extra: string[], delay: string): string[] {
  return [
    'run',
    '--workspace',
    proj,
    '--config',
    path.join(proj, 'configs', 'dpo_beta0.05.yaml'),
    '--cwd',
    proj,
    ...extra,
    '--detach',
    '--',
    'python3',
    'train.py',
    '{config}',
    '--step-delay',
    delay,
  ];
}

describe('expdesk run --sweep', { timeout: 600_000 }, () => {
  it('runs 4 members at most 2 at a time, on after the command has exited', async () => {
    const proj = demoProject();
    const r = await cli(
      sweepArgs(
        proj,
        [
          '--set',
          'training.max_steps=15',
          '--sweep',
          'dpo.beta=0.1,0.2',
          '--sweep',
          'training.lr=1e-4,3e-4',
          '--max-parallel',
          '2',
        ],
        '0.05',
      ),
      env(),
    );
    expect(r.code, r.stderr).toBe(0);
    const dirs = r.stdout.trim().split('\n');
    expect(dirs).toHaveLength(4);
    expect(r.stderr).toMatch(/sweep sweep_\d{8}_\d{6}_[0-9a-f]{6}: 4 run\(s\), 2 at a time/);
    // The command is gone; the queue starts every member anyway.
    await waitFor(
      () => dirs.every((d) => status(d)?.state === 'completed'),
      'all 4 members completed',
      300_000,
    );

    const runs = dirs.map((d) => status(d)!);
    const id = runs[0]!.sweep!.id;
    expect(runs.map((s) => s.sweep)).toEqual([
      { id, index: 0, count: 4, params: { 'dpo.beta': 0.1, 'training.lr': 0.0001 } },
      { id, index: 1, count: 4, params: { 'dpo.beta': 0.1, 'training.lr': 0.0003 } },
      { id, index: 2, count: 4, params: { 'dpo.beta': 0.2, 'training.lr': 0.0001 } },
      { id, index: 3, count: 4, params: { 'dpo.beta': 0.2, 'training.lr': 0.0003 } },
    ]);
    // Each member ran its own values (the frozen config the seed's code reads).
    expect(readFileSync(path.join(dirs[3]!, 'config.yaml'), 'utf8')).toMatch(
      /beta: 0\.2\b[\s\S]*lr: 0\.0003\b/,
    );
    // Never more than 2 at once: at each start, count the members whose [started, ended] holds it.
    const spans = runs.map((s) => [s.started_at!, s.ended_at!] as const);
    for (const [start] of spans) {
      const overlapping = spans.filter(([s, e]) => s <= start && start <= e).length;
      expect(overlapping).toBeLessThanOrEqual(2);
    }
    // The listing knows them as one sweep.
    const list = await cli(['list', '--json', proj], env());
    const listed = (JSON.parse(list.stdout) as { experiments: Array<{ sweep: { id: string } | null }> })
      .experiments;
    expect(listed.map((e) => e.sweep?.id)).toEqual([id, id, id, id]);
  });

  it('stop --sweep stops the running member and the queued ones, and nothing starts after', async () => {
    const proj = demoProject();
    const r = await cli(
      sweepArgs(
        proj,
        ['--set', 'training.max_steps=5000', '--sweep', 'dpo.beta=0.1,0.2,0.3', '--max-parallel', '1'],
        '0.2',
      ),
      env(),
    );
    expect(r.code, r.stderr).toBe(0);
    const dirs = r.stdout.trim().split('\n');
    expect(dirs.map((d) => status(d)?.state)).toContain('queued');
    await waitFor(() => status(dirs[0]!)?.state === 'running', 'the first member running', 120_000);
    expect(status(dirs[1]!)?.state).toBe('queued');

    const stop = await cli(['stop', '--sweep', dirs[1]!], env());
    expect(stop.code, stop.stderr).toBe(0);
    expect(
      stop.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(': ')[1]),
    ).toEqual(['stopped', 'stopped', 'stopped']);
    expect(dirs.map((d) => status(d)?.state)).toEqual(['stopped', 'stopped', 'stopped']);
    // The queued ones never started; the runner has ended, so none ever will.
    expect(status(dirs[1]!)?.started_at).toBeNull();
    expect(status(dirs[2]!)?.started_at).toBeNull();
    const id = status(dirs[0]!)!.sweep!.id;
    const runner = JSON.parse(readFileSync(path.join(stateDir, 'sweeps', id, 'runner.json'), 'utf8')) as {
      ended_at: string | null;
    };
    expect(runner.ended_at).not.toBeNull();
    expect(existsSync(path.join(dirs[1]!, 'logs', 'train.log'))).toBe(false);
  });

  it('refuses a bad key or an empty list before making any folder', async () => {
    const proj = demoProject();
    for (const [sweep, message] of [
      ['dpo.betta=0.1,0.2', "no config defines 'dpo.betta' (nearest: dpo.beta"],
      ['dpo.beta=', '--sweep dpo.beta= has no values'],
    ] as const) {
      const r = await cli(sweepArgs(proj, ['--sweep', sweep], '0'), env());
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
      expect(existsSync(path.join(proj, 'experiments'))).toBe(false);
    }
    // The queue runs here: an SSH workspace is refused before anything is planned or connected.
    const remote = await cli(
      [
        'run',
        '--workspace',
        'gpu-box:/data/llm',
        '--config',
        'c.yaml',
        '--sweep',
        'a=1,2',
        '--',
        'python3',
        't.py',
      ],
      env(),
    );
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain('an ssh:// workspace cannot take a sweep yet');
  });
});
