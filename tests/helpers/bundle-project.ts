/**
 * A small project for bundle tests, launched the way Expdesk launches (the
 * real prepareRun: frozen config, metadata, pip freeze, uncommitted.patch),
 * with the command then run directly instead of through tmux — what matters
 * here is the folder a launch leaves, not the terminal.
 *
 * The training script lives in code/ (so the command's folder is not the
 * repository root), reads data/scale.txt and, when present, data/blob.bin and
 * code/helper.py, so its numbers change when the uncommitted changes are not
 * applied exactly.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { prepareRun } from '../../src/main/core/runs/prepare';
import { git, initRepo } from './git';
import { tmpDir } from './tmp';

export const TRAIN_PY = `import json, os, random, re, sys, time
here = os.path.dirname(os.path.abspath(__file__))
config = open(sys.argv[1], encoding="utf-8").read()
steps = int(re.search(r"steps: (\\d+)", config).group(1))
seed = int(os.environ["EXPDESK_SEED"])
exp = os.environ["EXPDESK_EXPERIMENT_DIR"]
scale = float(open(os.path.join(here, "..", "data", "scale.txt")).read())
blob = os.path.join(here, "..", "data", "blob.bin")
extra = len(open(blob, "rb").read()) if os.path.exists(blob) else 0
try:
    from helper import bonus
except ImportError:
    bonus = 0.0
rng = random.Random(seed)
os.makedirs(os.path.join(exp, "logs"), exist_ok=True)
with open(os.path.join(exp, "logs", "metrics.jsonl"), "a", encoding="utf-8") as f:
    for step in range(1, steps + 1):
        f.write(json.dumps({"step": step, "prefix": "train", "timestamp": time.time(),
                            "train/loss": rng.random() * scale + bonus, "train/extra": extra}) + "\\n")
    f.write(json.dumps({"step": steps, "prefix": "eval", "timestamp": time.time(), "eval/acc": rng.random()}) + "\\n")
os.makedirs(os.path.join(exp, "checkpoints", "final"), exist_ok=True)
open(os.path.join(exp, "checkpoints", "final", "model.bin"), "wb").write(bytes(range(256)) * 4)
print("trained %d steps, scale %s, seed %d, cwd %s" % (steps, scale, seed, os.getcwd()))
`;

export interface MiniProject {
  dir: string;
  hash: string;
}

/** A committed project: configs/base.yaml, code/train.py, data/scale.txt, run.sh. */
export function miniProject(): MiniProject {
  const dir = tmpDir('expdesk-bproj-');
  mkdirSync(path.join(dir, 'configs'));
  mkdirSync(path.join(dir, 'code'));
  mkdirSync(path.join(dir, 'data'));
  writeFileSync(
    path.join(dir, 'configs', 'base.yaml'),
    'experiment:\n  name: mini\n  output_dir: experiments\nalgorithm:\n  name: dpo\nmodel:\n  name: tiny\ndpo:\n  beta: 0.1\ntraining:\n  steps: 6\n  seed: 3\n',
  );
  writeFileSync(path.join(dir, 'code', 'train.py'), TRAIN_PY);
  writeFileSync(path.join(dir, 'data', 'scale.txt'), '1.0\n');
  writeFileSync(path.join(dir, 'run.sh'), '#!/bin/sh\nexec python3 "$@"\n', { mode: 0o755 });
  // experiments/ is deliberately not in .gitignore: Expdesk leaves it out of the patch on its own.
  writeFileSync(path.join(dir, '.gitignore'), '*.ckpt\n');
  initRepo(dir);
  return { dir, hash: git(dir, 'rev-parse', 'HEAD').trim() };
}

/** Uncommitted changes the run depends on: a modified file, an untracked module, optionally an untracked binary. */
export function makeDirty(dir: string, opts: { binary?: boolean } = {}): void {
  writeFileSync(path.join(dir, 'data', 'scale.txt'), '2.5\n');
  writeFileSync(path.join(dir, 'code', 'helper.py'), 'bonus = 0.125\n');
  if (opts.binary)
    writeFileSync(path.join(dir, 'data', 'blob.bin'), Buffer.from([0, 1, 2, 255, 254, 10, 13, 0]));
}

/** Launch like `expdesk run --seed SEED -- python3 train.py {config}` from code/, and wait for it. */
export async function launchDirect(
  proj: string,
  opts: { seed?: number; command?: string[]; overrides?: string[] } = {},
): Promise<string> {
  const prepared = await prepareRun({
    workspace: proj,
    configFile: path.join(proj, 'configs', 'base.yaml'),
    overrides: opts.overrides,
    command: opts.command ?? ['python3', 'train.py', '{config}'],
    cwd: path.join(proj, 'code'),
    seed: opts.seed,
  });
  const [cmd, ...args] = prepared.command;
  const r = spawnSync(cmd!, args, { cwd: prepared.cwd, env: prepared.env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the run failed: ${r.stderr}`);
  writeFileSync(path.join(prepared.expDir, 'logs', 'train.log'), r.stdout);
  return prepared.expDir;
}
