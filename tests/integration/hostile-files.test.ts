/**
 * Issue 15 G: special files planted in experiment folders. A FIFO named like
 * an experiment file (config.yaml, metadata.json, logs/metrics.jsonl,
 * FAILED.txt, the status file) used to hang `expdesk list` and `show`, and
 * under `expdesk serve` the table never loaded and SIGTERM no longer stopped
 * the server. Run as a user would: the real CLI, the real serve process.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EXPDESK_BIN, REPO } from '../helpers/cli';
import { cli } from '../helpers/cli-async';
import { tmpDir } from '../helpers/tmp';

/** The experiment files a FIFO is planted as, one experiment each. */
const PLANTED = ['config.yaml', 'metadata.json', 'logs/metrics.jsonl', 'FAILED.txt', 'expdesk_status.json'];

function hostileWorkspace(): { root: string; dirs: Map<string, string> } {
  const root = tmpDir();
  const dirs = new Map<string, string>();
  PLANTED.forEach((name, i) => {
    const dir = path.join(root, `exp${i}`);
    mkdirSync(path.join(dir, 'logs'), { recursive: true });
    // Every experiment has another marker, so it is found even when its config is the FIFO.
    writeFileSync(path.join(dir, 'logs', 'train.log'), 'hello\n');
    if (name !== 'config.yaml')
      writeFileSync(path.join(dir, 'config.yaml'), `experiment:\n  name: exp${i}\n`);
    if (name === 'config.yaml') writeFileSync(path.join(dir, 'metadata.json'), `{"name": "exp${i}"}`);
    execFileSync('mkfifo', [path.join(dir, name)]);
    dirs.set(name, dir);
  });
  return { root, dirs };
}

