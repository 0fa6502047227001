/**
 * Parity between the remote helper (resources/remote/expdesk_remote.py, run
 * by a real python3 exactly as the remote side runs it: the compressed
 * `python3 -c …` command line, the request on stdin, the answer after the
 * marker) and the TypeScript core, on the same folders: the seed-written
 * fixtures, the demo workspace and a set of damaged folders. Listings,
 * statuses, summaries, problems and details must be equal; only the `ssh://`
 * prefix of paths is transport-specific. No SSH is involved: the helper runs
 * in a local shell, which is all an SSH exec adds on the far end.
 *
 * Also: the helper implements exactly the operations declared in
 * src/main/core/remote/protocol.ts, and refuses a client of another version.
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELPER_OPS, PROTOCOL_VERSION } from '../../src/main/core/remote/protocol';
import {
  afterMarker,
  callRemote,
  helperCommand,
  type HelperHost,
} from '../../src/main/core/remote/remote-python';
import { listRemoteConfigs, readRemoteExperimentFile } from '../../src/main/core/remote/remote-files';
import { listConfigFiles, projectRootOf } from '../../src/main/core/configs/config-files';
import { RemoteMetricsMirror } from '../../src/main/core/remote/remote-metrics';
import { RemoteWorkspace } from '../../src/main/core/remote/remote-workspace';
import { RemoteRunFiles } from '../../src/main/core/remote/remote-run-files';
import { annotateRemote } from '../../src/main/core/remote/remote-annotate';
import { annotateExperiment } from '../../src/main/core/workspace/annotations';
import { MetricsFeeds } from '../../src/main/core/metrics/metrics-feed';
import { SeriesStore } from '../../src/main/core/metrics/series-store';
import { SummaryStore } from '../../src/main/core/summary/summary-store';
import { discoverExperiments } from '../../src/main/core/workspace/discover';
import { readExperimentDetail } from '../../src/main/core/workspace/experiment';
import { readExperimentFile } from '../../src/main/core/workspace/file-access';
import { listWorkspace } from '../../src/main/core/workspace/workspace';
import { parseRemoteLocation } from '../../src/shared/remote-location';
import { REPO } from '../helpers/cli';
import { treeSnapshot } from '../helpers/snapshot';
import { localHelper as localHelperOf } from '../helpers/local-helper';
import { tmpDir } from '../helpers/tmp';
import { eventBytes, eventFile, record } from '../helpers/tfevents';

const TFEVENTS_FIXTURE = path.join(REPO, 'tests/fixtures/tfevents/simple_value');
const TFEVENTS_FIXTURE_NAME = 'events.out.tfevents.1796107104.vm';

const localHelper: HelperHost = localHelperOf('parity');

const PREFIX = 'ssh://parity';
const endpoint = parseRemoteLocation(`${PREFIX}/`)!;

function remoteWorkspace(): RemoteWorkspace {
  return new RemoteWorkspace(
    localHelper,
    endpoint,
    new SummaryStore({ cacheDir: tmpDir('expdesk-parity-rc-') }),
  );
}

/** What legitimately differs between transports: the ssh:// prefix, and "N s ago" said at slightly different moments. */
function normalize<T>(value: T): T {
  const text = JSON.stringify(value)
    .split(PREFIX)
    .join('')
    .replace(/\d+(\.\d+)? ?(s|min|h) ago/g, 'N ago');
  return JSON.parse(text) as T;
}

async function localListing(root: string): Promise<unknown> {
  return normalize(await listWorkspace(root, new SummaryStore({ cacheDir: false })));
}

async function remoteListing(root: string, ws = remoteWorkspace()): Promise<unknown> {
  return normalize(await ws.list(root));
}

async function errorOf(p: Promise<unknown>): Promise<{ code?: string; message: string } | 'no error'> {
  try {
    await p;
    return 'no error';
  } catch (err) {
    const e = err as { code?: string; message: string };
    return normalize({ code: e.code, message: e.message });
  }
}

/** Details of these folders, locally and through the helper (errors by code and message). */
async function detailsBoth(dirs: string[]): Promise<{ local: unknown[]; remote: unknown[] }> {
  const store = new SummaryStore({ cacheDir: false });
  const local: unknown[] = [];
  for (const d of dirs) {
    local.push(
      await readExperimentDetail(d, store).then(
        (x) => normalize(x),
        (e: { code?: string; message: string }) => ({ code: e.code, message: e.message }),
      ),
    );
  }
  const remote = (await remoteWorkspace().details(dirs)).map((x) =>
    x instanceof Error
      ? normalize({ code: (x as { code?: string }).code, message: x.message })
      : normalize(x),
  );
  return { local, remote };
}

let seedRoot: string;
let damagedRoot: string;
let before: Record<string, string>;

beforeAll(() => {
  seedRoot = tmpDirKept('expdesk-parity-seed-');
  execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), seedRoot], { stdio: 'ignore' });
  damagedRoot = tmpDirKept('expdesk-parity-damaged-');
  writeDamaged(path.join(damagedRoot, 'experiments'));
  before = treeSnapshot(damagedRoot);
});

const kept: string[] = [];
function tmpDirKept(prefix: string): string {
  // tmpDir() removes folders after each test; these live for the whole file.
  const dir = execFileSync('mktemp', ['-d', path.join(os.tmpdir(), `${prefix}XXXXXX`)], {
    encoding: 'utf8',
  }).trim();
  kept.push(dir);
  return dir;
}

afterAll(() => {
  for (const d of kept) execFileSync('rm', ['-rf', d]);
});

const line = (o: object): string => JSON.stringify(o) + '\n';
const CONFIG = 'algorithm: dpo\nmodel:\n  name: tiny\nlearning_rate: 0.001\nseed: 1\n';

function exp(root: string, name: string, files: Record<string, string | Buffer>): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [rel, data] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), data);
  }
  return dir;
}

const METRICS = 'logs/metrics.jsonl';
const SYSTEM = 'logs/system.jsonl';
const HOUR_AGO = (Date.now() - 3600_000) / 1000;

