/**
 * The timeline of a run's start (EXPDESK_STARTUP_TRACE, printed by `npm run
 * bench run-startup`): every phase of the CLI and of the run wrapper is
 * marked, in the order the start takes: the wrapper starts up while git runs,
 * gets its spec once the capture is written, and starts the command before it
 * writes its record and the "running" status (which names the command).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runnerScript } from '../../src/main/core/app/paths';
import { startWrapper, tmuxSessionAlive, tmuxSessionName } from '../../src/main/core/runs/launch';
import { runInDemoProject } from '../helpers/cli';
import { demoProject, usePrivateTmux } from '../helpers/demo-project';
import { running, waitFor } from '../helpers/planted';
import { tmpDir } from '../helpers/tmp';

const tmux = usePrivateTmux();

interface Mark {
  phase: string;
  t: number;
  pid: number;
  cpu: number;
}

describe('the startup trace of a run', { timeout: 180_000 }, () => {
  it('marks every phase, and the command starts before the wrapper records and announces it', () => {
    const proj = demoProject('expdesk-trace-');
    const trace = path.join(tmpDir('expdesk-trace-out-'), 'trace.jsonl');
    const r = runInDemoProject(proj, ['python3', '-c', 'print("hello from the command")', '{config}'], {
      ...tmux.env,
      EXPDESK_STARTUP_TRACE: trace,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const expDir = r.stdout.split('\n')[0]!;
    expect(readFileSync(path.join(expDir, 'logs', 'train.log'), 'utf8')).toContain('hello from the command');

    const marks = readFileSync(trace, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Mark);
    const cli = marks.filter((m) => m.pid === marks[0]!.pid).map((m) => m.phase);
    const wrapper = marks.filter((m) => m.pid !== marks[0]!.pid).map((m) => m.phase);
    // Each process marks its phases in the order it passes them. The wrapper is started as soon as
    // the folder exists, and starts up while git runs (where, among those, depends on the machine).
    expect(cli.filter((p) => p !== 'wrapper spawned')).toEqual([
      'node started',
      'modules loaded, arguments parsed',
      'config composed',
      'folder created',
      'config frozen',
      'git state and patch captured',
      'metadata and reproduce.sh written',
      'spec written',
    ]);
    expect(cli.indexOf('wrapper spawned')).toBeGreaterThan(cli.indexOf('folder created'));
    expect(wrapper).toEqual([
      'wrapper up',
      'spec read',
      'wrapper ready',
      'command forked',
      'status written',
      'first output in train.log',
    ]);
    const at = (phase: string): number => marks.find((m) => m.phase === phase)!.t;
    // The command starts only once git state, patch and metadata are written, and before the status.
    expect(at('git state and patch captured')).toBeLessThanOrEqual(at('spec read'));
    expect(at('spec written')).toBeLessThanOrEqual(at('spec read'));
    expect(at('command forked')).toBeLessThanOrEqual(at('status written'));

    // The status, written after the start, names the command; the run is done.
    const status = JSON.parse(readFileSync(path.join(expDir, 'expdesk_status.json'), 'utf8')) as {
      state: string;
      child_pid: number | null;
      exit_code: number | null;
    };
    expect(status).toMatchObject({ state: 'completed', exit_code: 0 });
    expect(typeof status.child_pid).toBe('number');
  });
});

describe('a wrapper started before its run is prepared', { timeout: 180_000 }, () => {
  it('given up (a launch that failed while git ran), exits without starting anything, its session gone', async () => {
    const cwd = tmpDir('expdesk-early-');
    const name = `early_${process.pid}_${Date.now()}`;
    const started = await startWrapper(name, cwd);
    expect(started.session).toBe(tmuxSessionName(name));
    const ended = new Promise<number>((resolve) => started.terminal.onExit((e) => resolve(e.exitCode)));
    started.cancel();
    expect(await ended).toBe(0);
    await waitFor(() => !existsSync(path.dirname(started.specFile)), 'the spec folder to go');
    expect(tmuxSessionAlive(started.session!)).toBe(false);
  });

  it('gives up waiting for its spec once the process that started it is gone', async () => {
    const parent = spawn('sleep', ['600']);
    const spec = path.join(tmpDir('expdesk-early-spec-'), 'spec.json'); // never written
    const wrapper = spawn('python3', ['-S', runnerScript(), '--expdesk-pid', String(parent.pid), spec], {
      stdio: 'ignore',
    });
    const code = new Promise<number | null>((resolve) => wrapper.on('exit', resolve));
    await waitFor(() => running(wrapper.pid!), 'the wrapper to run');
    parent.kill('SIGKILL');
    expect(await code).toBe(0);
  });
});
