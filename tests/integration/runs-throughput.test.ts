/**
 * 8 concurrent runs, each writing 2 MB/s for 10 s through its pty: every byte
 * lands in its logs/train.log, in order, none lost or doubled.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPDESK_BIN } from '../helpers/cli';
import { initRepo } from '../helpers/git';
import { tmpDir } from '../helpers/tmp';
import { privateTmux } from '../helpers/tmux';

const RUNS = 8;
const SECONDS = 10;
const BYTES_PER_SECOND = 2 * 1024 * 1024;

/** Writes numbered lines of varying length (and some \r progress bars) at a fixed rate; prints its own sha256. */
const WRITER = `
import hashlib, os, sys, time
rate, seconds, tag = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
h = hashlib.sha256()
total = int(rate * seconds)
written, n, start = 0, 0, time.monotonic()
out = sys.stdout.buffer
while written < total:
    chunk = bytearray()
    while len(chunk) < 65536 and written + len(chunk) < total:
        n += 1
        if n % 50 == 0:
            line = ("\\r[%s] %d" % ("#" * (n % 30), n)).encode()
        else:
            line = ("%s line %08d %s\\n" % (tag, n, "x" * (n % 97))).encode()
        chunk += line
    out.write(chunk)
    out.flush()
    h.update(chunk)
    written += len(chunk)
    ahead = written / rate - (time.monotonic() - start)
    if ahead > 0:
        time.sleep(ahead)
with open(os.environ["EXPDESK_EXPERIMENT_DIR"] + "/expected.sha256", "w") as f:
    f.write("%s %d\\n" % (h.hexdigest(), written))
`;

let tmux: ReturnType<typeof privateTmux>;
beforeAll(() => {
  tmux = privateTmux();
});
afterAll(() => tmux.cleanup());

describe('concurrent runs', () => {
  it(`${RUNS} runs at 2 MB/s for ${SECONDS} s each lose no byte`, { timeout: 240_000 }, async () => {
    const proj = tmpDir('expdesk-load-');
    writeFileSync(path.join(proj, 'writer.py'), WRITER);
    writeFileSync(path.join(proj, 'config.yaml'), 'experiment:\n  name: load\n');
    initRepo(proj);
    const env = { ...process.env, ...tmux.env, EXPDESK_CACHE_DIR: tmpDir() };
    const dirs: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = spawnSync(
        process.execPath,
        [
          EXPDESK_BIN,
          'run',
          '--detach',
          '--config',
          'config.yaml',
          '--name',
          `load${i}`,
          '--',
          'python3',
          'writer.py',
          String(BYTES_PER_SECOND),
          String(SECONDS),
          `run${i}`,
        ],
        { cwd: proj, env, encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      dirs.push(r.stdout.split('\n')[0]!);
    }
    const status = (d: string): Record<string, unknown> =>
      JSON.parse(readFileSync(path.join(d, 'expdesk_status.json'), 'utf8'));
    const deadline = Date.now() + 180_000;
    while (dirs.some((d) => status(d).state === 'running')) {
      if (Date.now() > deadline) throw new Error('runs did not finish in time');
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const d of dirs) {
      expect(status(d)).toMatchObject({ state: 'completed', exit_code: 0 });
      const [sha, bytes] = readFileSync(path.join(d, 'expected.sha256'), 'utf8').trim().split(' ');
      const log = readFileSync(path.join(d, 'logs', 'train.log'));
      expect(statSync(path.join(d, 'logs', 'train.log')).size).toBe(Number(bytes));
      expect(createHash('sha256').update(log).digest('hex')).toBe(sha);
    }
  });
});
