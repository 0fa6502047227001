/**
 * The timeline of a run's start (EXPDESK_STARTUP_TRACE, printed by `npm run
 * bench run-startup`): every phase of the CLI and of the run wrapper is
 * marked, in the order the start takes — and the wrapper starts the command
 * before it writes its record and the "running" status, which still names the
 * command, and the record proves it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInDemoProject } from '../helpers/cli';
import { demoProject, usePrivateTmux } from '../helpers/demo-project';
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
    // Each process marks its phases in the order it passes them.
    expect(cli).toEqual([
      'node started',
      'modules loaded, arguments parsed',
      'config composed',
      'folder created',
      'config frozen',
      'git state and patch captured',
      'metadata and reproduce.sh written',
      'wrapper spawned',
    ]);
    expect(wrapper).toEqual([
      'wrapper up',
      'wrapper ready',
      'command forked',
      'status written',
      'first output in train.log',
    ]);
    const at = (phase: string): number => marks.find((m) => m.phase === phase)!.t;
    expect(at('command forked')).toBeLessThanOrEqual(at('status written'));
    expect(at('git state and patch captured')).toBeLessThanOrEqual(at('wrapper up'));

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