/** Damaged and unusual folders, each one a case the two readers must agree on. */
function writeDamaged(root: string): void {
  mkdirSync(root, { recursive: true });
  const good = [
    line({ step: 1, prefix: 'train', 'train/loss': 2.5, timestamp: '2024-01-01T00:00:00' }),
    line({ step: 2, prefix: 'train', 'train/loss': 1.5, timestamp: '2024-01-01T00:00:01' }),
    line({ step: 2, prefix: 'eval', 'eval/loss': 1.7, 'eval/accuracy': 0.5 }),
  ].join('');
  exp(root, 'exp001_truncated', { 'config.yaml': CONFIG, [METRICS]: good + '{"step": 3, "prefix": "tra' });
  exp(root, 'exp002_bad_lines', {
    'config.yaml': CONFIG,
    [METRICS]:
      good +
      'not json at all\n' +
      '[1, 2]\n' +
      '42\n' +
      '{"step": "four"}\n' +
      '\n' +
      line({ step: 5, prefix: 'train', 'train/loss': 0.5 }),
  });
  exp(root, 'exp003_nan_inf', {
    'config.yaml': CONFIG,
    [METRICS]:
      '{"step": 1, "prefix": "train", "train/loss": NaN}\n' +
      '{"step": 2, "prefix": "train", "train/loss": Infinity, "train/grad": -Infinity}\n' +
      '{"step": 3, "prefix": "eval", "eval/loss": NaN}\n',
  });
  exp(root, 'exp004_no_config', {
    'metadata.json': line({
      experiment_name: 'no config',
      git_hash: 'abc',
      start_time: '2024-01-01T00:00:00',
    }),
    [METRICS]: good,
  });
  exp(root, 'exp005_bad_yaml', {
    'config.yaml': 'algorithm: dpo\nmodel:\n  name: [unclosed\nlr: 1\n',
    [METRICS]: good,
  });
  exp(root, 'exp006_dup_keys', { 'config.yaml': 'algorithm: dpo\nalgorithm: ppo\n' });
  exp(root, 'exp007_config_list', { 'config.yaml': '- a\n- b\n', [METRICS]: good });
  exp(root, 'exp008_metadata_array', { 'config.yaml': CONFIG, 'metadata.json': '[1, 2, 3]\n' });
  exp(root, 'exp009_metadata_bad_json', {
    'config.yaml': CONFIG,
    'metadata.json': '{"experiment_name": "x",\n  oops}\n',
  });
  exp(root, 'exp010_failed', {
    'config.yaml': CONFIG,
    [METRICS]: good,
    'FAILED.txt':
      'Failed at step 2\nTraceback (most recent call last):\n  File "train.py", line 3\nRuntimeError: CUDA out of memory\n',
  });
  const status = (state: string, extra: object = {}): string =>
    line({
      schema: 'expdesk.status/1',
      state,
      started_at: '2024-01-01T00:00:00',
      ended_at: state === 'running' ? null : '2024-01-01T01:00:00',
      exit_code: state === 'completed' ? 0 : state === 'failed' ? 1 : null,
      pid: process.pid,
      hostname: os.hostname(),
      ...extra,
    });
  exp(root, 'exp011_status_completed', {
    'config.yaml': CONFIG,
    [METRICS]: good,
    'expdesk_status.json': status('completed'),
  });
  exp(root, 'exp012_status_failed', {
    'config.yaml': CONFIG,
    [METRICS]: good,
    'expdesk_status.json': status('failed'),
  });
  exp(root, 'exp013_status_stopped', {
    'config.yaml': CONFIG,
    'expdesk_status.json': status('stopped', { signal: 'SIGINT' }),
  });
  // Running, and its process (this test's) alive here.
  exp(root, 'exp014_status_running_alive', {
    'config.yaml': CONFIG,
    [METRICS]: good,
    'expdesk_status.json': status('running'),
  });
  // Running, but the process is gone.
  exp(root, 'exp015_status_running_gone', {
    'config.yaml': CONFIG,
    [METRICS]: good,
    'expdesk_status.json': status('running', { pid: 2 ** 22 + 12345 }),
  });
  // A pid written as a float, one no process can have, and a run on another machine.
  const raw = (pid: string, host = os.hostname()): string =>
    `{"schema": "expdesk.status/1", "state": "running", "started_at": "2024-01-01T00:00:00", "pid": ${pid}, "hostname": ${JSON.stringify(host)}}\n`;
  exp(root, 'exp015b_status_pid_float', { 'config.yaml': CONFIG, 'expdesk_status.json': raw('4206649.0') });
  exp(root, 'exp015c_status_pid_huge', {
    'config.yaml': CONFIG,
    'expdesk_status.json': raw('1099511627776'),
  });
  exp(root, 'exp015d_status_other_host', {
    'config.yaml': CONFIG,
    'expdesk_status.json': raw('4206649', 'gpu-box-elsewhere'),
  });
  exp(root, 'exp015e_status_pid_zero', { 'config.yaml': CONFIG, 'expdesk_status.json': raw('0') });
  exp(root, 'exp016_status_not_ours', {
    'config.yaml': CONFIG,
    'expdesk_status.json': line({ state: 'done', pid: 'x' }),
  });
  exp(root, 'exp017_status_not_json', {
    'config.yaml': CONFIG,
    'expdesk_status.json': '{"schema": "expdesk.status/1", ',
  });
  exp(root, 'exp018_status_array', { 'config.yaml': CONFIG, 'expdesk_status.json': '[]' });
  exp(root, 'exp019_only_metrics', { [METRICS]: good });
  exp(root, 'exp020_empty_metrics', { 'config.yaml': CONFIG, [METRICS]: '' });
  exp(root, 'exp021_blank_metrics', { 'config.yaml': CONFIG, [METRICS]: '\n\n   \n' });
  exp(root, 'exp022_crlf', {
    'config.yaml': CONFIG.replace(/\n/g, '\r\n'),
    [METRICS]: good.replace(/\n/g, '\r\n'),
  });
  exp(root, 'exp023_final_checkpoint', {
    'config.yaml': CONFIG,
    [METRICS]: good,
    'checkpoints/final/model.pt': 'x',
    'checkpoints/step_100/model.pt': 'x',
    'checkpoints/step_20/model.pt': 'x',
    'checkpoints/.hidden': 'x',
    'logs/train.log': 'hello\n',
    'logs/train_rank1.log': 'rank 1\n',
    'logs/notes.txt': 'not a log',
    'outputs/eval/results.json': '{}',
    'outputs/samples/a/b/c/deep.txt': 'too deep?',
    'outputs/samples/one.txt': '1',
    'outputs/plot.png': 'png',
    'outputs/.hidden': 'h',
    'requirements.txt': 'torch==2.0\n',
    'reproduce.sh': '#!/bin/sh\n',
  });
  exp(root, 'exp024_final_is_file', { 'config.yaml': CONFIG, 'checkpoints/final': 'not a folder' });
  exp(root, 'exp025_non_utf8', {
    'config.yaml': Buffer.concat([
      Buffer.from('algorithm: dpo\nnote: '),
      Buffer.from([0xff, 0xfe, 0x41]),
      Buffer.from('\n'),
    ]),
    [METRICS]: Buffer.concat([Buffer.from(good), Buffer.from([0xc3, 0x28, 0x0a])]),
  });
  exp(root, 'exp026_bom', {
    'metadata.json': '\ufeff' + line({ experiment_name: 'bom' }),
    'config.yaml': '\ufeff' + CONFIG,
  });
  exp(root, 'exp027_empty_config', { 'config.yaml': '' });
  exp(root, 'exp028_config_scalar', { 'config.yaml': 'just a string\n' });
  exp(root, 'exp029_unicode', {
    'config.yaml': 'algorithm: dpo\nnote: "ünïcödé ✓"\n',
    'metadata.json': line({ experiment_name: 'ünïcödé', git_dirty: true, git_hash: 'f00' }),
    [METRICS]: line({ step: 1, prefix: 'train', 'train/loss': 1, 'train/λ': 2 }),
  });
  exp(root, 'exp030_big_numbers', {
    'config.yaml': CONFIG,
    [METRICS]:
      '{"step": 1e400, "prefix": "train", "train/loss": 1e-400}\n{"step": 12345678901234567890, "prefix": "train", "train/loss": -0.0}\n',
  });
  exp(root, 'exp031_metadata_fields', {
    'metadata.json': line({
      experiment_name: 'custom name',
      start_time: '2024-02-03T04:05:06.789',
      git_hash: 'deadbeef',
      git_dirty: false,
      seed: 7,
      config: { algorithm: 'ppo' },
    }),
    [METRICS]: good,
  });
  // Written long ago: no activity, so the inferred status is not "running".
  const old = exp(root, 'exp032_old_metrics', { [METRICS]: good, 'logs/train.log': 'x\n' });
  utimesSync(path.join(old, METRICS), HOUR_AGO, HOUR_AGO);
  utimesSync(path.join(old, 'logs/train.log'), HOUR_AGO, HOUR_AGO);
  // Names whose order depends on the collation (the client sorts as the core does).
  for (const name of ['Exp_B', 'exp_a', 'exp10_x', 'exp9_x', 'été_run', 'exp_a-2', 'exp_a_1'])
    exp(root, name, { [METRICS]: good });
  // A grouped sweep: experiments one level deeper.
  // Issue 16: damage that used to be silent or worded by the runtime.
  exp(root, 'exp033_binary_metrics', {
    'config.yaml': CONFIG,
    [METRICS]: Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 37) % 256)),
  });
  exp(root, 'exp034_wrong_types', {
    'config.yaml': CONFIG,
    [METRICS]:
      good +
      '{"step": "seven", "prefix": "train", "train/loss": 0.4}\n' +
      '{"step": 8, "prefix": "train", "train/loss": "low"}\n' +
      line({ step: 9, prefix: 'train', 'train/loss': 0.3 }),
  });
  exp(root, 'exp035_no_train_loss', {
    'config.yaml': CONFIG,
    [METRICS]: line({ step: 1, prefix: 'train', 'train/acc': 0.5 }),
  });
  exp(root, 'exp036_diverged_then_finite', {
    'config.yaml': CONFIG,
    [METRICS]:
      good +
      '{"step": 3, "prefix": "train", "train/loss": NaN}\n' +
      line({ step: 4, prefix: 'train', 'train/loss': 1 }),
  });
  exp(root, 'exp037_deep_config', {
    'config.yaml': 'x: ' + '{a: '.repeat(20_000) + '1' + '}'.repeat(20_000) + '\n',
    [METRICS]: good,
  });
  exp(path.join(root, 'sweep_lr'), 'exp040_lr1', { 'config.yaml': CONFIG, [METRICS]: good });
  exp(path.join(root, 'sweep_lr'), 'exp041_lr2', { 'config.yaml': CONFIG.replace('0.001', '0.002') });
  exp(path.join(root, 'sweep_lr', 'deeper'), 'exp042_too_deep', { 'config.yaml': CONFIG });
  // Not experiments: skipped names, hidden folders, files, a folder with no marker, a link to a folder.
  exp(root, 'node_modules/exp050', { 'config.yaml': CONFIG });
  exp(root, '.hidden_exp', { 'config.yaml': CONFIG });
  exp(root, 'notes', { 'README.md': 'not an experiment' });
  writeFileSync(path.join(root, 'exp060_a_file'), 'a file where a folder is expected');
  symlinkSync(path.join(root, 'exp001_truncated'), path.join(root, 'exp061_link'));
  // logs is a file: the metrics marker cannot be under it.
  exp(root, 'exp062_logs_is_file', { 'config.yaml': CONFIG, logs: 'a file where a folder is expected' });
  // config.yaml is a folder.
  mkdirSync(path.join(root, 'exp063_config_is_dir', 'config.yaml'), { recursive: true });
  writeFileSync(path.join(root, 'exp063_config_is_dir', 'metadata.json'), line({ experiment_name: 'x' }));
  // metrics.jsonl is a folder.
  mkdirSync(path.join(root, 'exp064_metrics_is_dir', METRICS), { recursive: true });
}

