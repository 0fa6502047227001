/** Configs from an untrusted project: a FIFO never blocks, deep nesting is refused before parsing. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeConfig, ConfigError } from '../../../../../src/main/core/configs/compose';
import { readConfigFile } from '../../../../../src/main/core/configs/config-files';
import { tmpDir } from '../../../../helpers/tmp';

function project(): string {
  const dir = tmpDir();
  mkdirSync(path.join(dir, 'configs'));
  return dir;
}

describe('configs from an untrusted project', () => {
  it('refuses a FIFO named like a config at once, naming it (compose and config.read)', async () => {
    const dir = project();
    const fifo = path.join(dir, 'configs', 'train.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(() => composeConfig(fifo)).toThrow(ConfigError);
    expect(() => composeConfig(fifo)).toThrow('train.yaml is a FIFO, not a regular file');
    await expect(readConfigFile(fifo, dir)).rejects.toThrow();
  });

  it('refuses a config nested 20,000 levels with its file and line, without parsing it', () => {
    const dir = project();
    const file = path.join(dir, 'configs', 'deep.yaml');
    writeFileSync(file, 'a: 1\nb: ' + '['.repeat(20_000) + ']'.repeat(20_000) + '\n');
    let err: unknown;
    try {
      composeConfig(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).pos).toMatchObject({ file, line: 2 });
    expect((err as ConfigError).detail).toBe('nested deeper than 100 levels');
  });
});
