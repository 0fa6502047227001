/**
 * Stopping runs and noticing their end, attacked: a planted status file that
 * names an unrelated process (or pid 1) must not get it signalled, by the CLI
 * or through the host; a run wrapper killed with kill -9 must not leave a
 * foreground `expdesk run` or the interface waiting forever. Real processes,
 * the real `expdesk` command, the demo's real train.py under a private tmux.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventName, EventPayload } from '../../src/shared/contract';
import { ExpdeskHost } from '../../src/main/host/host';
import { EXPDESK_BIN, runCli, runInDemoProject } from '../helpers/cli';
import { demoProject, usePrivateTmux } from '../helpers/demo-project';
import { envOverrides } from '../helpers/env';
import { tmpDir } from '../helpers/tmp';
import { plantedRun, running, waitFor } from '../helpers/planted';

usePrivateTmux();
const overrides = envOverrides();
let stateDir = '';
beforeAll(() => {
  // Expdesk's own records of the runs it starts: private to this file.
  stateDir = tmpDir('expdesk-state-');
  overrides.set({ EXPDESK_STATE_DIR: stateDir });
});
afterAll(() => overrides.restore());

const json = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8'));

/** An unrelated process in a process group of its own, as any other program of the user's. */
function bystander(): ChildProcess {
  const p = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  return p;
}

function newHost(workspace: string): ExpdeskHost {
  return new ExpdeskHost({
    mode: 'browser',
    version: 't',
    workspace,
    demoWorkspace: null,
    cacheDir: tmpDir(),
  });
}

