/**
 * core/fs/confine: real paths compared, on real files, links, loops and FIFOs
 * in a temporary folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfinementError,
  inspectEntry,
  isInside,
  resolveInside,
  resolveInsideSync,
} from '../../../../../src/main/core/fs/confine';
import { tmpDir } from '../../../../helpers/tmp';

function layout(): { root: string; outside: string } {
  const base = realpathSync(tmpDir('expdesk-confine-'));
  const root = path.join(base, 'exp');
  mkdirSync(path.join(root, 'logs'), { recursive: true });
  writeFileSync(path.join(root, 'logs', 'train.log'), 'ok\n');
  const outside = path.join(base, 'secret.txt');
  writeFileSync(outside, 'secret\n');
  symlinkSync(outside, path.join(root, 'logs', 'out.log'));
  symlinkSync('train.log', path.join(root, 'logs', 'alias.log'));
  symlinkSync('.', path.join(root, 'logs', 'loop'));
  symlinkSync('self', path.join(root, 'logs', 'self'));
  symlinkSync('nowhere', path.join(root, 'logs', 'dangling'));
  // The root reached through a link of its own still confines to its real path.
  symlinkSync(root, path.join(base, 'exp-link'));
  return { root, outside };
}

describe('resolveInside', () => {
  it('answers the real path of what stays inside, and refuses what leads out, naming both', async () => {
    const { root, outside } = layout();
    expect(await resolveInside(root, 'logs/alias.log')).toBe(path.join(root, 'logs', 'train.log'));
    expect(resolveInsideSync(path.join(path.dirname(root), 'exp-link'), 'logs/train.log')).toBe(
      path.join(root, 'logs', 'train.log'),
    );
    const refused = resolveInside(root, 'logs/out.log', 'its experiment folder');
    await expect(refused).rejects.toBeInstanceOf(ConfinementError);
    await expect(resolveInside(root, 'logs/out.log', 'its experiment folder')).rejects.toMatchObject({
      problem: 'outside',
      message: `${path.join(root, 'logs', 'out.log')} leads outside its experiment folder (to ${outside}): refused, links out are not followed`,
    });
    await expect(resolveInside(root, '../secret.txt')).rejects.toMatchObject({ problem: 'outside' });
    expect(() => resolveInsideSync(root, outside)).toThrow(/leads outside/);
    await expect(resolveInside(root, 'logs/dangling')).rejects.toMatchObject({ problem: 'missing' });
    await expect(resolveInside(root, 'logs/self')).rejects.toMatchObject({ problem: 'outside' });
  });

  it('isInside is strict and lexical', () => {
    expect(isInside('/a/b/c', '/a/b')).toBe(true);
    expect(isInside('/a/b', '/a/b')).toBe(false);
    expect(isInside('/a/bc', '/a/b')).toBe(false);
    expect(isInside('/a/b/../c', '/a/b')).toBe(false);
  });
});

describe('inspectEntry', () => {
  it('classifies without following: files, folders, links in and out, loops, FIFOs', async () => {
    const { root, outside } = layout();
    execFileSync('mkfifo', [path.join(root, 'logs', 'pipe')]);
    const at = (n: string): ReturnType<typeof inspectEntry> => inspectEntry(path.join(root, 'logs', n), root);
    expect((await at('train.log')).kind).toBe('file');
    expect(await at('pipe')).toEqual({ kind: 'special', what: 'a FIFO' });
    expect(await at('missing')).toEqual({ kind: 'missing' });
    expect(await at('alias.log')).toMatchObject({
      kind: 'link',
      target: 'train.log',
      real: path.join(root, 'logs', 'train.log'),
    });
    expect(await at('out.log')).toMatchObject({
      kind: 'link',
      real: null,
      reason: `a link leading outside (to ${outside})`,
    });
    const loop = await at('loop');
    expect(loop).toMatchObject({ kind: 'link', target: '.', real: path.join(root, 'logs') });
    expect(loop.kind === 'link' && loop.realStats?.isDirectory()).toBe(true);
    expect(await at('self')).toMatchObject({ kind: 'link', real: null, reason: 'a symlink loop' });
    expect(await at('dangling')).toMatchObject({
      kind: 'link',
      real: null,
      reason: 'a link to nothing (its target is missing)',
    });
  });
});
