/**
 * Issue 15 C and H: an export carries the experiment's own files only. A
 * hostile folder plants links to a secret outside (requirements.txt, a log,
 * a checkpoint file, metadata.json), a FIFO, and symlink loops in logs/ and
 * the checkpoint; the bundle holds none of the secret, names every entry it
 * left out (warnings, README.md, bundle.json), stays small and checks out
 * against its MANIFEST, and the walk stops when the export is cancelled.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportBundle } from '../../../../../src/main/core/bundle/export';
import { MAX_WALK_DEPTH, scanExperiment } from '../../../../../src/main/core/bundle/scan';
import { checkManifest, filesUnder, unpackBundle } from '../../../../helpers/bundle';
import { REPO } from '../../../../helpers/cli';
import { tmpDir } from '../../../../helpers/tmp';

const SECRET = 'SECRET-41b7: the private key of someone else';

/** The seed's exp001 (config, metadata, requirements, two rank logs, checkpoints/final): a fresh copy. */
function seedExperiment(): string {
  const fixtures = tmpDir('expdesk-links-');
  execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), fixtures], { stdio: 'ignore' });
  return path.join(fixtures, 'experiments', 'exp001_dpo_llama-7b_beta0.1_0115_1430');
}

function secretFile(name = 'shadow'): string {
  const file = path.join(tmpDir('expdesk-secret-'), name);
  writeFileSync(file, `${SECRET}\n`);
  return realpathSync(file);
}

function replaceWithLink(file: string, target: string): void {
  rmSync(file, { force: true });
  symlinkSync(target, file);
}

/** Every byte of every file in the unpacked bundle, as text. */
function everything(dir: string): string {
  return filesUnder(dir)
    .map((f) => readFileSync(path.join(dir, f), 'latin1'))
    .join('\n');
}

describe('exportBundle and links (issue 15 C)', { timeout: 60_000 }, () => {
  it('leaves out links leading outside and FIFOs, naming each; a link that stays inside is packed as its file', async () => {
    const exp = seedExperiment();
    const secret = secretFile();
    replaceWithLink(path.join(exp, 'requirements.txt'), secret);
    replaceWithLink(path.join(exp, 'logs', 'train_rank1.log'), secret);
    symlinkSync(path.relative(path.join(exp, 'logs'), secret), path.join(exp, 'logs', 'climb.log'));
    symlinkSync('train_rank0.log', path.join(exp, 'logs', 'alias.log'));
    symlinkSync(secret, path.join(exp, 'checkpoints', 'final', 'weights.bin'));
    execFileSync('mkfifo', [path.join(exp, 'logs', 'pipe.log')]);
    const out = path.join(tmpDir(), 'links.tar.gz');

    const r = await exportBundle({ expDir: exp, out, withLogs: true, withCheckpoint: true });

    const outside = `a link leading outside (to ${secret})`;
    expect(r.leftOut).toEqual(
      expect.arrayContaining([
        { path: 'requirements.txt', reason: outside },
        { path: 'logs/climb.log', reason: outside },
        { path: 'logs/pipe.log', reason: 'a FIFO: never read' },
        { path: 'logs/train_rank1.log', reason: outside },
        { path: 'checkpoints/final/weights.bin', reason: outside },
      ]),
    );
    expect(r.leftOut).toHaveLength(5);
    expect(r.warnings).toContain(`requirements.txt is left out of the bundle: ${outside}`);
    expect(r.warnings).toContain('logs/pipe.log is left out of the bundle: a FIFO: never read');

    const dir = await unpackBundle(out, tmpDir());
    expect(everything(dir)).not.toContain(SECRET);
    expect(checkManifest(dir)).toEqual(
      [
        'README.md',
        'bundle.json',
        'reproduce.sh',
        'config.yaml',
        'metadata.json',
        'reproduce.original.sh',
        'logs/metrics.jsonl',
        'logs/alias.log',
        'logs/train_rank0.log',
        'checkpoints/final/trainer_state.json',
      ].sort(),
    );
    // The link inside the experiment: its file's bytes, as a plain file.
    expect(readFileSync(path.join(dir, 'logs', 'alias.log'))).toEqual(
      readFileSync(path.join(exp, 'logs', 'train_rank0.log')),
    );
    const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain(`logs/train_rank1.log is left out of the bundle: ${outside}`);
    expect(readme).toContain('`requirements.txt` was not recorded');
    const described = JSON.parse(readFileSync(path.join(dir, 'bundle.json'), 'utf8')) as {
      left_out: unknown;
      absent: Array<{ file: string }>;
    };
    expect(described.left_out).toEqual(r.leftOut);
    expect(described.absent.map((a) => a.file)).toContain('requirements.txt');
  });

  it('never reads a metadata.json or config.yaml that leads outside, not even for the README', async () => {
    const exp = seedExperiment();
    const secretJson = path.join(tmpDir('expdesk-secret-'), 'creds.json');
    writeFileSync(secretJson, JSON.stringify({ name: SECRET, command: SECRET, git_hash: SECRET }));
    const secretYaml = secretFile('creds.yaml');
    replaceWithLink(path.join(exp, 'metadata.json'), secretJson);
    replaceWithLink(path.join(exp, 'config.yaml'), secretYaml);
    const out = path.join(tmpDir(), 'meta.zip');
    const r = await exportBundle({ expDir: exp, out });
    expect(r.leftOut.map((l) => l.path)).toEqual(['config.yaml', 'metadata.json']);
    expect(JSON.stringify(r)).not.toContain(SECRET);
    const dir = await unpackBundle(out, tmpDir());
    expect(everything(dir)).not.toContain(SECRET);
    expect(filesUnder(dir)).not.toContain('metadata.json');
  });
});

