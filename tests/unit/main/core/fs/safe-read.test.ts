/**
 * fs/safe-read: only regular files are opened, never blocking on a FIFO, and
 * every read is bounded. Real FIFOs, sockets, devices and links in temp folders.
 */
import { execFileSync } from 'node:child_process';
import fs, { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  readRegularFileSync,
  readRegularHead,
  readRegularText,
} from '../../../../../src/main/core/fs/safe-read';
import { readText as readTextFallback } from '../../../../../src/main/core/workspace/fast-fs';
import { readText } from '../../../../../src/main/core/workspace/fs-batch';
import { tmpDir } from '../../../../helpers/tmp';

function fifo(file: string): string {
  execFileSync('mkfifo', [file]);
  return file;
}

async function socketAt(file: string): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(file, resolve));
  return server;
}

describe('safe-read', () => {
  it('refuses a FIFO at once (no writer needed), naming the file, in every form', async () => {
    const dir = tmpDir();
    const f = fifo(path.join(dir, 'metrics.jsonl'));
    const refusal = { code: 'ENOTREG', message: 'metrics.jsonl is a FIFO, not a regular file' };
    await expect(readRegularText(f, { maxBytes: 100, label: 'metrics.jsonl' })).rejects.toMatchObject(
      refusal,
    );
    await expect(readRegularHead(f, 100, { label: 'metrics.jsonl' })).rejects.toMatchObject(refusal);
    expect(() => readRegularFileSync(fs, f, 100, 'metrics.jsonl')).toThrow(refusal.message);
    // The listing's worker thread and its asynchronous fallback.
    await expect(readText(f, 100, 'metrics.jsonl')).rejects.toMatchObject(refusal);
    await expect(readTextFallback(f, 100, 'metrics.jsonl')).rejects.toMatchObject(refusal);
  });

  it('refuses a socket, a character device and a folder', async () => {
    const dir = tmpDir();
    const sock = path.join(dir, 's.sock');
    const server = await socketAt(sock);
    try {
      await expect(readRegularText(sock, { maxBytes: 10, label: 's' })).rejects.toMatchObject({
        code: 'ENOTREG',
        message: 's is a socket, not a regular file',
      });
      expect(() => readRegularFileSync(fs, sock, 10, 's')).toThrow('s is a socket, not a regular file');
      await expect(readText(sock, 10, 's')).rejects.toMatchObject({ code: 'ENOTREG' });
    } finally {
      server.close();
    }
    await expect(readRegularText('/dev/zero', { maxBytes: 10 })).rejects.toThrow(
      '/dev/zero is a character device, not a regular file',
    );
    await expect(readText('/dev/zero', 10)).rejects.toMatchObject({ code: 'ENOTREG' });
    mkdirSync(path.join(dir, 'sub'));
    await expect(readText(path.join(dir, 'sub'), 10, 'sub')).rejects.toThrow('sub is a folder');
  });

  it('reads a regular file whole up to the bound and refuses a larger one', async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'config.yaml');
    writeFileSync(f, 'a: 1\n');
    expect(await readRegularText(f, { maxBytes: 5 })).toBe('a: 1\n');
    expect(readRegularFileSync(fs, f, 5).toString()).toBe('a: 1\n');
    expect(await readText(f, 5)).toBe('a: 1\n');
    await expect(readRegularText(f, { maxBytes: 4, label: 'config.yaml' })).rejects.toMatchObject({
      code: 'EFBIG',
      message: 'config.yaml is 5 bytes: too large to read (limit 4)',
    });
    await expect(readText(f, 4, 'config.yaml')).rejects.toMatchObject({ code: 'EFBIG' });
    expect(() => readRegularFileSync(fs, f, 4)).toThrow('too large');
    const head = await readRegularHead(f, 2);
    expect([head.data.toString(), head.size]).toEqual(['a:', 5]);
  });

  it('follows a link by default and refuses one when asked not to follow', async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'real.txt'), 'x');
    symlinkSync('real.txt', path.join(dir, 'link.txt'));
    expect(await readRegularText(path.join(dir, 'link.txt'), { maxBytes: 1 })).toBe('x');
    await expect(
      readRegularHead(path.join(dir, 'link.txt'), 1, { noFollow: true, label: 'link.txt' }),
    ).rejects.toMatchObject({ code: 'ELOOP', message: 'link.txt is a symbolic link, not followed' });
  });
});
