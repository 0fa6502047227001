/**
 * The interface's data on remote experiments, through ExpdeskHost.dispatch
 * against a real sshd on 127.0.0.1: metric series (min/max spikes kept),
 * live watches, compare and verify mixing local and remote experiments,
 * file views, bundle export, and the config editor on a remote project —
 * each compared with what the same request gives for the same folders read
 * locally, and without writing into the remote folders.
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExpdeskHost } from '../../src/main/host/host';
import { ApiError, type EventName, type EventPayload } from '../../src/shared/contract';
import { checkManifest, filesUnder, unpackBundle } from '../helpers/bundle';
import { REPO } from '../helpers/cli';
import { envOverrides } from '../helpers/env';
import { metricsLines, writeExperiment } from '../helpers/experiments';
import { FaultProxy } from '../helpers/fault-proxy';
import { treeSnapshot } from '../helpers/snapshot';
import { freePort, startSshd, type TestSshd } from '../helpers/sshd';
import { tmpDir } from '../helpers/tmp';

const BIG_POINTS = 100_000;
const SPIKE_STEP = 61_234;

let sshd: TestSshd;
/** Seed-written folders and a 100k-record run: only read, snapshotted before and after. */
let root: string;
let big: string;
let before: Record<string, string>;
let seedDirs: string[];
const env = envOverrides();

beforeAll(async () => {
  sshd = await startSshd();
  env.set(sshd.env);
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-remote-ui-'));
  execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), root], { stdio: 'ignore' });
  seedDirs = readdirSync(path.join(root, 'experiments'))
    .sort()
    .map((n) => path.join(root, 'experiments', n));
  big = path.join(root, 'big', 'exp900_dpo_big');
  const records: Array<Record<string, unknown>> = [];
  for (let step = 1; step <= BIG_POINTS; step++) {
    const loss = step === SPIKE_STEP ? 987.5 : 2 / Math.sqrt(step);
    records.push({ step, prefix: 'train', 'train/loss': loss, timestamp: '2024-01-15T14:30:05' });
  }
  writeExperiment(big, { metrics: metricsLines(records) });
  before = treeSnapshot(root);
}, 120_000);

afterAll(async () => {
  env.restore();
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
});

type Events = Array<{ event: EventName; payload: unknown }>;

