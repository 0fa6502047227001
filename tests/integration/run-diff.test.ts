/**
 * `expdesk diff A B`: two seed-style runs recorded at two commits of a real
 * git repository, each with its own uncommitted.patch and requirements.txt;
 * the CLI names the changed config keys, the commits between the hashes, the
 * files each patch changes and the packages that changed — and reading the
 * repository runs nothing its .git/config asks for.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { git, initRepo } from '../helpers/git';
import { tmpDir } from '../helpers/tmp';
import { metricsLines, writeExperiment } from '../helpers/experiments';

interface Run {
  dir: string;
  hash: string;
}

function seedRun(repo: string, name: string, lr: string, requirements: string, python: string): Run {
  const hash = git(repo, 'rev-parse', 'HEAD').trim();
  const dir = path.join(repo, 'experiments', name);
  writeExperiment(dir, {
    config: `experiment:\n  name: ${name}\n  output_dir: experiments/${name}\nalgorithm:\n  name: dpo\ntraining:\n  lr: ${lr}\n  batch_size: 8\n`,
    metadata: {
      name,
      started_at: '2026-01-15T14:30:00.000001',
      git_hash: hash,
      git_branch: 'main',
      git_dirty: true,
      python_version: python,
      torch_version: '2.1.0+cu121',
      cuda_version: '12.1',
      hostname: 'gpu-box',
      command: 'scripts/train.py configs/dpo.yaml',
    },
    metrics: metricsLines([{ step: 1, prefix: 'train', 'train/loss': 1 }]),
  });
  writeFileSync(path.join(dir, 'requirements.txt'), requirements);
  // The uncommitted change the run started with, as git writes it.
  writeFileSync(path.join(dir, 'uncommitted.patch'), git(repo, 'diff', '--binary', 'HEAD'));
  return { dir, hash };
}

/** Name, learning rate, requirements.txt and Python of the two runs. */
type RunSpec = [string, string, string, string];
const RUN_A: RunSpec = [
  'exp001_dpo_beta0.1',
  '0.001',
  'numpy==1.26.4\nTorch==2.1.0\ntyping_extensions==4.9.0\ntqdm==4.66.1\n',
  '3.10.12',
];
const RUN_B: RunSpec = [
  'exp002_dpo_beta0.1',
  '0.0005',
  'numpy==2.0.1\ntorch==2.1.0\ntyping-extensions==4.9.0\nrich==13.7.0\n',
  '3.11.8',
];

/** Give HEAD a (fake) signature, so showing signatures would call gpg.program to check it. */
function signHead(repo: string): void {
  const body = git(repo, 'cat-file', 'commit', 'HEAD');
  const cut = body.indexOf('\n\n');
  const sig = ' -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n -----END PGP SIGNATURE-----';
  const signed = `${body.slice(0, cut)}\ngpgsig${sig}${body.slice(cut)}`;
  const file = path.join(repo, '.git', 'signed-commit');
  writeFileSync(file, signed);
  const id = git(repo, 'hash-object', '-t', 'commit', '-w', file).trim();
  git(repo, 'update-ref', 'HEAD', id);
}

