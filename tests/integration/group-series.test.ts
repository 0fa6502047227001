/**
 * `metrics.groupSeries` through ExpdeskHost.dispatch on real folders: two
 * groups of three seeds, mean and band at each step (numbers checked against
 * Python's statistics module), members logging at different steps aligned by
 * interpolation and said so, a spike in one member kept through downsampling,
 * and the same answer for the same folders read over SSH (a real sshd).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExpdeskHost } from '../../src/main/host/host';
import type { RequestResult } from '../../src/shared/contract';
import { emaOf } from '../../src/shared/smoothing';
import { envOverrides } from '../helpers/env';
import { metricsLines, writeExperiment } from '../helpers/experiments';
import { treeSnapshot } from '../helpers/snapshot';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { tmpDir } from '../helpers/tmp';

type Result = RequestResult<'metrics.groupSeries'>;

let sshd: TestSshd;
const env = envOverrides();
const hosts: ExpdeskHost[] = [];
let root: string;
let before: Record<string, string>;
/** beta 0.1: seeds 1–3 log every 10 steps; beta 0.5: seed 3 logs every 5 (steps differ). */
const groupA: string[] = [];
const groupB: string[] = [];
/** Loss of run (group, seed) at a step. */
const loss = (beta: number, seed: number, step: number): number => beta + seed / 10 + step / 100;

function host(): ExpdeskHost {
  const h = new ExpdeskHost({
    mode: 'browser',
    version: 'test',
    workspace: null,
    demoWorkspace: null,
    cacheDir: tmpDir('expdesk-gs-cache-'),
  });
  hosts.push(h);
  return h;
}

function pythonStats(values: number[]): { mean: number; std: number } {
  const out = execFileSync(
    'python3',
    [
      '-c',
      'import json,sys,statistics as s; v=json.load(sys.stdin); print(json.dumps([s.mean(v), s.stdev(v)]))',
    ],
    { input: JSON.stringify(values), encoding: 'utf8' },
  );
  const [mean, std] = JSON.parse(out) as [number, number];
  return { mean, std };
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-groups-'));
  for (const [beta, list] of [
    [0.1, groupA],
    [0.5, groupB],
  ] as const) {
    for (const seed of [1, 2, 3]) {
      const every = beta === 0.5 && seed === 3 ? 5 : 10;
      const records = [];
      for (let step = 0; step <= 100; step += every)
        records.push({ step, prefix: 'train', 'train/loss': loss(beta, seed, step) });
      const dir = path.join(root, 'experiments', `b${beta}_s${seed}`);
      writeExperiment(dir, {
        config: `dpo:\n  beta: ${beta}\ntraining:\n  seed: ${seed}\n`,
        metrics: metricsLines(records),
      });
      list.push(dir);
    }
  }
  before = treeSnapshot(root);
  sshd = await startSshd();
  env.set(sshd.env);
}, 120_000);