describe('the helper speaks the protocol declared in protocol.ts', () => {
  it('implements exactly the declared operations', async () => {
    const r = await callRemote(localHelper, { op: 'ops' });
    expect([...r.ops].sort()).toEqual([...HELPER_OPS].sort());
    // And its dispatch table says the same (the source, not only what it answers).
    const source = readFileSync(path.join(REPO, 'resources/remote/expdesk_remote.py'), 'utf8');
    const table = /^OPS = \{([^}]*)\}/m.exec(source)?.[1] ?? '';
    const keys = [...table.matchAll(/"([a-z_]+)":/g)].map((m) => m[1]);
    expect(keys.sort()).toEqual([...HELPER_OPS].sort());
    expect(source).toContain(`PROTOCOL_VERSION = ${PROTOCOL_VERSION} `);
  });

  it('refuses a client of another protocol version with a sentence saying so', async () => {
    const r = await localHelper.exec(helperCommand(), { stdin: JSON.stringify({ op: 'ops', v: 1 }) + '\n' });
    const body = JSON.parse(inflateSync(afterMarker(r.stdout)!).toString('utf8')) as Record<string, unknown>;
    expect(body).toEqual({
      v: PROTOCOL_VERSION,
      error: {
        code: 'bad-request',
        message: `the remote helper speaks protocol version ${PROTOCOL_VERSION}, the client sent 1: versions differ`,
      },
    });
  });
});

