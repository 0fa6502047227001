/**
 * bin/expdesk.mjs chooses what to run: the bundle (out/cli/expdesk.mjs) when
 * it is newer than every file in src/, else the sources through tsx; an
 * installed package (no src/) always runs the bundle. Checked on a copy of
 * the launcher beside stand-in sources and bundle that say which one ran.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { REPO } from '../../helpers/cli';
import { tmpDir } from '../../helpers/tmp';

let root: string;
const bundle = (): string => path.join(root, 'out', 'cli', 'expdesk.mjs');
const source = (): string => path.join(root, 'src', 'cli', 'index.ts');
const other = (): string => path.join(root, 'src', 'main', 'deep', 'other.ts');

function at(file: string, secondsAgo: number): void {
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(file, t, t);
}

function launch(): { stdout: string; stderr: string; code: number | null } {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'expdesk.mjs')], { encoding: 'utf8' });
  return { stdout: r.stdout.trim(), stderr: r.stderr, code: r.status };
}

beforeEach(() => {
  root = tmpDir();
  mkdirSync(path.join(root, 'bin'));
  cpSync(path.join(REPO, 'bin', 'expdesk.mjs'), path.join(root, 'bin', 'expdesk.mjs'));
  writeFileSync(path.join(root, 'package.json'), '{ "type": "module" }\n');
  // tsx, as a checkout has it.
  symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'));
  mkdirSync(path.dirname(bundle()), { recursive: true });
  mkdirSync(path.dirname(other()), { recursive: true });
  mkdirSync(path.dirname(source()), { recursive: true });
  writeFileSync(bundle(), "process.stdout.write('bundle\\n');\n");
  // TypeScript only tsx can run: a type annotation.
  writeFileSync(source(), "const ran: string = 'sources';\nprocess.stdout.write(ran + '\\n');\n");
  writeFileSync(other(), 'export {};\n');
});

describe('bin/expdesk.mjs', () => {
  it('runs the bundle when it is newer than every file in src/', () => {
    at(source(), 60);
    at(other(), 30);
    at(bundle(), 10);
    expect(launch().stdout).toBe('bundle');
  });

  it('runs the sources when any file under src/ changed after the bundle was built', () => {
    at(source(), 60);
    at(bundle(), 30);
    at(other(), 10);
    expect(launch().stdout).toBe('sources');
  });

  it('runs the sources when there is no bundle', () => {
    rmSync(bundle());
    expect(launch().stdout).toBe('sources');
  });

  it('runs the bundle of an installed package, which has no src/, whatever its age', () => {
    rmSync(path.join(root, 'src'), { recursive: true });
    rmSync(path.join(root, 'node_modules'));
    at(bundle(), 86_400);
    expect(launch().stdout).toBe('bundle');
  });

  it('says to run `npm run build` when the sources are stale and tsx is missing', () => {
    rmSync(path.join(root, 'node_modules'));
    at(bundle(), 60);
    const r = launch();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('run `npm run build`');
  });
});
