/**
 * The run wrapper on a full disk, for real: the experiment folder sits on a
 * tiny tmpfs (mounted for this file; skipped where mounting is not allowed),
 * the command writes far more than fits. The run must go on, its terminal
 * must still show every byte, the loss must be counted in the status file and
 * reported, the log must pick up again once there is room, and the end of the
 * run must be recorded even while the disk is still full.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runnerScript } from '../../src/main/core/app/paths';
import { tmpDir } from '../helpers/tmp';
import { waitFor } from '../helpers/planted';

const mounted: string[] = [];
afterEach(() => {
  while (mounted.length) spawnSync('umount', ['-l', mounted.pop()!]);
});

/** A 256 KiB tmpfs, or null where this user may not mount one. */
function tinyDisk(): string | null {
  const dir = tmpDir('expdesk-fulldisk-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  mounted.push(dir);
  return dir;
}
const canMount = ((): boolean => {
  const d = tinyDisk();
  if (!d) return false;
  spawnSync('umount', [d]);
  mounted.pop();
  return true;
})();

const json = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8'));

/** A command that writes ~1 MB (20,000 numbered lines), waits for `go`, writes AFTER and exits 3. */
const SCRIPT = `
import os, sys, time
for i in range(20000):
    print("line %05d %s" % (i, "x" * 40))
print("ALL-WRITTEN", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
print("AFTER", flush=True)
sys.exit(3)
`;

/** Start the wrapper as Expdesk does (a spec file), its terminal a pipe we read. */
function startWrapper(expDir: string, go: string) {
  const work = tmpDir('expdesk-fulldisk-work-');
  writeFileSync(path.join(work, 'script.py'), SCRIPT);
  const spec = path.join(work, 'spec.json');
  writeFileSync(
    spec,
    JSON.stringify({
      exp_dir: expDir,
      cwd: work,
      argv: ['python3', path.join(work, 'script.py'), go],
      env: { PATH: process.env.PATH, PYTHONUNBUFFERED: '1' },
      tmux_session: null,
      stop_timeouts: [5, 5],
      record_file: path.join(work, 'state', 'runs', 'record.json'),
    }),
  );
  const wrapper = spawn('python3', [runnerScript(), spec], { stdio: ['ignore', 'pipe', 'pipe'] });
  let terminal = '';
  wrapper.stdout!.on('data', (d: Buffer) => (terminal += d.toString('latin1')));
  wrapper.stderr!.on('data', (d: Buffer) => (terminal += d.toString('latin1')));
  const exited = new Promise<number | null>((resolve) => wrapper.on('exit', (code) => resolve(code)));
  return { terminal: () => terminal, exited, wrapper };
}

describe.skipIf(!canMount)('the run wrapper on a full disk (a real tmpfs)', { timeout: 120_000 }, () => {
  it('keeps the run going, shows everything on its terminal, counts and reports the lost log bytes, and logs again once there is room', async () => {
    const disk = tinyDisk()!;
    const expDir = path.join(disk, 'exp001_full');
    mkdirSync(expDir);
    // Room the test frees later, so that writing can work again.
    writeFileSync(path.join(disk, 'filler'), Buffer.alloc(96 * 1024));
    const go = path.join(tmpDir(), 'go');
    const run = startWrapper(expDir, go);
    const status = path.join(expDir, 'expdesk_status.json');
    try {
      // The loss is recorded in the status file while the disk is still full.
      await waitFor(() => run.terminal().includes('ALL-WRITTEN'), 'all output');
      await waitFor(() => (json(status).log_bytes_lost as number) > 0, 'the loss in the status file');
      expect(json(status)).toMatchObject({ state: 'running', log_error: 'No space left on device' });
      rmSync(path.join(disk, 'filler'));
      writeFileSync(go, '');
      expect(await run.exited).toBe(3);
    } finally {
      run.wrapper.kill('SIGKILL');
    }
    const terminal = run.terminal();
    // Every line reached the terminal, in order, though most never reached the disk.
    const lines = terminal.split(/\r?\n/).filter((l) => l.startsWith('line '));
    expect(lines.length).toBe(20000);
    expect(lines[19999]).toMatch(/^line 19999 /);
    expect(terminal).toContain('AFTER');
    expect(terminal).toMatch(/cannot write .*train\.log \(No space left on device\): the run goes on/);
    const final = json(status);
    expect(final).toMatchObject({ state: 'failed', exit_code: 3, log_error: 'No space left on device' });
    const lost = final.log_bytes_lost as number;
    expect(lost).toBeGreaterThan(500_000);
    expect(terminal).toContain(`${lost} bytes of the output are missing from logs/train.log`);
    // The log resumed, saying where and how much is missing; the bytes it has plus the lost ones are all of them.
    const log = readFileSync(path.join(expDir, 'logs', 'train.log'), 'latin1');
    expect(log).toContain(`[expdesk: ${lost} bytes of output are missing here: No space left on device]`);
    expect(log.trimEnd().endsWith('AFTER')).toBe(true);
    const marker = log.indexOf('\n[expdesk:');
    const written = Buffer.byteLength(log.slice(0, marker), 'latin1');
    const after = Buffer.byteLength(log.slice(log.indexOf(']\n', marker) + 2), 'latin1');
    expect(written + lost + after).toBe(20000 * 52 + 'ALL-WRITTEN\n'.length + 'AFTER\n'.length);
    const failed = readFileSync(path.join(expDir, 'FAILED.txt'), 'utf8');
    expect(failed).toMatch(/^Failed at step 0\nExited with code 3\. \d+ bytes of the output are missing/);
    // The wrapper tidied up: no spare status copies left in the folder.
    expect(existsSync(`${status}.tmp-reserve`)).toBe(false);
  });

  it('records the end of the run while the disk is still full', async () => {
    const disk = tinyDisk()!;
    const expDir = path.join(disk, 'exp002_full');
    mkdirSync(expDir);
    const go = path.join(tmpDir(), 'go');
    writeFileSync(go, ''); // no waiting: fill the disk and exit at once
    const run = startWrapper(expDir, go);
    try {
      expect(await run.exited).toBe(3);
    } finally {
      run.wrapper.kill('SIGKILL');
    }
    // Still full (nothing was freed; the wrapper's spare status copy, removed at the end, is all that
    // is left over), yet the end is in the status file.
    const avail = Number(
      spawnSync('df', ['--output=avail', disk], { encoding: 'utf8' }).stdout.split('\n')[1],
    );
    expect(avail).toBeLessThanOrEqual(8);
    const final = json(path.join(expDir, 'expdesk_status.json'));
    expect(final).toMatchObject({ state: 'failed', exit_code: 3 });
    expect(final.log_bytes_lost as number).toBeGreaterThan(500_000);
    expect(run.terminal()).toContain('AFTER');
  });
});
