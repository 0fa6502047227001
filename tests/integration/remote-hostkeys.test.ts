/**
 * Host keys against a real sshd, through the real `expdesk` command: an
 * unknown host is refused with its SHA256 fingerprint and accepted (and
 * recorded) with --accept-new-host-key; a changed key is refused with
 * OpenSSH's warning naming the known_hosts line, even with
 * --accept-new-host-key; hashed known_hosts entries are honoured.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli';
import { keygen, startSshd, type TestSshd } from '../helpers/sshd';

let sshd: TestSshd;
let root: string;
let fingerprint: string;

beforeAll(async () => {
  sshd = await startSshd();
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-hostkeys-'));
  execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), root], { stdio: 'ignore' });
  fingerprint = execFileSync('ssh-keygen', ['-lf', path.join(sshd.dir, 'host_key.pub')], {
    encoding: 'utf8',
  }).split(' ')[1]!;
});

afterAll(async () => {
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
});

function env(knownHosts: string): Record<string, string> {
  return { ...sshd.env, EXPDESK_KNOWN_HOSTS: knownHosts, EXPDESK_CACHE_DIR: path.join(sshd.dir, 'cache') };
}

describe('host keys', () => {
  it('an unknown host shows its fingerprint and is refused; --accept-new-host-key records it like ssh does', () => {
    const kh = path.join(sshd.dir, 'kh-unknown', 'known_hosts');
    const refused = runCli(['list', sshd.url(root)], env(kh));
    expect(refused.code).toBe(4);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(`can't be established`);
    expect(refused.stderr).toContain(fingerprint);
    expect(refused.stderr).toContain('--accept-new-host-key');

    const accepted = runCli(['--accept-new-host-key', 'list', sshd.url(root)], env(kh));
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout).toContain('5 experiment(s)');
    // Recorded in OpenSSH's format: ssh-keygen finds it, and the next run needs no flag.
    const found = execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${sshd.port}`, '-f', kh], {
      encoding: 'utf8',
    });
    expect(found).toContain(sshd.hostKeyPub);
    const again = runCli(['list', sshd.url(root)], env(kh));
    expect(again.code, again.stderr).toBe(0);
    // The global option is also accepted after the command, as users type it.
    const after = runCli(['list', sshd.url(root), '--accept-new-host-key'], env(kh));
    expect(after.code, after.stderr).toBe(0);
  });

  it('a changed key is refused with a clear warning naming the known_hosts line, even with --accept-new-host-key', () => {
    const kh = path.join(sshd.dir, 'known_hosts_changed');
    const other = keygen(path.join(sshd.dir, 'impostor')).split(' ').slice(0, 2).join(' ');
    writeFileSync(kh, `# first line\n[127.0.0.1]:${sshd.port} ${other}\n`);
    for (const flags of [[], ['--accept-new-host-key']]) {
      const r = runCli([...flags, 'list', sshd.url(root)], env(kh));
      expect(r.code).toBe(4);
      expect(r.stderr).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
      expect(r.stderr).toContain(`${kh}:2`);
      expect(r.stderr).toContain(fingerprint);
      expect(r.stderr).toContain('ssh-keygen -R');
    }
    expect(readFileSync(kh, 'utf8')).toBe(`# first line\n[127.0.0.1]:${sshd.port} ${other}\n`);
  });

  it('hashed known_hosts entries (ssh-keygen -H) are honoured', () => {
    const kh = path.join(sshd.dir, 'known_hosts_hashed');
    writeFileSync(kh, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyPub}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', kh], { stdio: 'ignore' });
    expect(readFileSync(kh, 'utf8')).toMatch(/^\|1\|/);
    const r = runCli(['list', sshd.url(root)], env(kh));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('5 experiment(s)');
  });
});