describe('stop signals only what Expdesk can prove is the run', { timeout: 180_000 }, () => {
  it('refuses a planted status file naming an unrelated process group, or pid 1, from the CLI and the host', async () => {
    const sleeper = bystander();
    const pid = sleeper.pid!;
    try {
      expect(running(pid)).toBe(true);
      const host = newHost(tmpDir());
      for (const fields of [{ child_pid: pid }, { pid }, { pid, hostname: null, child_pid: pid }]) {
        const dir = plantedRun(fields);
        const r = runCli(['stop', dir]);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain(
          `${dir} was not started by Expdesk on this machine; refusing to signal pid ${pid}`,
        );
        await expect(host.dispatch('run.stop', { expDir: dir })).rejects.toMatchObject({
          code: 'bad-request',
          message: expect.stringContaining(`refusing to signal pid ${pid}`),
        });
        expect(running(pid)).toBe(true);
        expect(sleeper.exitCode).toBeNull();
        expect(sleeper.signalCode).toBeNull();
        // The planted folder is left as it was.
        expect(json(path.join(dir, 'expdesk_status.json')).state).toBe('running');
        expect(existsSync(path.join(dir, 'FAILED.txt'))).toBe(false);
      }
      // child_pid 1 would signal every process the user owns.
      const one = plantedRun({ child_pid: 1 });
      const r = runCli(['stop', one]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('refusing to signal pid 1');
      await expect(host.dispatch('run.stop', { expDir: one })).rejects.toMatchObject({
        message: expect.stringContaining('refusing to signal pid 1'),
      });
      expect(running(pid)).toBe(true);
      expect(running(process.pid)).toBe(true);
      host.dispose();
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('a status file copied from a real run into another folder does not make its processes stoppable', async () => {
    const proj = demoProject('expdesk-ctlproj-');
    const host = newHost(proj);
    const started = (await host.dispatch('run.start', {
      configFile: path.join(proj, 'configs', 'base.yaml'),
      overrides: ['training.max_steps=100000'],
      command: ['python3', 'train.py', '{config}', '--step-delay', '0.05'],
    })) as { expDir: string };
    const status = json(path.join(started.expDir, 'expdesk_status.json'));
    await waitFor(
      () => typeof json(path.join(started.expDir, 'expdesk_status.json')).child_pid === 'number',
      'the command',
    );
    const real = json(path.join(started.expDir, 'expdesk_status.json'));
    const copy = plantedRun({ ...status, ...real });
    await expect(host.dispatch('run.stop', { expDir: copy })).rejects.toMatchObject({
      message: expect.stringContaining(`refusing to signal pid ${real.pid as number}`),
    });
    expect(running(real.pid as number)).toBe(true);
    expect(running(real.child_pid as number)).toBe(true);
    // The genuine run still stops, through the host as through the UI's Stop.
    const stopped = await host.dispatch('run.stop', { expDir: started.expDir });
    expect(stopped).toMatchObject({ state: 'stopped' });
    expect(running(real.child_pid as number)).toBe(false);
    host.dispose();
  });
});

describe('a run Expdesk cannot record', { timeout: 120_000 }, () => {
  it('is not started: a run it could not stop later is refused at launch, saying why', () => {
    const proj = demoProject('expdesk-ctlproj-');
    const notADir = path.join(tmpDir(), 'state-file');
    const token = `expdesk-refused-${process.pid}-${Date.now()}`;
    writeFileSync(notADir, 'a file where the state folder should be\n');
    const r = runInDemoProject(
      proj,
      [
        'python3',
        '-c',
        // It ignores the hangup its terminal's end sends: only being ended kills it.
        'import signal, time; signal.signal(signal.SIGHUP, signal.SIG_IGN); time.sleep(600)',
        token,
        '{config}',
      ],
      { EXPDESK_STATE_DIR: notADir },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot record the run in ${notADir}/runs/`);
    // The wrapper starts the command before it writes the record: a refused run's command is ended.
    expect(processesNaming(token)).toEqual([]);
  });
});

/** Pids of the processes whose command line holds `token`. */
function processesNaming(token: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'latin1').includes(token)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('a run wrapper that dies is noticed', { timeout: 180_000 }, () => {
  it('a foreground `expdesk run` whose wrapper is killed with kill -9 exits non-zero, with the run failed', async () => {
    const proj = demoProject('expdesk-ctlproj-');
    const cli = spawn(
      process.execPath,
      [
        EXPDESK_BIN,
        'run',
        '--config',
        'configs/base.yaml',
        '--set',
        'training.max_steps=100000',
        '--',
        'python3',
        'train.py',
        '{config}',
        '--step-delay',
        '0.05',
      ],
      { cwd: proj, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    cli.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    cli.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => existsSync(path.join(stdout.split('\n')[0]!, 'logs', 'metrics.jsonl')), 'the run');
      const exp = stdout.split('\n')[0]!;
      const status = json(path.join(exp, 'expdesk_status.json'));
      expect(status.state).toBe('running');
      process.kill(status.pid as number, 'SIGKILL');

      // Bounded: the CLI notices within its polling; the 120 s here is only a guard against a hang.
      const code = await Promise.race([
        exited,
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 120_000)),
      ]);
      expect(code, stderr).not.toBe('hung');
      expect(code).not.toBe(0);
      expect(stderr).toContain(`run wrapper (pid ${status.pid as number}) died`);
      expect(json(path.join(exp, 'expdesk_status.json'))).toMatchObject({ state: 'failed' });
      const failed = readFileSync(path.join(exp, 'FAILED.txt'), 'utf8');
      expect(failed).toMatch(/^Failed at step \d+\n/);
      expect(failed).toContain(`run wrapper (pid ${status.pid as number}) died`);
      expect(running(status.child_pid as number)).toBe(false);
      // And every reader agrees.
      expect(JSON.parse(runCli(['summarize', exp, '--json']).stdout)[0].status).toBe('failed');
    } finally {
      cli.kill('SIGKILL');
    }
  });

  it('`expdesk stop` stops a command that outlived its killed wrapper (it ignores the hangup), and records the end', async () => {
    const proj = demoProject('expdesk-ctlproj-');
    writeFileSync(
      path.join(proj, 'stubborn.py'),
      'import signal, time\nsignal.signal(signal.SIGHUP, signal.SIG_IGN)\nprint("started", flush=True)\n' +
        'while True:\n    time.sleep(0.1)\n',
    );
    const host = newHost(proj);
    const started = (await host.dispatch('run.start', {
      configFile: path.join(proj, 'configs', 'base.yaml'),
      command: ['python3', 'stubborn.py'],
    })) as { expDir: string };
    host.dispose(); // the window closes (the run goes on in tmux): only the `stop` below acts on it
    const file = path.join(started.expDir, 'expdesk_status.json');
    await waitFor(
      () => readFileSync(path.join(started.expDir, 'logs', 'train.log'), 'utf8').includes('started'),
      'the command',
    );
    const status = json(file);
    process.kill(status.pid as number, 'SIGKILL');
    // The command ignores the hangup of its terminal: it lives on until Expdesk stops its group.
    const cli = runCli(['stop', started.expDir]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(running(status.child_pid as number)).toBe(false);
    expect(json(file)).toMatchObject({ state: 'stopped' });
    expect(json(file).failure).toContain('Expdesk stopped its command');
  });

  it('the interface sees the run failed when its wrapper is killed', async () => {
    const proj = demoProject('expdesk-ctlproj-');
    const host = newHost(proj);
    const events: Array<{ event: EventName; payload: unknown }> = [];
    host.onEvent((event, payload) => events.push({ event, payload }));
    const started = (await host.dispatch('run.start', {
      configFile: path.join(proj, 'configs', 'base.yaml'),
      overrides: ['training.max_steps=100000'],
      command: ['python3', 'train.py', '{config}', '--step-delay', '0.05'],
    })) as { expDir: string };
    const status = json(path.join(started.expDir, 'expdesk_status.json'));
    await waitFor(() => events.some((e) => e.event === 'run.status'), 'the first status event');
    process.kill(status.pid as number, 'SIGKILL');
    await waitFor(
      () =>
        events.some(
          (e) => e.event === 'run.status' && (e.payload as EventPayload<'run.status'>).state === 'failed',
        ),
      'a failed status event',
      120_000,
    );
    expect(existsSync(path.join(started.expDir, 'FAILED.txt'))).toBe(true);
    host.dispose();
  });
});
