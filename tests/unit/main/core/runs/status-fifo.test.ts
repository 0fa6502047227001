/** Stop and file.read on folders with a FIFO planted as the status file or a log (issue 15 G). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStatusFile, stopRun } from '../../../../../src/main/core/runs/control';
import { readExperimentFile } from '../../../../../src/main/core/workspace/file-access';
import { tmpDir } from '../../../../helpers/tmp';

function experiment(): string {
  const dir = tmpDir();
  mkdirSync(path.join(dir, 'logs'));
  writeFileSync(path.join(dir, 'config.yaml'), 'experiment:\n  name: x\n');
  return dir;
}

describe('a FIFO planted in an experiment folder', () => {
  it('as the status file: stop refuses at once instead of blocking on it', async () => {
    const dir = experiment();
    execFileSync('mkfifo', [path.join(dir, 'expdesk_status.json')]);
    expect(readStatusFile(dir)).toBeNull();
    await expect(stopRun(dir, 1000)).rejects.toThrow('has no expdesk_status.json');
  });

  it('as a log: file.read refuses it, naming it', async () => {
    const dir = experiment();
    const log = path.join(dir, 'logs', 'train.log');
    execFileSync('mkfifo', [log]);
    await expect(readExperimentFile(log)).rejects.toMatchObject({
      code: 'bad-request',
      message: `${log} is a FIFO, not a regular file`,
    });
  });
});
