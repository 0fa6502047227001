/** The browser mode's pure defences: Host and Origin allow-lists, cookies, loopback detection, static lookup. */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  allowedHostNames,
  hostAllowed,
  isLoopback,
  originAllowed,
  parseCookies,
  tokenCookie,
} from '../../../src/main/server/security';
import { lookupStatic } from '../../../src/main/server/static';

describe('Host and Origin checks', () => {
  const loopback = allowedHostNames('127.0.0.1');

  it('accepts loopback names with the right port only', () => {
    expect(hostAllowed('127.0.0.1:8000', loopback, 8000)).toBe(true);
    expect(hostAllowed('localhost:8000', loopback, 8000)).toBe(true);
    expect(hostAllowed('LOCALHOST:8000', loopback, 8000)).toBe(true);
    expect(hostAllowed('[::1]:8000', loopback, 8000)).toBe(true);
    expect(hostAllowed('127.0.0.1:8001', loopback, 8000)).toBe(false);
    expect(hostAllowed('127.0.0.1', loopback, 8000)).toBe(false);
    expect(hostAllowed('attacker.example:8000', loopback, 8000)).toBe(false);
    expect(hostAllowed('127.0.0.1.attacker.example:8000', loopback, 8000)).toBe(false);
    expect(hostAllowed(undefined, loopback, 8000)).toBe(false);
  });

  it('adds an explicitly bound address, IPv6 in brackets', () => {
    expect(hostAllowed('10.1.2.3:80', allowedHostNames('10.1.2.3'), 80)).toBe(true);
    expect(hostAllowed('10.1.2.4:80', allowedHostNames('10.1.2.3'), 80)).toBe(false);
    expect(hostAllowed('[fe80::1]:80', allowedHostNames('fe80::1'), 80)).toBe(true);
    expect(hostAllowed('tunnel.example:80', allowedHostNames('127.0.0.1', ['tunnel.example']), 80)).toBe(
      true,
    );
  });

  it('accepts only http origins of allowed hosts on our port', () => {
    expect(originAllowed('http://127.0.0.1:8000', loopback, 8000)).toBe(true);
    expect(originAllowed('http://localhost:8000', loopback, 8000)).toBe(true);
    expect(originAllowed('https://127.0.0.1:8000', loopback, 8000)).toBe(false);
    expect(originAllowed('http://evil.example:8000', loopback, 8000)).toBe(false);
    expect(originAllowed('null', loopback, 8000)).toBe(false);
    expect(originAllowed(undefined, loopback, 8000)).toBe(false);
  });

  it('knows loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      expect(isLoopback(a), a).toBe(true);
    for (const a of ['0.0.0.0', '::', '10.0.0.1', 'example.com']) expect(isLoopback(a), a).toBe(false);
  });
});

describe('cookies', () => {
  it('parses a Cookie header and writes a strict one', () => {
    const c = parseCookies('a=1; expdesk-token-80=abc%20d; broken; b=');
    expect(c.get('a')).toBe('1');
    expect(c.get('expdesk-token-80')).toBe('abc d');
    expect(c.get('b')).toBe('');
    expect(tokenCookie(80, 'tok')).toBe('expdesk-token-80=tok; Path=/; HttpOnly; SameSite=Strict');
  });
});

describe('lookupStatic', () => {
  const tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'expdesk-static-')));
  const root = path.join(tmp, 'renderer');
  mkdirSync(path.join(root, 'assets'), { recursive: true });
  writeFileSync(path.join(root, 'index.html'), 'x');
  writeFileSync(path.join(root, 'assets', 'a.js'), 'x');
  writeFileSync(path.join(tmp, 'secret'), 'x');
  symlinkSync(path.join(tmp, 'secret'), path.join(root, 'escape'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('maps / to index.html and finds assets', async () => {
    expect(await lookupStatic(root, '/')).toMatchObject({
      kind: 'file',
      file: path.join(root, 'index.html'),
    });
    expect(await lookupStatic(root, '/assets/a.js')).toMatchObject({ kind: 'file' });
    expect(await lookupStatic(root, '/assets')).toEqual({ kind: 'not-found' });
    expect(await lookupStatic(root, '/nope')).toEqual({ kind: 'not-found' });
  });

  it('refuses .., encoded or not, backslashes, NUL and symlinks out', async () => {
    for (const p of [
      '/../secret',
      '/%2e%2e/secret',
      '/..%2fsecret',
      '/assets/../../secret',
      '/..%5csecret',
      '/a%00',
      '/escape',
    ]) {
      expect((await lookupStatic(root, p)).kind, p).toBe('forbidden');
    }
    expect((await lookupStatic(root, '/%E0%A4%A')).kind).toBe('bad-request');
  });
});