describe('listings: the helper and the core agree', () => {
  it('on the seed-written fixtures (project root and experiments folder)', async () => {
    for (const root of [seedRoot, path.join(seedRoot, 'experiments')]) {
      const local = await localListing(root);
      expect((local as { experiments: unknown[] }).experiments).toHaveLength(5);
      expect(await remoteListing(root)).toEqual(local);
    }
  });

  it('on the demo workspace', async () => {
    const root = path.join(REPO, 'resources/demo');
    expect(await remoteListing(root)).toEqual(await localListing(root));
  });

  it('on damaged folders, problem by problem, and without writing into them', async () => {
    const local = (await localListing(damagedRoot)) as { experiments: Array<{ folder: string }> };
    const remote = (await remoteListing(damagedRoot)) as typeof local;
    expect(remote.experiments.map((e) => e.folder)).toEqual(local.experiments.map((e) => e.folder));
    // One experiment at a time, so a difference names its folder.
    for (let i = 0; i < local.experiments.length; i++)
      expect(remote.experiments[i]).toEqual(local.experiments[i]);
    expect(remote).toEqual(local);
    expect(treeSnapshot(damagedRoot)).toEqual(before);
  });

  it('on metrics with lines longer than a read chunk (4 MiB) and than one answer (16 MiB)', async () => {
    const root = tmpDir('expdesk-parity-long-');
    const rec = (step: number, extra = ''): string =>
      `{"step": ${step}, "prefix": "train", "train/loss": ${1 / step}${extra}}\n`;
    // A valid record of 5 MiB: the core skips it as too long, so must a remote listing.
    exp(root, 'exp001_long_record', {
      [METRICS]: rec(1) + rec(2, `, "pad": "${'x'.repeat(5 * 1024 * 1024)}"`) + rec(3),
    });
    // A line of 17 MiB: longer than one answer, skipped on the remote side.
    exp(root, 'exp002_huge_line', { [METRICS]: rec(1) + 'y'.repeat(17 * 1024 * 1024) + '\n' + rec(2) });
    // Exactly at the limit: a 4 MiB line (newline included) is read.
    const pad = 4 * 1024 * 1024 - rec(2, ', "pad": ""').length;
    exp(root, 'exp003_at_limit', { [METRICS]: rec(1) + rec(2, `, "pad": "${'z'.repeat(pad)}"`) + rec(3) });
    const local = (await localListing(root)) as { experiments: unknown[] };
    const remote = (await remoteListing(root)) as typeof local;
    for (let i = 0; i < local.experiments.length; i++)
      expect(remote.experiments[i]).toEqual(local.experiments[i]);
  });

  it('on project roots whose experiments folder is empty or is a file', async () => {
    const empty = tmpDir('expdesk-parity-shape-');
    mkdirSync(path.join(empty, 'experiments'));
    exp(empty, 'exp001_beside', { [METRICS]: '' });
    expect(await remoteListing(empty)).toEqual(await localListing(empty));
    const file = tmpDir('expdesk-parity-shape-');
    writeFileSync(path.join(file, 'experiments'), 'a file where a folder is expected');
    exp(file, 'exp001_beside', { [METRICS]: '' });
    const local = await errorOf(listWorkspace(file, new SummaryStore({ cacheDir: false })));
    expect(await errorOf(remoteWorkspace().list(file))).toEqual(local);
  });

  it('on a single experiment, a folder of one sweep, and workspaces that are not', async () => {
    const exps = path.join(damagedRoot, 'experiments');
    for (const root of [path.join(exps, 'exp023_final_checkpoint'), path.join(exps, 'sweep_lr')]) {
      expect(await remoteListing(root)).toEqual(await localListing(root));
    }
    for (const root of [
      path.join(exps, 'no_such_folder'),
      path.join(exps, 'exp060_a_file'),
      path.join(exps, 'notes'),
      path.join(exps, 'exp023_final_checkpoint', 'config.yaml', 'x'),
    ]) {
      const local = await errorOf(listWorkspace(root, new SummaryStore({ cacheDir: false })));
      expect(local).not.toBe('no error');
      expect(await errorOf(remoteWorkspace().list(root))).toEqual(local);
    }
  });

  it('after appends, truncation and repairs, a hinted second listing still agrees', async () => {
    const root = tmpDir('expdesk-parity-live-');
    const exps = path.join(root, 'experiments');
    writeDamaged(exps);
    const ws = remoteWorkspace();
    // Both sides keep what they read, so the second listing reads only what changed on each.
    const store = new SummaryStore({ cacheDir: tmpDir('expdesk-parity-lc-') });
    const local = async (): Promise<unknown> => normalize(await listWorkspace(root, store));
    expect(await remoteListing(root, ws)).toEqual(await local());
    const e1 = path.join(exps, 'exp001_truncated');
    appendFileSync(
      path.join(e1, METRICS),
      'in", "train/loss": 0.25}\n' + line({ step: 4, prefix: 'eval', 'eval/loss': 0.2 }),
    );
    writeFileSync(path.join(exps, 'exp005_bad_yaml', 'config.yaml'), CONFIG);
    writeFileSync(
      path.join(exps, 'exp003_nan_inf', METRICS),
      line({ step: 9, prefix: 'train', 'train/loss': 9 }),
    );
    writeFileSync(path.join(exps, 'exp019_only_metrics', 'FAILED.txt'), 'Failed at step 3\nboom\n');
    // Replaced by a rename (another inode, longer), and rewritten in place with the same size.
    const m2 = path.join(exps, 'exp002_bad_lines', METRICS);
    writeFileSync(
      m2 + '.new',
      readFileSync(m2, 'utf8').replace('not json at all', '{"step": 77}') + line({ step: 99 }),
    );
    execFileSync('mv', [m2 + '.new', m2]);
    const m4 = path.join(exps, 'exp004_no_config', METRICS);
    writeFileSync(m4, readFileSync(m4, 'utf8').replace('"eval/accuracy":0.5', '"eval/accuracy":0.7'));
    copyFileSync(
      path.join(exps, 'exp011_status_completed', 'expdesk_status.json'),
      path.join(exps, 'exp015_status_running_gone', 'expdesk_status.json'),
    );
    const second = await remoteListing(root, ws);
    expect(second).toEqual(await local());
    expect(second).toEqual(await localListing(root));
  });
});

