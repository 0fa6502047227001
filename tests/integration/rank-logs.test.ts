/**
 * Multi-rank runs: `expdesk tail --rank N` on this machine and over a real
 * sshd on 127.0.0.1, following a real Python run (in a private tmux) that
 * writes the seed's per-rank logs (train_rank<N>.log) and SLURM-style
 * per-task output (slurm-<job>-<N>.out); and rank 0's metrics drive the
 * summary when records carry their rank.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli-async';
import { demoProject, usePrivateTmux } from '../helpers/demo-project';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { tmpDir } from '../helpers/tmp';

const tmux = usePrivateTmux();
let sshd: TestSshd;
let stateDir = '';
beforeAll(async () => {
  stateDir = tmpDir('expdesk-state-');
  sshd = await startSshd();
}, 120_000);
afterAll(async () => {
  await sshd?.stop();
});

const RANKS_PY = `
import json, os, sys, time
d = os.environ["EXPDESK_EXPERIMENT_DIR"]
logs = os.path.join(d, "logs")
os.makedirs(logs, exist_ok=True)
with open(os.path.join(logs, "slurm-40-2.out"), "w") as f:
    f.write("an older job's rank 2\\n")
steps = int(sys.argv[1])
files = {r: open(os.path.join(logs, n), "a") for r, n in
         [(0, "train_rank0.log"), (1, "train_rank1.log"), (2, "slurm-41-2.out")]}
metrics = open(os.path.join(logs, "metrics.jsonl"), "a")
for i in range(steps):
    for r, f in files.items():
        f.write("r%d-line-%d\\n" % (r, i))
        f.flush()
    for r in (0, 1):
        metrics.write(json.dumps({"step": i, "prefix": "train", "rank": r, "train/loss": 10.0 * r + 1.0 / (i + 1)}) + "\\n")
    metrics.flush()
    print("step", i, flush=True)
    time.sleep(0.05)
`;

const env = (): NodeJS.ProcessEnv => ({ ...tmux.env, ...sshd.env, EXPDESK_STATE_DIR: stateDir });

async function startRun(steps: number): Promise<string> {
  const proj = demoProject();
  writeFileSync(path.join(proj, 'ranks.py'), RANKS_PY);
  const r = await cli(
    [
      'run',
      '--workspace',
      proj,
      '--config',
      path.join(proj, 'configs', 'dpo_beta0.05.yaml'),
      '--cwd',
      proj,
      '--detach',
      '--',
      'python3',
      'ranks.py',
      String(steps),
    ],
    env(),
  );
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

const lines = (rank: number, n: number): string =>
  Array.from({ length: n }, (_, i) => `r${rank}-line-${i}\n`).join('');

describe('expdesk tail --rank', { timeout: 300_000 }, () => {
  it('follows one rank of a live run to its end, here and over SSH, without the other ranks', async () => {
    const exp = await startRun(60);
    const [local, remote] = await Promise.all([
      cli(['tail', '--follow', '--rank', '1', exp], env()),
      cli(['tail', '--follow', '--rank', '1', sshd.url(exp)], env()),
    ]);
    expect(local.code, local.stderr).toBe(0);
    expect(local.stdout).toBe(lines(1, 60));
    expect(remote.code, remote.stderr).toBe(0);
    expect(remote.stdout).toBe(lines(1, 60));
  });

  it("shows a rank's SLURM task output (the newest job's) and names the ranks there are", async () => {
    const exp = await startRun(5);
    const done = await cli(['tail', '--follow', exp], env());
    expect(done.code, done.stderr).toBe(0);
    for (const where of [exp, sshd.url(exp)]) {
      const r2 = await cli(['tail', '--rank', '2', where], env());
      expect(r2.code, r2.stderr).toBe(0);
      expect(r2.stdout).toBe(lines(2, 5));
      const r0 = await cli(['tail', '--rank', '0', where], env());
      expect(r0.stdout).toBe(lines(0, 5));
      const none = await cli(['tail', '--rank', '7', where], env());
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('has no log of rank 7');
      expect(none.stderr).toContain('its ranks: 0, 1, 2');
    }
    const bad = await cli(['tail', '--rank', 'x', exp], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--rank must be a rank number');
    // Rank 0's records drive the summary: rank 1 wrote the last line, with a loss 10 higher.
    const show = await cli(['show', '--json', exp], env());
    const summary = (JSON.parse(show.stdout) as { summary: { total_steps: number; final_loss: number } })
      .summary;
    expect(summary.total_steps).toBe(4);
    expect(summary.final_loss).toBeCloseTo(1 / 5);
  });
});
