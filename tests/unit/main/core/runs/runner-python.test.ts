import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { wrapperPython } from '../../../../../src/main/core/runs/runner-python';
import { envOverrides } from '../../../../helpers/env';
import { tmpDir } from '../../../../helpers/tmp';

const env = envOverrides();
afterEach(() => env.restore());

/** A version manager's shim: a script named python3 that counts its runs, then runs the real one. */
function shimDir(): { dir: string; real: string; runs: () => number } {
  const dir = tmpDir();
  const real = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
    encoding: 'utf8',
  }).trim();
  const counter = path.join(dir, 'runs.txt');
  writeFileSync(
    path.join(dir, 'python3'),
    `#!/bin/sh\necho x >> ${JSON.stringify(counter)}\nexec ${JSON.stringify(real)} "$@"\n`,
  );
  chmodSync(path.join(dir, 'python3'), 0o755);
  const runs = (): number =>
    existsSync(counter) ? readFileSync(counter, 'utf8').split('\n').filter(Boolean).length : 0;
  return { dir, real, runs };
}

describe('the run wrapper interpreter', () => {
  it('runs past a python3 shim once it learned where the shim leads, and learns again when the shim changes', async () => {
    const { dir, real, runs } = shimDir();
    env.set({ PATH: `${dir}${path.delimiter}${process.env.PATH}`, EXPDESK_CACHE_DIR: tmpDir() });
    delete process.env.EXPDESK_RUNNER_PYTHON;
    const shim = path.join(dir, 'python3');

    const first = wrapperPython();
    expect(first.python).toBe(shim);
    expect(first.learn).not.toBeNull();
    await first.learn!();
    expect(runs()).toBe(1);

    const second = wrapperPython();
    expect(second).toEqual({ python: real, learn: null });
    expect(runs()).toBe(1); // nothing ran to find it

    // Another shim (a reinstall, another version manager): the shim again, until learned anew.
    utimesSync(shim, new Date(), new Date(Date.now() + 5_000));
    const third = wrapperPython();
    expect(third.python).toBe(shim);
    expect(third.learn).not.toBeNull();
  });

  it('uses a real python3 binary as found, and EXPDESK_RUNNER_PYTHON as given', () => {
    const { real } = shimDir();
    env.set({
      PATH: `${path.dirname(real)}${path.delimiter}${process.env.PATH}`,
      EXPDESK_CACHE_DIR: tmpDir(),
    });
    delete process.env.EXPDESK_RUNNER_PYTHON;
    const found = wrapperPython();
    expect(found.learn).toBeNull();
    expect(
      execFileSync(found.python, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' }),
    ).toBe('3\n');
    env.set({ EXPDESK_RUNNER_PYTHON: '/opt/some/python' });
    expect(wrapperPython()).toEqual({ python: '/opt/some/python', learn: null });
  });
});
