/**
 * The npm package as a user gets it: `npm pack` of the package (its
 * package.json "files", the CLI bundle built fresh), `npm install -g` into a
 * temporary prefix, then the installed `expdesk` on seed-written folders. The
 * installed tree has neither src/ nor tsx, and node-pty is removed from it
 * (a native module whose build may fail): listing and summarizing need neither.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli';
import { tmpDir } from '../helpers/tmp';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface Installed {
  bin: string;
  packageDir: string;
  fixtures: string;
}

/** Stage the package's files (package.json "files") with a freshly built CLI bundle, pack and install it. */
function packAndInstall(root: string): Installed {
  const stage = path.join(root, 'stage');
  mkdirSync(stage);
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { files: string[] };
  for (const entry of ['package.json', 'README.md', ...pkg.files]) {
    if (entry.startsWith('out/')) continue; // built below, never taken from a possibly stale checkout
    cpSync(path.join(REPO, entry), path.join(stage, entry), { recursive: true });
  }
  execFileSync(process.execPath, [
    path.join(REPO, 'scripts/build-cli.mjs'),
    '--outdir',
    path.join(stage, 'out/cli'),
  ]);
  const packed = path.join(root, 'packed');
  mkdirSync(packed);
  // --ignore-scripts: prepack would run the whole app build; the bundle is already staged.
  execFileSync(NPM, ['pack', '--ignore-scripts', '--pack-destination', packed], {
    cwd: stage,
    stdio: 'ignore',
  });
  const tgz = path.join(
    packed,
    readdirSync(packed).find((f) => f.endsWith('.tgz'))!,
  );
  const prefix = path.join(root, 'prefix');
  // The npm cache first; the registry only for what it lacks. No install scripts: node-pty stays unbuilt.
  const install = spawnSync(
    NPM,
    [
      'install',
      '-g',
      tgz,
      '--prefix',
      prefix,
      '--ignore-scripts',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
    ],
    { cwd: root, encoding: 'utf8' },
  );
  if (install.status !== 0) throw new Error(`npm install -g failed: ${install.stderr}`);
  const packageDir = path.join(prefix, 'lib', 'node_modules', 'expdesk');
  rmSync(path.join(packageDir, 'node_modules', 'node-pty'), { recursive: true, force: true });
  const fixtures = path.join(root, 'fixtures');
  execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), fixtures], { stdio: 'ignore' });
  return { bin: path.join(prefix, 'bin', 'expdesk'), packageDir, fixtures };
}

function run(
  bin: string,
  args: string[],
  cwd: string,
): { code: number | null; stdout: string; stderr: string } {
  // Run from the temporary folder with a PATH holding only node: nothing of the checkout is reachable.
  const r = spawnSync(bin, args, {
    cwd,
    encoding: 'utf8',
    env: { PATH: path.dirname(process.execPath), HOME: cwd, EXPDESK_CACHE_DIR: path.join(cwd, 'cache') },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the npm package', () => {
  let root: string;
  let installed: Installed;

  beforeAll(() => {
    // Outside the checkout (whose node_modules holds tsx), and for the whole file (tmpDir's go after each test).
    root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-package-'));
    installed = packAndInstall(root);
    return () => rmSync(root, { recursive: true, force: true });
  }, 300_000);

  it('installs without src/ and without tsx, and runs from its bundle', () => {
    expect(existsSync(path.join(installed.packageDir, 'out', 'cli', 'expdesk.mjs'))).toBe(true);
    expect(existsSync(path.join(installed.packageDir, 'src'))).toBe(false);
    expect(existsSync(path.join(installed.packageDir, 'node_modules', 'tsx'))).toBe(false);
    const version = run(installed.bin, ['--version'], tmpDir());
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toBe(
      (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version,
    );
  });

  it('lists the seed-written experiments', () => {
    const r = run(installed.bin, ['list', '--json', installed.fixtures], tmpDir());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = (JSON.parse(r.stdout) as { experiments: Array<{ name: string; algorithm: string | null }> })
      .experiments;
    expect(rows.map((e) => e.name)).toEqual([
      'exp001_dpo_llama-7b_beta0.1_0115_1430',
      'exp002_dpo_llama-7b_beta0.5_0116_0900',
      'exp003_ppo_llama-7b_clip0.2_0117_1200',
      'exp004_dpo_llama-7b_beta0.1_0118_0800',
      'exp005_dpo_llama-7b_beta0.2_0119_1000',
    ]);
    expect(rows[0]).toMatchObject({ algorithm: 'dpo', total_steps: 100 });
  });

  it("summarizes an experiment as the seed's summarize_experiment does", () => {
    const exp = path.join(installed.fixtures, 'experiments', 'exp003_ppo_llama-7b_clip0.2_0117_1200');
    const r = run(installed.bin, ['summarize', exp], tmpDir());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [summary] = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(summary).toMatchObject({ name: path.basename(exp), algorithm: 'ppo', total_steps: 63 });
  });
});
