import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  fingerprintOf,
  HostKeyChangedError,
  HostKeyUnknownError,
  keyTypeOf,
  knownHostName,
  lookupHostKey,
  parseKnownHosts,
  verifyHostKey,
} from '../../../../../src/main/core/remote/known-hosts';
import { keygen } from '../../../../helpers/sshd';
import { tmpDir } from '../../../../helpers/tmp';

function key(dir: string, name: string, type = 'ed25519'): { line: string; blob: Buffer; fp: string } {
  const line = keygen(path.join(dir, name), '', type).split(' ').slice(0, 2).join(' ');
  const blob = Buffer.from(line.split(' ')[1]!, 'base64');
  const fp = execFileSync('ssh-keygen', ['-lf', path.join(dir, `${name}.pub`)], { encoding: 'utf8' }).split(
    ' ',
  )[1]!;
  return { line, blob, fp };
}

describe('known_hosts', () => {
  it("computes OpenSSH's SHA256 fingerprint and the key type", () => {
    const dir = tmpDir();
    const k = key(dir, 'a');
    expect(fingerprintOf(k.blob)).toBe(k.fp);
    expect(keyTypeOf(k.blob)).toBe('ssh-ed25519');
    expect(knownHostName('h', 22)).toBe('h');
    expect(knownHostName('h', 2222)).toBe('[h]:2222');
  });

  it('matches plain, pattern and [host]:port entries; unknown, changed and revoked keys', () => {
    const dir = tmpDir();
    const a = key(dir, 'a');
    const b = key(dir, 'b');
    const ec = key(dir, 'r', 'ecdsa');
    const text = `# comment\n[gpu]:2222,10.0.0.5 ${a.line}\n*.lab,!bad.lab ${ec.line}\n@revoked revoked.lab ${b.line}\n`;
    const entries = parseKnownHosts(text, '/kh');
    expect(lookupHostKey(entries, '[gpu]:2222', a.blob).status).toBe('known');
    expect(lookupHostKey(entries, 'gpu', a.blob).status).toBe('unknown'); // port 22 is another name
    const changed = lookupHostKey(entries, '[gpu]:2222', b.blob);
    expect(changed).toMatchObject({ status: 'changed', entry: { line: 2 } });
    expect(lookupHostKey(entries, 'x.lab', ec.blob).status).toBe('known');
    expect(lookupHostKey(entries, 'bad.lab', ec.blob).status).toBe('unknown');
    expect(lookupHostKey(entries, 'x.lab', a.blob)).toEqual({
      status: 'unknown',
      otherTypes: ['ecdsa-sha2-nistp256'],
    });
    expect(lookupHostKey(entries, 'revoked.lab', b.blob).status).toBe('revoked');
  });

  it('reads hashed entries written by ssh-keygen -H', () => {
    const dir = tmpDir();
    const a = key(dir, 'a');
    const file = path.join(dir, 'known_hosts');
    writeFileSync(file, `[127.0.0.1]:2200 ${a.line}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    expect(readFileSync(file, 'utf8')).toMatch(/^\|1\|/);
    expect(verifyHostKey({ files: [file], acceptNew: false }, '127.0.0.1', 2200, a.blob)).toBe('known');
    expect(() => verifyHostKey({ files: [file], acceptNew: false }, '127.0.0.1', 2201, a.blob)).toThrow(
      HostKeyUnknownError,
    );
  });

  it('unknown: an error carrying the fingerprint, or with accept-new the key is recorded (ssh-keygen -F finds it)', () => {
    const dir = tmpDir();
    const a = key(dir, 'a');
    const file = path.join(dir, 'sub', 'known_hosts');
    let err: HostKeyUnknownError | null = null;
    try {
      verifyHostKey({ files: [file], acceptNew: false }, '127.0.0.1', 2200, a.blob);
    } catch (e) {
      err = e as HostKeyUnknownError;
    }
    expect(err).toBeInstanceOf(HostKeyUnknownError);
    expect(err!.fingerprint).toBe(a.fp);
    expect(err!.message).toContain(a.fp);
    expect(err!.message).toContain('--accept-new-host-key');
    expect(verifyHostKey({ files: [file], acceptNew: true }, '127.0.0.1', 2200, a.blob)).toBe('added');
    expect(verifyHostKey({ files: [file], acceptNew: false }, '127.0.0.1', 2200, a.blob)).toBe('known');
    const found = execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2200', '-f', file], { encoding: 'utf8' });
    expect(found).toContain(a.line);
  });

  it('changed: refused even with accept-new, naming the file and line', () => {
    const dir = tmpDir();
    const a = key(dir, 'a');
    const b = key(dir, 'b');
    const file = path.join(dir, 'known_hosts');
    writeFileSync(file, `other ${b.line}\n[127.0.0.1]:2200 ${a.line}\n`);
    for (const acceptNew of [false, true]) {
      let err: HostKeyChangedError | null = null;
      try {
        verifyHostKey({ files: [file], acceptNew }, '127.0.0.1', 2200, b.blob);
      } catch (e) {
        err = e as HostKeyChangedError;
      }
      expect(err).toBeInstanceOf(HostKeyChangedError);
      expect(err!.message).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
      expect(err!.message).toContain(`${file}:2`);
      expect(err!.message).toContain(b.fp);
    }
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
  });
});
