/**
 * `expdesk diff` on two runs of a remote machine (a real OpenSSH server on
 * 127.0.0.1): config keys, versions and packages are read on the host
 * through the SSH backend, the commits are said to be unavailable in words,
 * and nothing is written into the folders.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { writeExperiment } from '../helpers/experiments';
import { treeSnapshot } from '../helpers/snapshot';
import { startSshd, type TestSshd } from '../helpers/sshd';

let sshd: TestSshd;
let root: string;
let env: Record<string, string>;

beforeAll(async () => {
  sshd = await startSshd();
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-remote-diff-'));
  for (const [name, lr, numpy] of [
    ['exp001', '0.001', '1.26.4'],
    ['exp002', '0.002', '2.0.1'],
  ] as const) {
    const dir = writeExperiment(path.join(root, 'experiments', name), {
      config: `experiment:\n  name: ${name}\ntraining:\n  lr: ${lr}\n`,
      metadata: { name, git_hash: 'a'.repeat(40), python_version: '3.11.8', cuda_version: '12.1' },
    });
    writeFileSync(path.join(dir, 'requirements.txt'), `numpy==${numpy}\ntorch==2.2.0\n`);
  }
  env = { ...sshd.env, EXPDESK_CACHE_DIR: mkdtempSync(path.join(root, 'cache-')) };
}, 120_000);

afterAll(async () => {
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('expdesk diff over SSH', () => {
  it('reads configs, versions and packages on the host; says why commits are not listed', () => {
    const experiments = path.join(root, 'experiments');
    const before = treeSnapshot(experiments);
    const a = sshd.url(path.join(experiments, 'exp001'));
    const b = sshd.url(path.join(experiments, 'exp002'));
    const r = runCli(['diff', '--json', a, b], env);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect([d.a.path, d.b.path]).toEqual([a, b]);
    expect(d.config.changed).toEqual([{ key: 'training.lr', from: 0.001, to: 0.002 }]);
    expect(d.environment.packages.changed).toEqual([{ name: 'numpy', from: '1.26.4', to: '2.0.1' }]);
    expect(d.code.commits.available).toBe(false);
    expect(d.code.commits.reason).toContain('127.0.0.1');
    expect(treeSnapshot(experiments)).toEqual(before);
  }, 120_000);
});