describe('a FIFO planted as an experiment file', () => {
  it('`expdesk list` finishes and names each FIFO as a problem', async () => {
    const { root } = hostileWorkspace();
    const r = await cli(['list', root, '--json'], { EXPDESK_CACHE_DIR: tmpDir() });
    expect(r.signal, `list hung.\n${r.stderr}`).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    const listing = JSON.parse(r.stdout) as {
      experiments: Array<{ path: string; problems: Array<{ file: string; message: string }> }>;
    };
    expect(listing.experiments.map((e) => path.basename(e.path)).sort()).toEqual(
      PLANTED.map((_, i) => `exp${i}`),
    );
    PLANTED.forEach((name, i) => {
      const e = listing.experiments.find((x) => path.basename(x.path) === `exp${i}`)!;
      expect(e.problems).toEqual([{ file: name, message: `${name} is a FIFO, not a regular file` }]);
    });
  }, 120_000);

  it('`expdesk show` finishes for each and names the FIFO', async () => {
    const { dirs } = hostileWorkspace();
    const cache = tmpDir();
    const results = await Promise.all(
      [...dirs.values()].map((dir) => cli(['show', dir], { EXPDESK_CACHE_DIR: cache })),
    );
    [...dirs.keys()].forEach((name, i) => {
      const r = results[i]!;
      expect(r.signal, `show hung on ${name}.\n${r.stderr}`).toBeNull();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`${name} is a FIFO, not a regular file`);
    });
  }, 120_000);

  it('`expdesk serve` answers workspace.list and experiment.get, and SIGTERM stops it', async () => {
    const { root } = hostileWorkspace();
    // Issue 15 I: a metadata.json nested 20,000 levels made experiment.get answer "unserializable result".
    const deep = path.join(root, 'deep');
    mkdirSync(deep);
    writeFileSync(path.join(deep, 'metadata.json'), '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000));
    const child: ChildProcess = spawn(
      process.execPath,
      [EXPDESK_BIN, 'serve', '--workspace', root, '--port', '0'],
      { cwd: REPO, env: { ...process.env, EXPDESK_CACHE_DIR: tmpDir() }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const killer = setTimeout(() => child.kill('SIGKILL'), 110_000);
    try {
      const url = await new Promise<URL>((resolve, reject) => {
        const poll = setInterval(() => {
          const m = /^(http:\/\/\S+\/\?token=[0-9a-f]+)$/m.exec(out);
          if (m) {
            clearInterval(poll);
            resolve(new URL(m[1]!));
          }
        }, 50);
        void exited.then(() => {
          clearInterval(poll);
          reject(new Error(`serve exited before printing its URL:\n${out}\n${err}`));
        });
      });
      const ws = new WebSocket(`ws://${url.host}/api?token=${url.searchParams.get('token')}`, {
        headers: { origin: `http://${url.host}` },
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const call = (id: number, method: string, params: object): Promise<Record<string, unknown>> =>
        new Promise((resolve) => {
          ws.once('message', (data: Buffer) =>
            resolve(JSON.parse(data.toString()) as Record<string, unknown>),
          );
          ws.send(JSON.stringify({ id, method, params }));
        });
      const reply = await call(1, 'workspace.list', {});
      expect(reply.error).toBeUndefined();
      const listing = reply.result as {
        experiments: Array<{ path: string; problems: Array<{ message: string }> }>;
      };
      expect(listing.experiments).toHaveLength(PLANTED.length + 1);
      for (const e of listing.experiments) {
        expect(e.problems[0]?.message).toMatch(
          e.path === deep
            ? /^metadata.json is nested deeper than 100 levels$/
            : /is a FIFO, not a regular file$/,
        );
      }
      const detail = await call(2, 'experiment.get', { path: deep });
      ws.close();
      expect(detail.error).toBeUndefined();
      expect(detail.result).toMatchObject({
        metadata: null,
        summary: {
          problems: [{ file: 'metadata.json', message: 'metadata.json is nested deeper than 100 levels' }],
        },
      });

      child.kill('SIGTERM');
      const end = await exited;
      expect(end.signal, `serve ignored SIGTERM:\n${err}`).toBeNull();
      expect(end.code).toBe(0);
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
  }, 120_000);
});

/** Who can be refused a chmod 000 folder: this user, or nobody when the tests run as root. */
function unprivilegedUid(): number | undefined | null {
  if (process.getuid?.() !== 0) return undefined;
  try {
    return Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
  } catch {
    return null;
  }
}

describe('an unreadable experiment folder (chmod 000)', () => {
  const uid = unprivilegedUid();
  const why = 'running as root with no "nobody" user to run the CLI as: root reads chmod 000 folders';
  it.skipIf(uid === null)(
    `is listed with "permission denied", and show says so${uid === null ? ` (skipped: ${why})` : ''}`,
    async () => {
      const root = tmpDir();
      const cache = tmpDir();
      chmodSync(root, 0o755);
      chmodSync(cache, 0o777);
      for (const name of ['open', 'locked']) {
        mkdirSync(path.join(root, name));
        writeFileSync(path.join(root, name, 'config.yaml'), `experiment:\n  name: ${name}\n`);
      }
      const locked = path.join(root, 'locked');
      chmodSync(locked, 0o000);
      try {
        const env = { EXPDESK_CACHE_DIR: cache };
        const list = await cli(['list', root, '--json'], env, uid ?? undefined);
        expect(list.code, list.stderr).toBe(0);
        const listing = JSON.parse(list.stdout) as {
          experiments: Array<{ path: string; problems: Array<{ file: string; message: string }> }>;
        };
        expect(listing.experiments.map((e) => path.basename(e.path))).toEqual(['locked', 'open']);
        expect(listing.experiments[0]!.problems).toEqual([
          { file: '.', message: 'cannot read the experiment: permission denied' },
        ]);
        const show = await cli(['show', locked], env, uid ?? undefined);
        expect(show.code).not.toBe(0);
        expect(show.stderr).toContain(`cannot read ${locked}: permission denied`);
        expect(show.stderr).not.toContain('not an experiment');
      } finally {
        chmodSync(locked, 0o755);
      }
    },
    120_000,
  );
});