describe("system metrics (the run wrapper's logs/system.jsonl): the helper and the core agree", () => {
  const sample = (step: number, gpus: Array<[number, number]>, extra = {}): string =>
    line({
      step,
      prefix: 'system',
      timestamp: `2024-01-01T00:00:${String(step).padStart(2, '0')}`,
      'system/cpu_percent': 10 * step,
      ...Object.fromEntries(
        gpus.flatMap(([util, mem], i) => [
          [`system/gpu${i}/util_percent`, util],
          [`system/gpu${i}/mem_used_mb`, mem],
          [`system/gpu${i}/mem_total_mb`, 81559],
        ]),
      ),
      ...extra,
    });
  const gpuOf = (listing: unknown): unknown[] =>
    (listing as { experiments: Array<{ gpu: unknown }> }).experiments.map((e) => e.gpu);

  it('on GPU peak memory and mean utilisation, no GPUs, damaged lines and a FIFO; after appends too', async () => {
    const root = tmpDir('expdesk-parity-system-');
    const metrics = { 'config.yaml': CONFIG, [METRICS]: line({ step: 1, prefix: 'train', 'train/loss': 1 }) };
    const two = exp(root, 'exp001_two_gpus', {
      ...metrics,
      [SYSTEM]:
        sample(1, [
          [90, 40000],
          [70, 30000],
        ]) +
        sample(2, [
          [50, 42000],
          [30, 31000],
        ]),
    });
    exp(root, 'exp002_no_gpu', { ...metrics, [SYSTEM]: sample(1, []) + sample(2, []) });
    exp(root, 'exp003_damaged', {
      ...metrics,
      [SYSTEM]: 'not json\n' + sample(1, [[NaN, 1000]]) + '{"step": 2, "prefix": "sys',
    });
    exp(root, 'exp004_none', metrics);
    const fifo = exp(root, 'exp005_fifo', metrics);
    execFileSync('mkfifo', [path.join(fifo, SYSTEM)]);
    const ws = remoteWorkspace();
    const store = new SummaryStore({ cacheDir: tmpDir('expdesk-parity-sc-') });
    const local = async (): Promise<unknown> => normalize(await listWorkspace(root, store));
    const first = await remoteListing(root, ws);
    expect(first).toEqual(await local());
    // The one definition (shared/system-metrics.ts): the highest memory of any GPU, utilisation averaged.
    expect(gpuOf(first)).toEqual([
      { peakMemoryMiB: 42000, meanUtilization: 60 },
      null,
      { peakMemoryMiB: 1000, meanUtilization: null },
      null,
      null,
    ]);
    // A new sample after a hinted listing: only it crosses, and the columns follow.
    appendFileSync(path.join(two, SYSTEM), sample(3, [[100, 80000]]));
    const before = ws.mirror.stats.bytes;
    const second = await remoteListing(root, ws);
    expect(second).toEqual(await local());
    expect(gpuOf(second)[0]).toEqual({
      peakMemoryMiB: 80000,
      meanUtilization: ((90 + 50 + 100) / 3 + (70 + 30) / 2) / 2,
    });
    expect(ws.mirror.stats.bytes - before).toBe(sample(3, [[100, 80000]]).length);
    // The file replaced by a shorter one: the mirror starts over.
    writeFileSync(path.join(two, SYSTEM), sample(1, [[5, 500]]));
    expect(gpuOf(await remoteListing(root, ws))[0]).toEqual({ peakMemoryMiB: 500, meanUtilization: 5 });
  });

  it("on a multi-node job's other nodes (logs/system-<node>.jsonl): the details name the same nodes", async () => {
    const root = tmpDir('expdesk-parity-nodes-');
    const dir = exp(root, 'exp001_two_nodes', {
      'config.yaml': CONFIG,
      [SYSTEM]: sample(1, [[10, 100]]),
      'logs/system-node-b.jsonl': sample(1, [[20, 200]]),
      'logs/system-node_c.7.jsonl': sample(1, []),
      'logs/system-.jsonl': sample(1, []),
      'logs/system-a b.jsonl': sample(1, []),
    });
    mkdirSync(path.join(dir, 'logs', 'system-folder.jsonl'));
    symlinkSync('/etc/hostname', path.join(dir, 'logs', 'system-linked.jsonl'));
    const { local, remote } = await detailsBoth([dir]);
    expect((local[0] as { systemNodes: string[] }).systemNodes).toEqual(['node-b', 'node_c.7']);
    expect(remote).toEqual(local);
  });
});

