/**
 * Analysis of other trackers' runs and notes over SSH (issue 12), against a
 * real OpenSSH server on 127.0.0.1: a TensorBoard run (the tensorboardX
 * fixture) and an MLflow store on the remote are listed, shown and charted
 * as the same folders are here; notes, tags, star and archive are written
 * into the remote folder's expdesk_notes.json (atomically, through the
 * helper) by the host's `experiments.annotate` and the CLI, and a later
 * listing shows them; a notes file that is a link is refused and nothing is
 * written outside the folder.
 */
import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExpdeskHost } from '../../src/main/host/host';
import { REPO, runCli } from '../helpers/cli';
import { envOverrides } from '../helpers/env';
import { treeSnapshot } from '../helpers/snapshot';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { tmpDir } from '../helpers/tmp';

const FIXTURE = path.join(REPO, 'tests/fixtures/tfevents/simple_value');
const FIXTURE_NAME = 'events.out.tfevents.1796107104.vm';

let sshd: TestSshd;
let root: string;
let cliEnv: Record<string, string>;
const env = envOverrides();

function write(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

beforeAll(async () => {
  sshd = await startSshd();
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-remote-analysis-'));
  // The remote workspace: a TensorBoard log folder and an MLflow store beside seed-style runs.
  write(path.join(root, 'tb', 'README'), '');
  mkdirSync(path.join(root, 'tb', 'fixture'), { recursive: true });
  copyFileSync(path.join(FIXTURE, FIXTURE_NAME), path.join(root, 'tb', 'fixture', FIXTURE_NAME));
  const run = path.join(root, 'mlruns', '0', 'r1');
  write(path.join(run, 'meta.yaml'), 'run_id: r1\nstatus: 3\n');
  write(
    path.join(run, 'metrics', 'loss'),
    '1700000000000 0.5 1\n1700000001000 0.25 2\n1700000002000 0.125 3\n',
  );
  write(path.join(run, 'metrics', 'eval', 'acc'), '1700000002000 0.75 3\n');
  write(path.join(run, 'params', 'lr'), '0.001');
  write(path.join(root, 'mlruns', '0', 'meta.yaml'), 'name: Default\n');
  write(path.join(root, 'exps', 'exp001', 'config.yaml'), 'seed: 1\n');
  write(path.join(root, 'exps', 'exp002', 'config.yaml'), 'seed: 2\n');
  env.set(sshd.env);
  cliEnv = { ...sshd.env, EXPDESK_CACHE_DIR: tmpDir('expdesk-ra-cli-cache-') };
}, 120_000);

afterAll(async () => {
  env.restore();
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
});

function host(): ExpdeskHost {
  return new ExpdeskHost({
    mode: 'browser',
    version: 'test',
    workspace: sshd.url(root),
    demoWorkspace: null,
    cacheDir: tmpDir('expdesk-ra-cache-'),
  });
}

/** The same value with the remote prefix taken out of every path ("N s ago" said at different moments). */
function unprefixed<T>(value: T): T {
  const prefix = sshd.url('/').replace(/\/$/, '');
  return JSON.parse(
    JSON.stringify(value)
      .split(prefix)
      .join('')
      .replace(/\d+(\.\d+)? ?(s|min|h) ago/g, 'N ago'),
  ) as T;
}

interface Listing {
  experiments: Array<{ path: string; folder: string; total_steps: number | null; annotations?: unknown }>;
}

describe('TensorBoard and MLflow runs on a remote workspace', () => {
  it('list, show and metric series equal those of the same folders here', async () => {
    const h = host();
    try {
      for (const ws of [path.join(root, 'tb'), path.join(root, 'mlruns')]) {
        const local = (await h.dispatch('workspace.list', { root: ws })) as Listing;
        const remote = (await h.dispatch('workspace.list', { root: sshd.url(ws) })) as Listing;
        expect(local.experiments.length).toBe(1);
        expect(unprefixed(remote)).toEqual(unprefixed(local));
        const dir = local.experiments[0]!.path;
        const shown = await h.dispatch('experiment.get', { path: sshd.url(dir) });
        expect(unprefixed(shown)).toEqual(unprefixed(await h.dispatch('experiment.get', { path: dir })));
        for (const x of ['step', 'time'] as const) {
          const here = await h.dispatch('metrics.series', { expDir: dir, x, buckets: 50 });
          const there = await h.dispatch('metrics.series', { expDir: sshd.url(dir), x, buckets: 50 });
          expect(there).toEqual(here);
        }
      }
      const tb = (await h.dispatch('workspace.list', { root: sshd.url(path.join(root, 'tb')) })) as Listing;
      // The fixture's last step (500, where Loss/train is +Inf) came over the link.
      expect(tb.experiments[0]!.total_steps).toBe(500);
      const series = (await h.dispatch('metrics.series', {
        expDir: sshd.url(path.join(root, 'tb', 'fixture')),
        keys: ['lr'],
        buckets: 1000,
      })) as { series: Record<string, { x: number[]; y: number[] }> };
      expect(series.series.lr!.x).toHaveLength(100);
      expect(series.series.lr!.y[0]).toBeCloseTo(0.001, 7);
      // A folder with neither metrics.jsonl nor other runs' files: no series, over SSH as here.
      const plain = path.join(root, 'exps', 'exp002');
      expect(await h.dispatch('metrics.series', { expDir: sshd.url(plain) })).toEqual(
        await h.dispatch('metrics.series', { expDir: plain }),
      );
    } finally {
      h.dispose();
    }
  }, 240_000);

  it('`expdesk show --json` over SSH prints the same summary as for the folder here', () => {
    const dir = path.join(root, 'tb', 'fixture');
    const here = runCli(['show', dir, '--json'], cliEnv);
    const there = runCli(['show', sshd.url(dir), '--json'], cliEnv);
    expect(there.code, there.stderr).toBe(0);
    expect(unprefixed(JSON.parse(there.stdout) as unknown)).toEqual(
      unprefixed(JSON.parse(here.stdout) as unknown),
    );
  }, 240_000);
});

describe('notes, tags, star and archive on a remote workspace', () => {
  it('experiments.annotate writes the remote notes file atomically; the next listing shows it', async () => {
    const h = host();
    const exp1 = path.join(root, 'exps', 'exp001');
    const exp2 = path.join(root, 'exps', 'exp002');
    try {
      const result = (await h.dispatch('experiments.annotate', {
        paths: [sshd.url(exp1), sshd.url(exp2)],
        change: { addTags: ['baseline', 'seed-sweep'], starred: true, note: 'first try' },
      })) as { annotations: unknown[] };
      const want = { tags: ['baseline', 'seed-sweep'], note: 'first try', starred: true, archived: false };
      expect(result.annotations).toEqual([want, want]);
      await h.dispatch('experiments.annotate', {
        paths: [sshd.url(exp2)],
        change: { removeTags: ['seed-sweep'], archived: true },
      });
      const listing = (await h.dispatch('workspace.list', {
        root: sshd.url(path.join(root, 'exps')),
      })) as Listing;
      expect(listing.experiments.map((e) => [e.folder, e.annotations])).toEqual([
        ['exp001', want],
        ['exp002', { tags: ['baseline'], note: 'first try', starred: true, archived: true }],
      ]);
      // The file is the seed's kind of JSON (json.loads reads it), and no temporary file is left.
      const doc = JSON.parse(readFileSync(path.join(exp2, 'expdesk_notes.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(doc).toMatchObject({ tags: ['baseline'], archived: true });
      expect(typeof doc.updated_at).toBe('string');
      expect(Object.keys(treeSnapshot(exp2)).sort()).toEqual(['.', 'config.yaml', 'expdesk_notes.json']);
    } finally {
      h.dispose();
    }
  }, 240_000);

  it('the CLI tags, notes, stars and archives remote experiments; list --json shows them', () => {
    const exp = path.join(root, 'cli', 'exp001');
    write(path.join(exp, 'config.yaml'), 'seed: 1\n');
    const url = sshd.url(exp);
    for (const args of [
      ['tag', url, '+old', '+cli'],
      ['tag', url, '-old'],
      ['note', url, 'from the CLI'],
      ['star', url],
      ['archive', url],
    ]) {
      const r = runCli(args, cliEnv);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    const r = runCli(['list', sshd.url(path.join(root, 'cli')), '--json'], cliEnv);
    expect(r.code, r.stderr).toBe(0);
    const rows = (JSON.parse(r.stdout) as { experiments: Array<{ annotations: unknown }> }).experiments;
    expect(rows.map((x) => x.annotations)).toEqual([
      { tags: ['cli'], note: 'from the CLI', starred: true, archived: true },
    ]);
  }, 240_000);

  it('a notes file that is a link (or a folder) is refused; nothing is written outside the folder', () => {
    const outside = tmpDir('expdesk-ra-outside-');
    const target = path.join(outside, 'victim.json');
    writeFileSync(target, '{"keep": true}\n');
    const exp = path.join(root, 'hostile', 'exp_link');
    write(path.join(exp, 'config.yaml'), 'seed: 1\n');
    symlinkSync(target, path.join(exp, 'expdesk_notes.json'));
    const dirExp = path.join(root, 'hostile', 'exp_dir');
    mkdirSync(path.join(dirExp, 'expdesk_notes.json'), { recursive: true });
    write(path.join(dirExp, 'config.yaml'), 'seed: 1\n');
    const before = treeSnapshot(path.join(root, 'hostile'));
    const outsideBefore = treeSnapshot(outside);
    for (const d of [exp, dirExp]) {
      const r = runCli(['tag', sshd.url(d), '+x'], cliEnv);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`expdesk_notes.json in ${d} is not a regular file; not replaced`);
      expect(r.stderr).toContain('127.0.0.1');
    }
    expect(lstatSync(path.join(exp, 'expdesk_notes.json')).isSymbolicLink()).toBe(true);
    expect(treeSnapshot(path.join(root, 'hostile'))).toEqual(before);
    expect(treeSnapshot(outside)).toEqual(outsideBefore);
    const notExp = runCli(['star', sshd.url(path.join(root, 'tb'))], cliEnv);
    expect(notExp.code).not.toBe(0);
    expect(notExp.stderr).toContain('is not an experiment');
  }, 240_000);
});
