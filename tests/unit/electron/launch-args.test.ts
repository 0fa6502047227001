import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLaunchArgs } from '../../../src/main/electron/launch-args';

const cwd = path.resolve('/home/me/projects');
const dev = { defaultApp: true, cwd };
const packaged = { defaultApp: false, cwd };

describe('parseLaunchArgs', () => {
  it('opens nothing in particular (the demo) without arguments', () => {
    expect(parseLaunchArgs(['/opt/Expdesk/expdesk'], packaged)).toEqual({ workspace: null });
    expect(parseLaunchArgs(['electron', 'out/main/index.js'], dev)).toEqual({ workspace: null });
  });

  it('reads --workspace DIR and --workspace=DIR, resolved against cwd', () => {
    expect(parseLaunchArgs(['expdesk', '--workspace', 'runs'], packaged).workspace).toBe(
      path.join(cwd, 'runs'),
    );
    expect(parseLaunchArgs(['expdesk', '--workspace=/data/runs'], packaged).workspace).toBe(
      path.resolve('/data/runs'),
    );
  });

  it('takes the first positional folder, skipping the app entry when run unpackaged', () => {
    expect(parseLaunchArgs(['expdesk', 'runs'], packaged).workspace).toBe(path.join(cwd, 'runs'));
    expect(parseLaunchArgs(['electron', 'out/main/index.js', 'runs', 'other'], dev).workspace).toBe(
      path.join(cwd, 'runs'),
    );
  });

  it('ignores Chromium switches, including the ones Playwright adds before the entry', () => {
    const argv = [
      'electron',
      '--inspect=0',
      '--remote-debugging-port=0',
      'out/main/index.js',
      '--no-sandbox',
    ];
    expect(parseLaunchArgs(argv, dev)).toEqual({ workspace: null });
    expect(parseLaunchArgs([...argv, '/data/runs'], dev).workspace).toBe(path.resolve('/data/runs'));
    expect(parseLaunchArgs(['Expdesk', '-psn_0_12345'], packaged)).toEqual({ workspace: null });
  });

  it('lets --workspace win over a positional folder, in either order', () => {
    expect(parseLaunchArgs(['expdesk', 'a', '--workspace', 'b'], packaged).workspace).toBe(
      path.join(cwd, 'b'),
    );
    expect(parseLaunchArgs(['expdesk', '--workspace', 'b', 'a'], packaged).workspace).toBe(
      path.join(cwd, 'b'),
    );
  });

  it('treats everything after -- as positional, and ignores a dangling --workspace', () => {
    expect(parseLaunchArgs(['expdesk', '--', '-odd-name'], packaged).workspace).toBe(
      path.join(cwd, '-odd-name'),
    );
    expect(parseLaunchArgs(['expdesk', '--workspace'], packaged)).toEqual({ workspace: null });
    expect(parseLaunchArgs(['expdesk', '--workspace='], packaged)).toEqual({ workspace: null });
  });
});
