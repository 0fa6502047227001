import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  matchPatternList,
  parseJumpList,
  resolveHost,
  tokenizeLine,
} from '../../../../../src/main/core/remote/ssh-config';
import { tmpDir } from '../../../../helpers/tmp';

function config(text: string, extra: Record<string, string> = {}): { home: string; file: string } {
  const home = tmpDir('expdesk-sshcfg-');
  mkdirSync(path.join(home, '.ssh'));
  const file = path.join(home, '.ssh', 'config');
  writeFileSync(file, text);
  for (const [name, body] of Object.entries(extra)) {
    mkdirSync(path.dirname(path.join(home, '.ssh', name)), { recursive: true });
    writeFileSync(path.join(home, '.ssh', name), body);
  }
  return { home, file };
}

describe('ssh config', () => {
  it('tokenizes Key value, Key=value, quotes and trailing comments', () => {
    expect(tokenizeLine('  HostName  gpu.lab  ')).toEqual({ keyword: 'hostname', args: ['gpu.lab'] });
    expect(tokenizeLine('Port=2222')).toEqual({ keyword: 'port', args: ['2222'] });
    expect(tokenizeLine('IdentityFile "~/my keys/id"')).toEqual({
      keyword: 'identityfile',
      args: ['~/my keys/id'],
    });
    expect(tokenizeLine('# comment')).toBeNull();
  });

  it('matches host patterns with wildcards and negations', () => {
    expect(matchPatternList('gpu1', ['gpu*'])).toBe(true);
    expect(matchPatternList('gpu1', ['gpu?', '!gpu1'])).toBe(false);
    expect(matchPatternList('web', ['gpu*,web'])).toBe(true);
  });

  it('resolves an alias: first value wins, IdentityFile accumulates, tokens and ~ expand', () => {
    const { home, file } = config(`
Host gpu
  HostName %h.lab.example
  User alice
  Port 2222
  IdentityFile ~/.ssh/id_gpu
  ProxyJump bastion

Host *
  User nobody
  IdentityFile %d/.ssh/id_%r
  ServerAliveInterval 15
`);
    const r = resolveHost('gpu', { file, home, localUser: 'me' });
    expect(r).toMatchObject({
      hostName: 'gpu.lab.example',
      user: 'alice',
      port: 2222,
      identityFiles: [path.join(home, '.ssh/id_gpu'), path.join(home, '.ssh/id_alice')],
      proxyJump: [{ user: null, host: 'bastion', port: null }],
      serverAliveIntervalSec: 15,
    });
    const other = resolveHost('elsewhere', { file, home, localUser: 'me' });
    expect(other).toMatchObject({ hostName: 'elsewhere', user: 'nobody', port: null, proxyJump: [] });
  });

  it('follows Include (relative to ~/.ssh, with globs) in its Host context, and skips Match blocks', () => {
    const { home, file } = config('Include conf.d/*\nMatch user root\n  Port 1\nHost gpu\n  Port 2\n', {
      'conf.d/a': 'Host gpu\n  HostName 10.0.0.5\n',
      'conf.d/b': 'Host other\n  HostName nope\n',
    });
    expect(resolveHost('gpu', { file, home })).toMatchObject({ hostName: '10.0.0.5', port: 2 });
  });

  it('parses ProxyJump lists', () => {
    expect(parseJumpList('a@j1:2200,j2,[::1]:22')).toEqual([
      { user: 'a', host: 'j1', port: 2200 },
      { user: null, host: 'j2', port: null },
      { user: null, host: '::1', port: 22 },
    ]);
    expect(parseJumpList('none')).toEqual([]);
  });

  it('a missing config file means no configuration', () => {
    expect(resolveHost('h', { file: '/nonexistent/config', home: '/nonexistent' })).toMatchObject({
      hostName: 'h',
      user: null,
      port: null,
      identityFiles: [],
    });
  });
});
