/**
 * `expdesk verify` with either run on a remote machine (issue 10: one backend
 * interface, so local and remote experiments mix in verify as in compare),
 * against a real OpenSSH server on 127.0.0.1: the remote run's metrics are
 * mirrored into a private folder, compared here, the answer names the run as
 * the user gave it, nothing is written on the remote, and the mirror is gone
 * when the command ends.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli';
import { treeSnapshot } from '../helpers/snapshot';
import { startSshd, type TestSshd } from '../helpers/sshd';

let sshd: TestSshd;
let root: string;
let tmp: string;
let env: Record<string, string>;
let exps: string[];

beforeAll(async () => {
  sshd = await startSshd();
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-remote-verify-'));
  execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), root], { stdio: 'ignore' });
  exps = readdirSync(path.join(root, 'experiments'))
    .sort()
    .map((n) => path.join(root, 'experiments', n));
  // The CLI's temporary folders (the metrics mirror) go here, to be checked after.
  tmp = mkdtempSync(path.join(os.tmpdir(), 'expdesk-remote-verify-tmp-'));
  env = { ...sshd.env, EXPDESK_CACHE_DIR: mkdtempSync(path.join(tmp, 'cache-')), TMPDIR: tmp };
}, 120_000);

afterAll(async () => {
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

interface Verdict {
  verdict: string;
  original: string;
  reproduced: string;
}

describe('expdesk verify across machines', () => {
  it('a local run and its copy on a remote machine are identical; the answer names the remote run as given', () => {
    const before = treeSnapshot(root);
    const remote = sshd.url(exps[0]!);
    const r = runCli(['verify', exps[0]!, remote, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout) as Verdict;
    expect(v.verdict).toBe('identical');
    expect(v.reproduced).toBe(remote);
    expect(v.original.startsWith(exps[0]!)).toBe(true);
    expect(treeSnapshot(root)).toEqual(before); // nothing written in the analysed folders
    // The private mirror of the remote metrics is removed when the command ends.
    expect(readdirSync(tmp).filter((n) => n.startsWith('expdesk-metrics-'))).toEqual([]);
  }, 120_000);

  it('two different remote runs diverge (exit 1), both named as given', () => {
    const a = sshd.url(exps[0]!);
    const b = sshd.url(exps[1]!);
    const r = runCli(['verify', a, b, '--json'], env);
    expect(r.code, r.stderr).toBe(1);
    const v = JSON.parse(r.stdout) as Verdict;
    expect(v.verdict).toBe('diverged');
    expect([v.original, v.reproduced]).toEqual([a, b]);
  }, 120_000);

  it('a remote run that is not there fails with a message naming the host and the folder', () => {
    const missing = sshd.url(path.join(root, 'experiments', 'no_such_run'));
    const r = runCli(['verify', exps[0]!, missing], env);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe(1); // an error, not a verdict
    expect(r.stderr).toContain('127.0.0.1');
    expect(r.stderr).toContain('no_such_run');
  }, 120_000);
});