describe("a watch's look for new folders: the helper and the core agree", () => {
  it('finds the same experiment folders in every workspace shape', async () => {
    const exps = path.join(damagedRoot, 'experiments');
    for (const root of [
      seedRoot,
      damagedRoot,
      exps,
      path.join(exps, 'sweep_lr'),
      path.join(exps, 'exp010_failed'),
    ]) {
      const local = await discoverExperiments(root);
      const { discovered } = await remoteWorkspace().poll([], root);
      expect(discovered?.slice().sort()).toEqual(local.experiments.slice().sort());
    }
    const gone = await remoteWorkspace().poll([], path.join(exps, 'no_such_folder'));
    expect(gone.discovered).toBeNull();
  });

  it('finds TensorBoard and MLflow runs as the core does', async () => {
    const root = tmpDir('expdesk-parity-other-');
    mkdirSync(path.join(root, 'tb', 'train'), { recursive: true });
    writeFileSync(path.join(root, 'tb', 'train', 'events.out.tfevents.1.host'), '');
    mkdirSync(path.join(root, 'mlruns', '0', 'r1', 'metrics'), { recursive: true });
    writeFileSync(path.join(root, 'mlruns', '0', 'r1', 'meta.yaml'), 'run_id: r1\n');
    writeFileSync(path.join(root, 'mlruns', '0', 'meta.yaml'), 'name: Default\n');
    mkdirSync(path.join(root, 'plain', 'child'), { recursive: true });
    for (const r of [root, path.join(root, 'mlruns')]) {
      const local = await discoverExperiments(r);
      const { discovered } = await remoteWorkspace().poll([], r);
      expect(discovered?.slice().sort()).toEqual(local.experiments.slice().sort());
    }
    expect((await discoverExperiments(root)).experiments.map((e) => path.relative(root, e))).toEqual([
      'tb/train',
    ]);
    for (const r of [path.join(root, 'tb'), path.join(root, 'mlruns')])
      expect(await remoteListing(r)).toEqual(await localListing(r));
  });
});

describe('metrics mirrors (charts and verify on remote runs) hold the same bytes as the files', () => {
  it('for every seed-written and damaged experiment, after appends, truncation, replacement and rewrites', async () => {
    const root = tmpDir('expdesk-parity-mirror-');
    const exps = path.join(root, 'experiments');
    writeDamaged(exps);
    execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), root], { stdio: 'ignore' });
    const dirs = (await listWorkspace(root, new SummaryStore({ cacheDir: false }))).experiments.map(
      (e) => e.path,
    );
    const mirror = new RemoteMetricsMirror(tmpDir('expdesk-parity-mirrors-'));
    const targets = dirs.map((d) => ({ location: `${PREFIX}${d}`, remotePath: d }));
    const check = async (): Promise<Array<{ reset: boolean }>> => {
      const results = await mirror.sync(localHelper, targets);
      return results.map((r, i) => {
        const d = dirs[i]!;
        if (r instanceof Error) {
          // Only a folder whose metrics.jsonl cannot be read as a file.
          expect(path.basename(d)).toBe('exp064_metrics_is_dir');
          return { reset: false };
        }
        let original = Buffer.alloc(0);
        try {
          original = readFileSync(path.join(d, METRICS));
        } catch {
          // no metrics: an empty mirror
        }
        expect({ d, bytes: readFileSync(path.join(r.dir, METRICS)).toString('latin1') }).toEqual({
          d,
          bytes: original.toString('latin1'),
        });
        return r;
      });
    };
    await check();
    const at = (name: string): string => path.join(exps, name, METRICS);
    appendFileSync(at('exp001_truncated'), 'in", "train/loss": 0.25}\n');
    writeFileSync(at('exp002_bad_lines'), line({ step: 1, prefix: 'train', 'train/loss': 3 })); // shorter
    const tmp = at('exp019_only_metrics') + '.new';
    writeFileSync(
      tmp,
      readFileSync(at('exp019_only_metrics')).toString().replace('2.5', '9.5') + line({ step: 9 }),
    );
    execFileSync('mv', [tmp, at('exp019_only_metrics')]); // replaced: another inode, longer
    // Rewritten in place, same size, within the last bytes a mirror checks (files are appended, not edited).
    const same = readFileSync(at('exp004_no_config'));
    const k = same.length - 5;
    writeFileSync(
      at('exp004_no_config'),
      Buffer.concat([same.subarray(0, k), Buffer.from('7'), same.subarray(k + 1)]),
    );
    const second = await check();
    const resetOf = (name: string): boolean =>
      second[dirs.findIndex((d) => path.basename(d) === name)]!.reset;
    expect(['exp002_bad_lines', 'exp019_only_metrics', 'exp004_no_config'].map(resetOf)).toEqual([
      true,
      true,
      true,
    ]);
    expect(resetOf('exp001_truncated')).toBe(false);
  });
});

describe('file views: the helper and the core agree', () => {
  it('on text, truncated, linked, missing and forbidden files', async () => {
    const root = tmpDir('expdesk-parity-files-');
    const d = exp(root, 'exp001_files', {
      'config.yaml': CONFIG,
      'logs/train.log': 'step 1 ✓ done\n'.repeat(10),
      'outputs/bad.txt': Buffer.from([0x61, 0xff, 0x62, 0x0a]),
      'checkpoints/final/model.pt': 'x',
    });
    symlinkSync('/etc/hostname', path.join(d, 'outputs', 'escape.txt'));
    symlinkSync(path.join(d, 'config.yaml'), path.join(d, 'outputs', 'inside.txt'));
    symlinkSync(path.join(d, 'gone.txt'), path.join(d, 'outputs', 'dangling.txt'));
    const cases: Array<[string, number]> = [
      [path.join(d, 'config.yaml'), 1 << 20],
      [path.join(d, 'logs', 'train.log'), 1 << 20],
      // Cut inside the multi-byte ✓: the partial character is held back on both sides.
      [path.join(d, 'logs', 'train.log'), 9],
      [path.join(d, 'outputs', 'bad.txt'), 100],
      [path.join(d, 'outputs', 'inside.txt'), 100],
      [path.join(d, 'outputs', 'escape.txt'), 100],
      [path.join(d, 'outputs', 'dangling.txt'), 100],
      [path.join(d, 'outputs', 'missing.txt'), 100],
      [path.join(d, 'config.yaml', 'below-a-file'), 100],
      [path.join(d, 'checkpoints', 'final'), 100],
      [path.join(root, 'not-in-an-experiment.txt'), 100],
    ];
    writeFileSync(path.join(root, 'not-in-an-experiment.txt'), 'x');
    for (const [file, max] of cases) {
      const local = await readExperimentFile(file, max).catch((e: { code?: string; message: string }) => ({
        code: e.code,
        message: e.message,
      }));
      const remote = await readRemoteExperimentFile(localHelper, file, max).catch(
        (e: { code?: string; message: string }) => ({ code: e.code, message: e.message }),
      );
      expect({ file, max, ...remote }).toEqual({ file, max, ...local });
    }
  });
});