describe('exportBundle and symlink loops (issue 15 H)', { timeout: 60_000 }, () => {
  it('walks logs/ and the checkpoint without following links to folders: a loop is one entry', async () => {
    const exp = seedExperiment();
    symlinkSync('.', path.join(exp, 'logs', 'loop'));
    symlinkSync('..', path.join(exp, 'logs', 'up'));
    symlinkSync('/', path.join(exp, 'logs', 'root'));
    symlinkSync('..', path.join(exp, 'checkpoints', 'final', 'again'));
    // Deeper than any real log folder: cut at the bound, and said so.
    const deep = path.join(exp, 'logs', ...Array.from({ length: MAX_WALK_DEPTH + 3 }, () => 'd'));
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(deep, 'bottom.log'), 'bottom\n');
    const out = path.join(tmpDir(), 'loop.zip');

    const r = await exportBundle({ expDir: exp, out, withLogs: true, withCheckpoint: true });

    expect(statSync(out).size).toBeLessThan(1024 * 1024);
    const dir = await unpackBundle(out, tmpDir());
    expect(checkManifest(dir)).toEqual(
      [
        'README.md',
        'bundle.json',
        'reproduce.sh',
        'config.yaml',
        'metadata.json',
        'requirements.txt',
        'reproduce.original.sh',
        'logs/metrics.jsonl',
        'logs/train_rank0.log',
        'logs/train_rank1.log',
        'checkpoints/final/trainer_state.json',
      ].sort(),
    );
    const folderLink = (target: string): string =>
      `a link to a folder (${target}): links to folders are not followed`;
    expect(r.leftOut).toEqual(
      expect.arrayContaining([
        { path: 'logs/loop', reason: folderLink('.') },
        { path: 'logs/up', reason: folderLink('..') },
        { path: 'logs/root', reason: 'a link leading outside (to /)' },
        { path: 'checkpoints/final/again', reason: folderLink('..') },
      ]),
    );
    expect(r.leftOut.some((l) => l.path.includes(`deeper than ${MAX_WALK_DEPTH} levels`))).toBe(true);
    expect(r.warnings).toContain(`logs/loop is left out of the bundle: ${folderLink('.')}`);
  });

  it('stops walking as soon as the export is cancelled, leaving nothing behind', async () => {
    const exp = seedExperiment();
    symlinkSync('.', path.join(exp, 'logs', 'loop'));
    for (let i = 0; i < 50; i++) mkdirSync(path.join(exp, 'logs', `rank${i}`, 'sub'), { recursive: true });
    const outDir = tmpDir();
    const out = path.join(outDir, 'cancelled.zip');
    const controller = new AbortController();
    await expect(
      exportBundle({
        expDir: exp,
        out,
        withLogs: true,
        signal: controller.signal,
        // Cancelled the moment the scan starts: the walk must notice before it packs anything.
        onProgress: (p) => {
          if (p.phase === 'scan' && p.done === 0) controller.abort();
        },
      }),
    ).rejects.toMatchObject({ code: 'aborted' });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(outDir)).toEqual([]);

    // The walk asks at every folder: cancelled at the third, it goes no further.
    let asked = 0;
    const cancelled = new Error('cancelled');
    await expect(
      scanExperiment(exp, {
        withLogs: true,
        checkAbort: () => {
          if (++asked === 3) throw cancelled;
        },
      }),
    ).rejects.toBe(cancelled);
    expect(asked).toBe(3);
  });
});