function project(): { repo: string; a: Run; b: Run; marker: string } {
  const repo = tmpDir('expdesk-diff-');
  mkdirSync(path.join(repo, 'src'));
  writeFileSync(path.join(repo, 'src', 'train.py'), 'lr = 1e-3\nprint("train")\n');
  writeFileSync(path.join(repo, 'src', 'data.py'), 'BATCH = 8\n');
  writeFileSync(path.join(repo, '.gitignore'), 'experiments/\n');
  initRepo(repo);
  // A hostile repository: signatures shown by log would run its gpg.program.
  const marker = path.join(repo, 'gpg-ran');
  const gpg = path.join(repo, 'fake-gpg.sh');
  writeFileSync(gpg, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
  git(repo, 'config', 'log.showSignature', 'true');
  git(repo, 'config', 'gpg.program', gpg);

  writeFileSync(path.join(repo, 'src', 'data.py'), 'BATCH = 16  # local edit\n');
  const a = seedRun(repo, ...RUN_A);
  git(repo, 'checkout', '--', 'src/data.py');
  writeFileSync(path.join(repo, 'src', 'train.py'), 'lr = 5e-4\nprint("train")\n');
  git(repo, 'commit', '-qam', 'Lower the learning rate');
  writeFileSync(path.join(repo, 'src', 'model.py'), 'DROPOUT = 0.1\n');
  git(repo, 'add', 'src/model.py');
  git(repo, 'commit', '-qm', 'Add dropout to the model');
  signHead(repo);
  writeFileSync(path.join(repo, 'src', 'train.py'), 'lr = 5e-4\nprint("train, warmup")\n');
  const b = seedRun(repo, ...RUN_B);
  return { repo, a, b, marker };
}

describe('expdesk diff', () => {
  it('shows the changed config keys, the commits and patches between two runs, and the packages', () => {
    const { a, b, marker } = project();
    const r = runCli(['diff', a.dir, b.dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toContain('~ training.lr: 0.001 → 5.000e-4');
    // The run's own name and folder always differ: left out, and said so.
    expect(out).not.toMatch(/~ experiment\.name/);
    expect(out).toContain('naming the run left out: experiment.name, experiment.output_dir');
    expect(out).toContain(`code: ${a.hash.slice(0, 12)} (main) → ${b.hash.slice(0, 12)} (main)`);
    expect(out).toContain('commits in B, not in A (2):');
    expect(out).toMatch(/[0-9a-f]{12} Add dropout to the model\n\s+[0-9a-f]{12} Lower the learning rate/);
    expect(out).toMatch(/src\/data\.py\s+\+1 -1\s+—\s+only A/);
    expect(out).toMatch(/src\/train\.py\s+—\s+\+1 -1\s+only B/);
    expect(out).toContain('python_version: 3.10.12 → 3.11.8');
    expect(out).toContain('torch_version: same (2.1.0+cu121)');
    expect(out).toContain('packages: 1 added, 1 removed, 1 changed, 2 unchanged');
    expect(out).toContain('+ rich 13.7.0');
    expect(out).toContain('- tqdm 4.66.1');
    expect(out).toContain('~ numpy 1.26.4 → 2.0.1');
    // log.showSignature and gpg.program in the repository's config ran nothing.
    expect(existsSync(marker)).toBe(false);
  });

  it('--json carries the same answer for programs', () => {
    const { a, b, repo } = project();
    const r = runCli(['diff', '--json', a.dir, b.dir]);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.config.changed).toEqual([{ key: 'training.lr', from: 0.001, to: 0.0005 }]);
    expect(d.config.identity.map((x: { key: string }) => x.key)).toEqual([
      'experiment.name',
      'experiment.output_dir',
    ]);
    expect(d.code.hashes).toEqual({ a: a.hash, b: b.hash });
    expect(d.code.commits.available).toBe(true);
    expect(d.code.commits.repository).toBe(repo);
    expect(d.code.commits.forward.map((c: { subject: string }) => c.subject)).toEqual([
      'Add dropout to the model',
      'Lower the learning rate',
    ]);
    expect(d.code.commits.backward).toEqual([]);
    expect(d.code.patches.files).toEqual([
      {
        path: 'src/data.py',
        a: { path: 'src/data.py', status: 'modified', added: 1, removed: 1 },
        b: null,
        same: false,
      },
      {
        path: 'src/train.py',
        a: null,
        b: { path: 'src/train.py', status: 'modified', added: 1, removed: 1 },
        same: false,
      },
    ]);
    expect(d.environment.packages).toEqual({
      added: [{ name: 'rich', version: '13.7.0' }],
      removed: [{ name: 'tqdm', version: '4.66.1' }],
      changed: [{ name: 'numpy', from: '1.26.4', to: '2.0.1' }],
      unchanged: 2,
    });
    expect(d.environment.versions.find((v: { key: string }) => v.key === 'cuda_version')).toEqual({
      key: 'cuda_version',
      a: '12.1',
      b: '12.1',
      differs: false,
    });
  });

  it('says in words when the repository or a hash is not there', () => {
    const root = tmpDir('expdesk-diff-norepo-');
    const a = writeExperiment(path.join(root, 'a'), {
      metadata: { name: 'a', git_hash: 'unknown', python_version: '3.10' },
    });
    const b = writeExperiment(path.join(root, 'b'), {
      metadata: { name: 'b', git_hash: 'f'.repeat(40), python_version: '3.10' },
    });
    const r = runCli(['diff', a, b]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('commits: unavailable: run A recorded no git commit (git_hash is "unknown")');
    expect(r.stdout).toContain('packages: no requirements.txt in run A and run B');
    expect(r.stdout).toContain('uncommitted.patch: A none; B none');

    const c = writeExperiment(path.join(root, 'c'), { metadata: { name: 'c', git_hash: 'e'.repeat(40) } });
    const r2 = runCli(['diff', c, b]);
    expect(r2.stdout).toMatch(/commits: unavailable: the source of commit eeeeeeeeeeee could not be found/);
  });
});
