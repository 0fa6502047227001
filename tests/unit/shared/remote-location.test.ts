import { describe, expect, it } from 'vitest';
import {
  formatRemoteLocation,
  isRemoteLocation,
  parseRemoteLocation,
  remoteJoin,
  RemoteLocationError,
} from '../../../src/shared/remote-location';

describe('remote locations', () => {
  it('parses ssh:// URLs with user, port, IPv6 and home-relative paths', () => {
    expect(parseRemoteLocation('ssh://gpu/data/exps')).toEqual({
      user: null,
      host: 'gpu',
      port: null,
      path: '/data/exps',
    });
    expect(parseRemoteLocation('ssh://me@gpu.lab:2222/x')).toEqual({
      user: 'me',
      host: 'gpu.lab',
      port: 2222,
      path: '/x',
    });
    expect(parseRemoteLocation('ssh://me@[::1]:22/x')).toEqual({
      user: 'me',
      host: '::1',
      port: 22,
      path: '/x',
    });
    expect(parseRemoteLocation('ssh://gpu/~/proj')?.path).toBe('~/proj');
    expect(parseRemoteLocation('ssh://gpu')?.path).toBe('~');
    expect(parseRemoteLocation('ssh://gpu/a%20b')?.path).toBe('/a b');
  });

  it('parses scp-like host:path, relative paths being relative to the remote home', () => {
    expect(parseRemoteLocation('gpu:/data')).toEqual({ user: null, host: 'gpu', port: null, path: '/data' });
    expect(parseRemoteLocation('me@gpu:proj/exps')).toEqual({
      user: 'me',
      host: 'gpu',
      port: null,
      path: 'proj/exps',
    });
    expect(parseRemoteLocation('gpu:')?.path).toBe('~');
    expect(parseRemoteLocation('me@[fe80::1]:/x')).toEqual({
      user: 'me',
      host: 'fe80::1',
      port: null,
      path: '/x',
    });
  });

  it('keeps local paths local: drive letters, a slash before the colon, ./ and /', () => {
    for (const local of [
      'C:/x',
      'c:\\x',
      'd:x',
      './a:b',
      'dir/a:b',
      '/abs/a:b',
      '~/a:b',
      'plain',
      'a b:c',
      '../x:y',
    ]) {
      expect(isRemoteLocation(local), local).toBe(false);
    }
  });

  it('rejects a malformed ssh:// URL with a clear error', () => {
    expect(() => parseRemoteLocation('ssh://gpu:99999/x')).toThrow(RemoteLocationError);
    expect(() => parseRemoteLocation('ssh://gp u/x')).toThrow(/bad host/);
  });

  it('formats a canonical location that parses back to itself', () => {
    for (const text of ['ssh://me@gpu:2222/x/y', 'ssh://gpu/~/proj', 'ssh://me@[::1]:22/x']) {
      const loc = parseRemoteLocation(text)!;
      expect(formatRemoteLocation(loc)).toBe(text);
      expect(parseRemoteLocation(formatRemoteLocation(loc))).toEqual(loc);
    }
    expect(formatRemoteLocation(parseRemoteLocation('gpu:proj')!)).toBe('ssh://gpu/~/proj');
  });

  it('joins POSIX paths whatever the local OS', () => {
    expect(remoteJoin('/a/b', '../c', './d')).toBe('/a/c/d');
    expect(remoteJoin('~/x', 'y')).toBe('~/x/y');
  });
});
