/**
 * The same hostile folders over SSH (issue 15 G, I, I2): the Python helper
 * must not block on a FIFO planted as an experiment file, and must report it,
 * and deep nesting, in the very words of a local listing. Real sshd on
 * 127.0.0.1, real python3, the real CLI.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli-async';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { tmpDir } from '../helpers/tmp';

let sshd: TestSshd;

beforeAll(async () => {
  sshd = await startSshd();
});

afterAll(async () => {
  await sshd?.stop();
});

const PLANTED = ['config.yaml', 'metadata.json', 'logs/metrics.jsonl', 'FAILED.txt', 'expdesk_status.json'];

function workspace(): string {
  const root = tmpDir();
  PLANTED.forEach((name, i) => {
    const dir = path.join(root, `fifo${i}`);
    mkdirSync(path.join(dir, 'logs'), { recursive: true });
    writeFileSync(path.join(dir, 'logs', 'train.log'), 'hello\n');
    if (name !== 'config.yaml')
      writeFileSync(path.join(dir, 'config.yaml'), `experiment:\n  name: fifo${i}\n`);
    else writeFileSync(path.join(dir, 'metadata.json'), `{"name": "fifo${i}"}`);
    execFileSync('mkfifo', [path.join(dir, name)]);
  });
  mkdirSync(path.join(root, 'deep-yaml'));
  writeFileSync(
    path.join(root, 'deep-yaml', 'config.yaml'),
    'a: ' + '{a: '.repeat(20_000) + '1' + '}'.repeat(20_000),
  );
  mkdirSync(path.join(root, 'deep-json'));
  writeFileSync(
    path.join(root, 'deep-json', 'metadata.json'),
    '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000),
  );
  return root;
}

/** Problems by folder name, from `list --json`. */
function problems(stdout: string): Record<string, unknown> {
  const listing = JSON.parse(stdout) as { experiments: Array<{ path: string; problems: unknown }> };
  return Object.fromEntries(listing.experiments.map((e) => [path.basename(e.path), e.problems]));
}

describe('hostile experiment files over SSH', () => {
  it('list and show finish and report FIFOs and deep nesting exactly as locally', async () => {
    const root = workspace();
    const env = { ...sshd.env, EXPDESK_CACHE_DIR: tmpDir() };
    const [local, remote] = await Promise.all([
      cli(['list', root, '--json'], env),
      cli(['list', sshd.url(root), '--json'], env),
    ]);
    expect(remote.signal, `remote list hung:\n${remote.stderr}`).toBeNull();
    expect(remote.code, remote.stderr).toBe(0);
    expect(local.code, local.stderr).toBe(0);
    const expected = problems(local.stdout);
    expect(expected['fifo2']).toEqual([
      { file: 'logs/metrics.jsonl', message: 'logs/metrics.jsonl is a FIFO, not a regular file' },
    ]);
    expect(expected['deep-json']).toEqual([
      {
        file: 'metadata.json',
        line: 1,
        column: 501,
        message: 'metadata.json is nested deeper than 100 levels',
      },
    ]);
    expect(problems(remote.stdout)).toEqual(expected);

    const show = await cli(['show', sshd.url(path.join(root, 'fifo0'))], env);
    expect(show.signal, show.stderr).toBeNull();
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('config.yaml is a FIFO, not a regular file');
  }, 180_000);

  // sshd logs in as this user: as root, chmod 000 does not refuse anything (the local test runs the CLI as nobody).
  it.skipIf(process.getuid?.() === 0)(
    'an unreadable folder is listed with "permission denied" over SSH as locally (skipped as root: root reads chmod 000 folders)',
    async () => {
      const root = tmpDir();
      for (const name of ['open', 'locked']) {
        mkdirSync(path.join(root, name));
        writeFileSync(path.join(root, name, 'config.yaml'), `experiment:\n  name: ${name}\n`);
      }
      chmodSync(path.join(root, 'locked'), 0o000);
      try {
        const env = { ...sshd.env, EXPDESK_CACHE_DIR: tmpDir() };
        const remote = await cli(['list', sshd.url(root), '--json'], env);
        expect(remote.code, remote.stderr).toBe(0);
        expect(problems(remote.stdout)['locked']).toEqual([
          { file: '.', message: 'cannot read the experiment: permission denied' },
        ]);
        const show = await cli(['show', sshd.url(path.join(root, 'locked'))], env);
        expect(show.code).not.toBe(0);
        expect(show.stderr).toContain('permission denied');
      } finally {
        chmodSync(path.join(root, 'locked'), 0o755);
      }
    },
    180_000,
  );
});