describe('config files: the helper and the core agree', () => {
  it('on the project and its config files, from every workspace shape', async () => {
    const project = tmpDir('expdesk-parity-configs-');
    for (const [rel, text] of [
      ['configs/base.yaml', CONFIG],
      ['configs/dpo/beta.YML', CONFIG],
      ['configs/dpo/notes.txt', 'not a config'],
      ['configs/.hidden.yaml', CONFIG],
      ['configs/.hidden/inner.yaml', CONFIG],
      ['configs/a/b/c/d/e/f/g/h/i/j/too_deep.yaml', CONFIG],
      ['configs/a/b/c/d/e/f/g/h/deep_enough.yaml', CONFIG],
      ['configs/Zeta.yaml', CONFIG],
      ['configs/zeta-2.yaml', CONFIG],
      ['outside.yaml', CONFIG],
    ] as const) {
      mkdirSync(path.dirname(path.join(project, rel)), { recursive: true });
      writeFileSync(path.join(project, rel), text);
    }
    mkdirSync(path.join(project, 'configs', 'folder.yaml'));
    symlinkSync(path.join(project, 'outside.yaml'), path.join(project, 'configs', 'link_out.yaml'));
    symlinkSync(path.join(project, 'configs', 'dpo'), path.join(project, 'configs', 'linked_dir'));
    symlinkSync(path.join(project, 'configs', 'gone.yaml'), path.join(project, 'configs', 'dangling.yaml'));
    const single = exp(path.join(project, 'experiments'), 'exp001_x', { 'config.yaml': CONFIG });
    for (const ws of [project, path.join(project, 'experiments'), single, path.join(project, 'configs')]) {
      const root = await projectRootOf(ws);
      const local = { project: root, files: await listConfigFiles(root) };
      expect({ ws, ...(await listRemoteConfigs(localHelper, ws)) }).toEqual({ ws, ...local });
    }
  });
});

describe('details: the helper and the core agree', () => {
  it('on every seed-written and damaged experiment, and on folders that are not experiments', async () => {
    const seedList = (await listWorkspace(seedRoot, new SummaryStore({ cacheDir: false }))).experiments;
    const damagedList = (await listWorkspace(damagedRoot, new SummaryStore({ cacheDir: false }))).experiments;
    const exps = path.join(damagedRoot, 'experiments');
    const dirs = [
      ...seedList.map((e) => e.path),
      ...damagedList.map((e) => e.path),
      path.join(exps, 'notes'),
      path.join(exps, 'exp060_a_file'),
      path.join(exps, 'no_such_folder'),
      path.join(exps, 'exp061_link'),
    ];
    const { local, remote } = await detailsBoth(dirs);
    for (let i = 0; i < dirs.length; i++)
      expect({ dir: dirs[i], ...(remote[i] as object) }).toEqual({ dir: dirs[i], ...(local[i] as object) });
  });
});

/** TensorBoard runs (the tensorboardX fixture and damaged event files) and an MLflow store, as a TensorBoard user keeps them. */
function writeOtherRuns(root: string): void {
  const tb = path.join(root, 'tb');
  mkdirSync(path.join(tb, 'fixture'), { recursive: true });
  copyFileSync(
    path.join(TFEVENTS_FIXTURE, TFEVENTS_FIXTURE_NAME),
    path.join(tb, 'fixture', TFEVENTS_FIXTURE_NAME),
  );
  const loss = (steps: number[]): Buffer[] =>
    steps.map((step) =>
      record(eventBytes(step, 1_700_000_000 + step, [{ tag: 'loss', simple: 1 / (step + 1) }])),
    );
  const recs = loss([1, 2, 3, 4, 5]);
  const badData = Buffer.from(recs[1]!);
  badData[20] = badData[20]! ^ 0xff;
  const badLength = Buffer.from(recs[3]!);
  badLength[9] = badLength[9]! ^ 0xff;
  exp(tb, 'bad_crc', {
    'events.out.tfevents.1.host': Buffer.concat([recs[0]!, badData, recs[2]!, badLength, recs[4]!]),
  });
  const whole = Buffer.concat(loss([1, 2, 3]));
  exp(tb, 'truncated_last', { 'events.out.tfevents.1.host': whole.subarray(0, whole.length - 7) });
  exp(tb, 'two_files_hparams', {
    'events.out.tfevents.100.host': eventFile([
      { step: 0, values: [{ hparams: { lr: 0.01, optimizer: 'adam', seed: 3 } }] },
      ...[0, 2, 4].map((step) => ({ step, values: [{ tag: 'loss', simple: step }] })),
    ]),
    'events.out.tfevents.200.host': eventFile(
      [1, 3, 5].map((step) => ({
        step,
        values: [{ tag: 'acc', tensor: step / 10, dtype: 'double' as const }],
      })),
    ),
  });
  const run = (id: string, metrics: Record<string, string>, params: Record<string, string>): void => {
    const files: Record<string, string> = {
      'meta.yaml': `run_id: ${id}\nstatus: 3\n`,
      'tags/mlflow.runName': id,
    };
    for (const [k, v] of Object.entries(metrics)) files[`metrics/${k}`] = v;
    for (const [k, v] of Object.entries(params)) files[`params/${k}`] = v;
    exp(path.join(root, 'mlruns', '0'), id, files);
  };
  run(
    'r1',
    { loss: '1700000000000 0.5 1\n1700000001000 0.25 2\n', 'eval/acc': '1700000001000 0.75 2\nnot a line\n' },
    { lr: '0.001', use_amp: 'True' },
  );
  run('r2', { loss: '1700000000000 nan 1\n1700000001000 inf 2\n' }, {});
  writeFileSync(path.join(root, 'mlruns', '0', 'meta.yaml'), 'name: Default\n');
}