function host(workspace: string | null): { host: ExpdeskHost; events: Events } {
  const h = new ExpdeskHost({
    mode: 'browser',
    version: 'test',
    workspace,
    demoWorkspace: null,
    cacheDir: tmpDir('expdesk-ri-cache-'),
  });
  const events: Events = [];
  h.onEvent((event, payload) => events.push({ event, payload }));
  return { host: h, events };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

interface Series {
  keys: string[];
  series: Record<string, { x: number[]; y: Array<number | null> }>;
  records: number;
}

describe('remote experiments in the interface', () => {
  it('metric series of a remote run equal the local ones, spikes kept; a re-request moves only new bytes', async () => {
    const { host: h } = host(sshd.url(root));
    try {
      for (const dir of seedDirs) {
        const local = await h.dispatch('metrics.series', { expDir: dir, buckets: 50 });
        const remote = await h.dispatch('metrics.series', { expDir: sshd.url(dir), buckets: 50 });
        expect(remote).toEqual(local);
      }
      const stats = (h as unknown as { remote: { mirror: { stats: { calls: number; bytes: number } } } })
        .remote.mirror.stats;
      const callsBefore = stats.calls;
      const t0 = performance.now();
      const remote = (await h.dispatch('metrics.series', { expDir: sshd.url(big), buckets: 100 })) as Series;
      const coldMs = performance.now() - t0;
      expect(stats.calls).toBe(callsBefore + 1); // 100k records (10 MB) in one remote command
      const local = (await h.dispatch('metrics.series', { expDir: big, buckets: 100 })) as Series;
      expect(remote).toEqual(local);
      expect(remote.records).toBe(BIG_POINTS);
      const loss = remote.series['train/loss']!;
      expect(loss.y).toContain(987.5);
      expect(loss.x[loss.y.indexOf(987.5)]).toBe(SPIKE_STEP);
      expect(Math.min(...(loss.y as number[]))).toBeCloseTo(2 / Math.sqrt(BIG_POINTS), 12);

      const calls = stats.calls;
      const t1 = performance.now();
      const zoom = (await h.dispatch('metrics.series', {
        expDir: sshd.url(big),
        buckets: 100,
        range: { min: 60_000, max: 62_000 },
      })) as Series;
      const warmMs = performance.now() - t1;
      expect(stats.calls).toBe(calls + 1); // one round trip, nothing transferred
      expect(zoom.series['train/loss']!.y).toContain(987.5);
      console.log(
        `remote metrics.series, ${BIG_POINTS} points: cold ${coldMs.toFixed(0)} ms ` +
          `(${stats.bytes} bytes mirrored), re-request ${warmMs.toFixed(0)} ms`,
      );

      const notExp = await failure(
        h.dispatch('metrics.series', { expDir: sshd.url(path.join(root, 'big')) }),
      );
      expect(notExp.code).toBe('not-found');
      expect(notExp.message).toContain(`127.0.0.1:${sshd.port}`);
      const aFile = await failure(
        h.dispatch('metrics.series', { expDir: sshd.url(path.join(big, 'logs', 'metrics.jsonl')) }),
      );
      expect(aFile.code).toBe('not-found');
    } finally {
      h.dispose();
    }
  }, 120_000);

  it('compare mixes local and remote experiments and shows the differing config keys', async () => {
    const { host: h } = host(sshd.url(root));
    try {
      const local = (await h.dispatch('experiments.compare', { paths: [seedDirs[0]!, seedDirs[1]!] })) as {
        experiments: Array<{ path: string; name: string }>;
        configDiff: Array<{ key: string; values: unknown[] }>;
        configSame: unknown[];
        metadataDiff: unknown[];
        metadataSame: unknown[];
      };
      const mixed = (await h.dispatch('experiments.compare', {
        paths: [seedDirs[0]!, sshd.url(seedDirs[1]!)],
      })) as typeof local;
      expect(local.configDiff.length).toBeGreaterThan(0);
      expect(local.configDiff.map((r) => r.key)).toContain('dpo.beta');
      expect(mixed.configDiff).toEqual(local.configDiff);
      expect(mixed.configSame).toEqual(local.configSame);
      expect(mixed.metadataDiff).toEqual(local.metadataDiff);
      expect(mixed.metadataSame).toEqual(local.metadataSame);
      expect(mixed.experiments[1]!.path).toBe(sshd.url(seedDirs[1]!));
      expect(mixed.experiments.map((e) => e.name)).toEqual(local.experiments.map((e) => e.name));
    } finally {
      h.dispose();
    }
  }, 120_000);

  it('file.read of a remote outputs file returns its text; links out of the experiment are refused', async () => {
    const { host: h } = host(sshd.url(root));
    try {
      const detail = (await h.dispatch('experiment.get', { path: sshd.url(seedDirs[0]!) })) as {
        outputs: Array<{ name: string; path: string }>;
      };
      expect(detail.outputs.length).toBeGreaterThan(0);
      for (const o of detail.outputs) {
        expect(o.path.startsWith('ssh://')).toBe(true);
        const remote = await h.dispatch('file.read', { path: o.path });
        const local = await h.dispatch('file.read', { path: path.join(seedDirs[0]!, 'outputs', o.name) });
        expect(remote).toEqual(local);
      }
      const capped = (await h.dispatch('file.read', { path: detail.outputs[0]!.path, maxBytes: 10 })) as {
        text: string;
        truncated: boolean;
      };
      expect(capped.truncated).toBe(true);

      const other = tmpDir('expdesk-ri-link-');
      const exp = writeExperiment(path.join(other, 'exp001'), { metrics: '' });
      mkdirSync(path.join(exp, 'outputs'));
      writeFileSync(path.join(other, 'secret.txt'), 'not for you');
      symlinkSync(path.join(other, 'secret.txt'), path.join(exp, 'outputs', 'link.txt'));
      const out = await failure(
        h.dispatch('file.read', { path: sshd.url(path.join(exp, 'outputs', 'link.txt')) }),
      );
      expect(out.code).toBe('forbidden');
      const none = await failure(h.dispatch('file.read', { path: sshd.url(path.join(other, 'secret.txt')) }));
      expect(none.code).toBe('forbidden');
      const missing = await failure(
        h.dispatch('file.read', { path: sshd.url(path.join(exp, 'outputs', 'nope.txt')) }),
      );
      expect(missing.code).toBe('not-found');
      expect(missing.message).toContain('nope.txt');
    } finally {
      h.dispose();
    }
  }, 120_000);

  it('verify says a local run and its remote copy are identical, and finds a divergence', async () => {
    const { host: h } = host(null);
    try {
      const same = (await h.dispatch('experiments.verify', {
        original: seedDirs[0]!,
        reproduced: sshd.url(seedDirs[0]!),
      })) as { verdict: string; original: string; reproduced: string };
      expect(same.verdict).toBe('identical');
      expect(same.reproduced).toBe(sshd.url(seedDirs[0]!));
      const both = (await h.dispatch('experiments.verify', {
        original: sshd.url(big),
        reproduced: sshd.url(big),
      })) as { verdict: string };
      expect(both.verdict).toBe('identical');
      const files = (await h.dispatch('experiments.verify', {
        original: path.join(seedDirs[3]!, 'logs', 'metrics.jsonl'),
        reproduced: sshd.url(path.join(seedDirs[3]!, 'logs', 'metrics.jsonl')),
      })) as { verdict: string; warnings: string[] };
      expect(files.verdict).toBe('identical');
      // The seed's malformed line is reported against the remote file, not the local mirror.
      expect(files.warnings.some((w) => w.includes(sshd.url(seedDirs[3]!)))).toBe(true);
      const diverged = (await h.dispatch('experiments.verify', {
        original: seedDirs[0]!,
        reproduced: sshd.url(seedDirs[1]!),
      })) as { verdict: string };
      expect(diverged.verdict).toBe('diverged');
    } finally {
      h.dispose();
    }
  }, 120_000);

  it('bundle.export of a remote experiment writes a bundle whose MANIFEST checks out, like a local export', async () => {
    const { host: h, events } = host(sshd.url(root));
    const out = tmpDir('expdesk-ri-bundle-');
    try {
      const remote = (await h.dispatch('bundle.export', {
        expDir: sshd.url(seedDirs[0]!),
        out: path.join(out, 'remote.zip'),
      })) as { path: string; folder: string };
      const local = (await h.dispatch('bundle.export', {
        expDir: seedDirs[0]!,
        out: path.join(out, 'local.zip'),
      })) as { path: string };
      const rdir = await unpackBundle(remote.path, path.join(out, 'r'));
      const ldir = await unpackBundle(local.path, path.join(out, 'l'));
      checkManifest(rdir);
      expect(filesUnder(rdir)).toEqual(filesUnder(ldir));
      for (const f of filesUnder(rdir)) {
        if (['README.md', 'MANIFEST', 'bundle.json', 'reproduce.sh'].includes(f)) continue;
        expect(readFileSync(path.join(rdir, f)).equals(readFileSync(path.join(ldir, f))), f).toBe(true);
      }
      const progress = events
        .filter((e) => e.event === 'bundle.progress')
        .map((e) => e.payload as EventPayload<'bundle.progress'>)
        .filter((p) => p.expDir === sshd.url(seedDirs[0]!));
      expect(progress.map((p) => p.phase)).toContain('done');
    } finally {
      h.dispose();
    }
  }, 120_000);

  it('the remote folders were never written by any of the reading', () => {
    expect(treeSnapshot(root)).toEqual(before);
  });

  it('a watch announces a line appended on the remote and a new experiment; the series grows', async () => {
    const live = tmpDir('expdesk-ri-live-');
    const exp = writeExperiment(path.join(live, 'experiments', 'exp001_dpo_live'), {
      metrics: metricsLines([1, 2, 3].map((step) => ({ step, prefix: 'train', 'train/loss': 1 / step }))),
    });
    const { host: h, events } = host(sshd.url(live));
    try {
      const location = sshd.url(exp);
      const before = (await h.dispatch('metrics.series', { expDir: location })) as Series;
      expect(before.records).toBe(3);
      const { subscription } = (await h.dispatch('experiments.watch', { paths: [location] })) as {
        subscription: string;
      };
      await new Promise((r) => setTimeout(r, 2500)); // the baseline
      appendFileSync(
        path.join(exp, 'logs', 'metrics.jsonl'),
        metricsLines([{ step: 4, prefix: 'train', 'train/loss': 0.125 }]),
      );
      const changed = (): Array<EventPayload<'metrics.changed'>> =>
        events
          .filter((e) => e.event === 'metrics.changed')
          .map((e) => e.payload as EventPayload<'metrics.changed'>);
      await until(() => changed().some((c) => c.records === 4), 30_000, 'metrics.changed');
      expect(changed()[0]).toEqual({ subscription, expDir: location, records: 4 });
      const after = (await h.dispatch('metrics.series', { expDir: location })) as Series;
      expect(after.records).toBe(4);
      expect(after.series['train/loss']!.y).toEqual([1, 0.5, 1 / 3, 0.125]);

      // A run started by someone else on the remote: announced and followed.
      const fresh = writeExperiment(path.join(live, 'experiments', 'exp002_ppo_new'), {
        algorithm: 'ppo',
        metrics: metricsLines([{ step: 1, prefix: 'train', 'train/loss': 3 }]),
      });
      const updated = (): Array<EventPayload<'experiment.updated'>> =>
        events
          .filter((e) => e.event === 'experiment.updated')
          .map((e) => e.payload as EventPayload<'experiment.updated'>);
      await until(
        () => updated().some((u) => u.summary.path === sshd.url(fresh)),
        30_000,
        'the new experiment',
      );
      appendFileSync(
        path.join(fresh, 'logs', 'metrics.jsonl'),
        metricsLines([{ step: 2, prefix: 'train', 'train/loss': 2 }]),
      );
      await until(
        () => changed().some((c) => c.expDir === sshd.url(fresh) && c.records === 2),
        30_000,
        'metrics.changed of the new experiment',
      );

      // The file replaced by a shorter one: the series starts over.
      writeFileSync(
        path.join(exp, 'logs', 'metrics.jsonl'),
        metricsLines([{ step: 1, prefix: 'train', 'train/loss': 9 }]),
      );
      const replaced = (await h.dispatch('metrics.series', { expDir: location })) as Series;
      expect(replaced.records).toBe(1);
      expect(replaced.series['train/loss']!.y).toEqual([9]);
      await h.dispatch('experiments.unwatch', { subscription });
    } finally {
      h.dispose();
    }
  }, 120_000);

  it('config.list/read/write on a remote project round-trip; writes outside configs are refused', async () => {
    const proj = tmpDir('expdesk-ri-proj-');
    mkdirSync(path.join(proj, 'configs', 'dpo'), { recursive: true });
    writeFileSync(path.join(proj, 'configs', 'base.yaml'), 'training:\n  lr: 0.001\n');
    writeFileSync(path.join(proj, 'configs', 'dpo', 'beta.yaml'), 'defaults: [../base]\ndpo:\n  beta: 0.1\n');
    writeFileSync(path.join(proj, 'notes.yaml'), 'a: 1\n');
    const exp = writeExperiment(path.join(proj, 'experiments', 'exp001_dpo'), { metrics: '' });
    const { host: h } = host(sshd.url(proj));
    try {
      const list = (await h.dispatch('config.list', {})) as {
        root: string;
        files: Array<{ path: string; rel: string }>;
      };
      expect(list.root).toBe(sshd.url(proj));
      expect(list.files).toEqual([
        { path: sshd.url(path.join(proj, 'configs', 'base.yaml')), rel: 'configs/base.yaml' },
        { path: sshd.url(path.join(proj, 'configs', 'dpo', 'beta.yaml')), rel: 'configs/dpo/beta.yaml' },
      ]);
      // The launch form's tree: captured on the remote at launch, not read ahead (the page says so).
      expect(await h.dispatch('project.git', {})).toEqual({ git: null, checkedAtLaunch: true });
      const file = list.files[1]!.path;
      expect(await h.dispatch('config.read', { file })).toEqual({
        text: 'defaults: [../base]\ndpo:\n  beta: 0.1\n',
      });
      const text = 'defaults: [../base]\ndpo:\n  beta: 0.25 # tuned\n';
      await h.dispatch('config.write', { file, text });
      expect(readFileSync(path.join(proj, 'configs', 'dpo', 'beta.yaml'), 'utf8')).toBe(text);
      expect(await h.dispatch('config.read', { file })).toEqual({ text });
      expect(readdirSync(path.join(proj, 'configs', 'dpo'))).toEqual(['beta.yaml']); // no temp file left
      const created = sshd.url(path.join(proj, 'configs', 'new.yaml'));
      await h.dispatch('config.write', { file: created, text: 'x: 1\n' });
      expect(readFileSync(path.join(proj, 'configs', 'new.yaml'), 'utf8')).toBe('x: 1\n');

      const frozen = readFileSync(path.join(exp, 'config.yaml'), 'utf8');
      for (const target of [
        path.join(exp, 'config.yaml'),
        path.join(proj, 'notes.yaml'),
        path.join(tmpDir('expdesk-ri-elsewhere-'), 'x.yaml'),
      ]) {
        const err = await failure(
          h.dispatch('config.write', { file: sshd.url(target), text: 'pwned: true\n' }),
        );
        expect(err.code, target).toBe('forbidden');
      }
      expect(readFileSync(path.join(exp, 'config.yaml'), 'utf8')).toBe(frozen);
      expect(readFileSync(path.join(proj, 'notes.yaml'), 'utf8')).toBe('a: 1\n');
      const notYaml = await failure(
        h.dispatch('config.write', {
          file: sshd.url(path.join(proj, 'configs', 'x.sh')),
          text: 'rm -rf /\n',
        }),
      );
      expect(notYaml.code).toBe('bad-request');
      const missing = await failure(
        h.dispatch('config.read', { file: sshd.url(path.join(proj, 'configs', 'none.yaml')) }),
      );
      expect(missing.code).toBe('not-found');
    } finally {
      h.dispose();
    }
  }, 120_000);

  it('a dropped link is retried; a host gone for good is a clear error, not a hang', async () => {
    const proxy = new FaultProxy(sshd.port, { latencyMs: 5 });
    sshd.trustPort(await proxy.listen());
    const { host: h } = host(null);
    try {
      const location = sshd.url(seedDirs[2]!, proxy.port);
      const first = (await h.dispatch('metrics.series', { expDir: location })) as Series;
      proxy.cut();
      const again = (await h.dispatch('file.read', { path: `${location}/config.yaml` })) as { text: string };
      expect(again.text).toBe(readFileSync(path.join(seedDirs[2]!, 'config.yaml'), 'utf8'));
      expect(((await h.dispatch('metrics.series', { expDir: location })) as Series).records).toBe(
        first.records,
      );

      const port = await freePort();
      const t0 = Date.now();
      const gone = await failure(h.dispatch('metrics.series', { expDir: sshd.url(seedDirs[0]!, port) }));
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(gone.message).toContain(`127.0.0.1:${port}`);
    } finally {
      h.dispose();
      await proxy.close();
    }
  }, 120_000);
});