afterAll(async () => {
  while (hosts.length) hosts.pop()!.dispose();
  env.restore();
  await sshd?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Three seeds × 20,000 steps of loss 1; seed 2 spikes to 900 at step 12,345. */
function spikeRuns(): string[] {
  return [1, 2, 3].map((seed) => {
    const records = [];
    for (let step = 1; step <= 20_000; step++)
      records.push({ step, prefix: 'train', 'train/loss': seed === 2 && step === 12_345 ? 900 : 1 });
    return writeExperiment(path.join(tmpDir('expdesk-spike-'), `s${seed}`), {
      metrics: metricsLines(records),
    });
  });
}

describe('metrics.groupSeries', () => {
  it('gives each group its mean and ±std band by step, interpolating where members’ steps differ', async () => {
    const r = (await host().dispatch('metrics.groupSeries', {
      groups: [groupA, groupB],
      keys: ['train/loss', 'no/such'],
    })) as Result;
    expect(r.groups).toHaveLength(2);
    const [a, b] = r.groups.map((g) => g.series['train/loss']!);
    expect(Object.keys(r.groups[0]!.series)).toEqual(['train/loss']);
    expect(a!.members).toBe(3);
    expect(a!.interpolated).toBe(false);
    expect(a!.mean.x).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    const at50 = pythonStats([1, 2, 3].map((s) => loss(0.1, s, 50)));
    const i = a!.mean.x.indexOf(50);
    expect(a!.mean.y[i]).toBeCloseTo(at50.mean, 12);
    expect(a!.upper.y[i]! - a!.mean.y[i]!).toBeCloseTo(at50.std, 12);
    expect(a!.mean.y[i]! - a!.lower.y[i]!).toBeCloseTo(at50.std, 12);

    // Group B: seed 3 logs at 5, 15, …: seeds 1 and 2 are interpolated there (linear, so exact).
    expect(b!.interpolated).toBe(true);
    expect(b!.mean.x).toHaveLength(21);
    const j = b!.mean.x.indexOf(15);
    expect(b!.mean.y[j]).toBeCloseTo(pythonStats([1, 2, 3].map((s) => loss(0.5, s, 15))).mean, 12);

    const minmax = (await host().dispatch('metrics.groupSeries', {
      groups: [groupA],
      keys: ['train/loss'],
      band: 'minmax',
    })) as Result;
    const m = minmax.groups[0]!.series['train/loss']!;
    expect(m.lower.y[i]).toBeCloseTo(loss(0.1, 1, 50), 12);
    expect(m.upper.y[i]).toBeCloseTo(loss(0.1, 3, 50), 12);
    expect(treeSnapshot(root)).toEqual(before); // analysis writes nothing into the folders
  }, 60_000);

  it('follows a member that grows: the kept curve is dropped once its file changes', async () => {
    const dirs = [1, 2].map((seed) =>
      writeExperiment(path.join(tmpDir('expdesk-grow-'), `s${seed}`), {
        metrics: metricsLines([{ step: 1, prefix: 'train', 'train/loss': seed }]),
      }),
    );
    const h = host();
    const ask = async (range: { min: number; max: number } | null): Promise<Result> =>
      (await h.dispatch('metrics.groupSeries', { groups: [dirs], keys: ['train/loss'], range })) as Result;
    expect((await ask(null)).groups[0]!.series['train/loss']!.mean).toEqual({ x: [1], y: [1.5] });
    appendFileSync(
      path.join(dirs[1]!, 'logs', 'metrics.jsonl'),
      metricsLines([{ step: 2, prefix: 'train', 'train/loss': 7 }]),
    );
    // A zoom after the append: the new step is there (seed 1 ends at step 1: only seed 2 counts).
    expect((await ask({ min: 0, max: 5 })).groups[0]!.series['train/loss']!.mean).toEqual({
      x: [1, 2],
      y: [1.5, 7],
    });
  }, 60_000);

  it('gives the same curves for the same folders over SSH', async () => {
    const h = host();
    const local = await h.dispatch('metrics.groupSeries', { groups: [groupA, groupB], keys: ['train/loss'] });
    const remote = await h.dispatch('metrics.groupSeries', {
      groups: [groupA.map((p) => sshd.url(p)), groupB.map((p) => sshd.url(p))],
      keys: ['train/loss'],
    });
    expect(remote).toEqual(local);
  }, 120_000);

  it('keeps a spike in one member visible in the downsampled band', async () => {
    const dirs = spikeRuns();
    const r = (await host().dispatch('metrics.groupSeries', {
      groups: [dirs],
      keys: ['train/loss'],
      buckets: 50,
      band: 'minmax',
    })) as Result;
    const s = r.groups[0]!.series['train/loss']!;
    expect(s.downsampled).toBe(true);
    expect(s.points).toBe(20_000);
    expect(s.upper.y).toContain(900);
    expect(s.upper.x[s.upper.y.indexOf(900)]).toBe(12_345);
    expect(Math.max(...(s.mean.y as number[]))).toBeCloseTo(302 / 3 + 200, 9);
  }, 120_000);

  it("smooths a group's mean over every aligned step before downsampling: the zoom does not change the spike's height", async () => {
    const dirs = spikeRuns();
    const h = host();
    const ask = async (range: { min: number; max: number } | null): Promise<Result> =>
      (await h.dispatch('metrics.groupSeries', {
        groups: [dirs],
        keys: ['train/loss'],
        buckets: 50,
        range,
        smoothing: { kind: 'ema', weight: 0.9 },
      })) as Result;
    // The full-resolution mean is 1 except 902/3 at the spike: its EMA (debiased) peaks there.
    const mean = Array.from({ length: 20_000 }, (_, i) => (i + 1 === 12_345 ? 902 / 3 : 1));
    const peak = Math.max(...emaOf(mean, mean.length, 0.9));
    const whole = (await ask(null)).groups[0]!.series['train/loss']!;
    const zoomed = (await ask({ min: 12_000, max: 12_700 })).groups[0]!.series['train/loss']!;
    for (const s of [whole, zoomed]) {
      const sm = s.smoothed!;
      expect(Math.max(...(sm.y as number[]))).toBeCloseTo(peak, 9);
      expect(sm.x[sm.y.indexOf(Math.max(...(sm.y as number[])))]).toBe(12_345);
      // The raw mean is still sent, for the faint curve behind.
      expect(Math.max(...(s.mean.y as number[]))).toBeCloseTo(902 / 3, 9);
    }
    // Without smoothing, no smoothed curve.
    const plain = (await h.dispatch('metrics.groupSeries', {
      groups: [dirs],
      keys: ['train/loss'],
    })) as Result;
    expect(plain.groups[0]!.series['train/loss']!.smoothed).toBeUndefined();
  }, 120_000);
});