describe('TensorBoard and MLflow runs: their files are shipped and read by the same readers', () => {
  it('list, show and series agree, on the fixture, damaged event files and an MLflow store, after appends', async () => {
    const root = tmpDir('expdesk-parity-runs-');
    writeOtherRuns(root);
    const tb = path.join(root, 'tb');
    const mlruns = path.join(root, 'mlruns');
    const before = treeSnapshot(root);
    const ws = remoteWorkspace();
    for (const r of [tb, mlruns]) {
      const local = (await localListing(r)) as { experiments: unknown[] };
      expect(local.experiments.length).toBeGreaterThan(1);
      const remote = (await remoteListing(r, ws)) as typeof local;
      for (let i = 0; i < local.experiments.length; i++)
        expect(remote.experiments[i]).toEqual(local.experiments[i]);
      expect(remote).toEqual(local);
    }
    const dirs = [
      ...['fixture', 'bad_crc', 'truncated_last', 'two_files_hparams'].map((n) => path.join(tb, n)),
      path.join(mlruns, '0', 'r1'),
      path.join(mlruns, '0', 'r2'),
    ];
    const { local, remote } = await detailsBoth(dirs);
    for (let i = 0; i < dirs.length; i++)
      expect({ dir: dirs[i], ...(remote[i] as object) }).toEqual({ dir: dirs[i], ...(local[i] as object) });
    // The fixture's values arrive: +Inf at step 500 marks the run diverged, as locally.
    const fixture = (local[0] as { summary: { problems: unknown[]; total_steps: number } }).summary;
    expect(fixture.total_steps).toBe(500);
    expect(fixture.problems).toEqual([
      { file: 'events.out.tfevents.*', message: 'diverged: Loss/train is Infinity at step 500' },
    ]);

    // The chart's series, from a run mirror (metrics.series over SSH), equal the local folder's.
    const runs = new RemoteRunFiles(tmpDir('expdesk-parity-run-mirrors-'));
    const seriesBoth = async (): Promise<void> => {
      const found = await runs.sync(
        localHelper,
        dirs.map((d) => ({ location: `${PREFIX}${d}`, remotePath: d })),
      );
      const query = { x: 'step' as const, buckets: 1000 };
      for (let i = 0; i < dirs.length; i++) {
        const r = found[i];
        if (!r || r instanceof Error) throw new Error(`no mirror for ${dirs[i]}: ${String(r)}`);
        const here = await new SeriesStore({ feeds: new MetricsFeeds() }).query(dirs[i]!, query);
        const there = await new SeriesStore({ feeds: new MetricsFeeds() }).query(r.dir, query);
        expect({ dir: dirs[i], ...there }).toEqual({ dir: dirs[i], ...here });
      }
    };
    await seriesBoth();
    expect(treeSnapshot(root)).toEqual(before);

    // A run being written: records appended (the cut one completed), a file added, one replaced.
    const trunc = path.join(tb, 'truncated_last', 'events.out.tfevents.1.host');
    const all = Buffer.concat([
      ...[1, 2, 3, 4].map((step) =>
        record(eventBytes(step, 1_700_000_000 + step, [{ tag: 'loss', simple: 1 / (step + 1) }])),
      ),
    ]);
    appendFileSync(trunc, all.subarray(readFileSync(trunc).length));
    writeFileSync(
      path.join(tb, 'two_files_hparams', 'events.out.tfevents.300.host'),
      eventFile([{ step: 6, values: [{ tag: 'loss', simple: 6 }] }]),
    );
    const replaced = path.join(tb, 'bad_crc', 'events.out.tfevents.1.host');
    writeFileSync(`${replaced}.new`, eventFile([{ step: 9, values: [{ tag: 'loss', simple: 0.125 }] }]));
    execFileSync('mv', [`${replaced}.new`, replaced]);
    appendFileSync(path.join(mlruns, '0', 'r1', 'metrics', 'loss'), '1700000002000 0.125 3\n');
    for (const r of [tb, mlruns]) expect(await remoteListing(r, ws)).toEqual(await localListing(r));
    await seriesBoth();
  });
});

describe('notes: the helper writes what the core writes, and refuses what it refuses', () => {
  it('on plain, already-noted, linked and folder notes files, and on folders that are not experiments', async () => {
    const root = tmpDir('expdesk-parity-notes-');
    const outside = path.join(root, 'outside.json');
    writeFileSync(outside, '{"tags": ["outside"]}\n');
    const cases = (side: string): string[] => {
      const base = path.join(root, side);
      const plain = exp(base, 'plain', { 'config.yaml': CONFIG });
      const noted = exp(base, 'noted', {
        'config.yaml': CONFIG,
        'expdesk_notes.json': '{"tags": ["old", "keep"], "note": "n", "extra": [1]}\n',
      });
      const linked = exp(base, 'linked', { 'config.yaml': CONFIG });
      symlinkSync(outside, path.join(linked, 'expdesk_notes.json'));
      const folder = exp(base, 'folder', { 'config.yaml': CONFIG, 'expdesk_notes.json/x': '' });
      const notExp = exp(base, 'not_an_experiment', { 'readme.txt': 'hi' });
      return [plain, noted, linked, folder, notExp, path.join(base, 'missing')];
    };
    const change = { addTags: ['baseline'], removeTags: ['old'], starred: true };
    const here = cases('here');
    const there = cases('there');
    const local: unknown[] = [];
    const remote: unknown[] = [];
    for (let i = 0; i < here.length; i++) {
      local.push(await annotateExperiment(here[i]!, change).catch((e: Error) => e.message));
      remote.push(
        await annotateRemote(localHelper, [there[i]!], change).then(
          ([a]) => a,
          (e: Error) => e.message,
        ),
      );
    }
    const side = (v: unknown[]): string =>
      JSON.stringify(v).split('/there/').join('/SIDE/').split('/here/').join('/SIDE/');
    expect(side(remote)).toEqual(side(local));
    expect(local[1]).toEqual({ tags: ['keep', 'baseline'], note: 'n', starred: true, archived: false });
    const notes = (d: string): unknown => {
      const { updated_at: at, ...rest } = JSON.parse(
        readFileSync(path.join(d, 'expdesk_notes.json'), 'utf8'),
      ) as Record<string, unknown>;
      return { rest, at: typeof at };
    };
    for (const i of [0, 1]) expect(notes(there[i]!)).toEqual(notes(here[i]!));
    expect(readFileSync(outside, 'utf8')).toBe('{"tags": ["outside"]}\n');
    expect(readdirSync(there[0]!).sort()).toEqual(['config.yaml', 'expdesk_notes.json']);
  });
});
