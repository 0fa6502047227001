/**
 * Sweep expansion (core/runs/sweep.ts) on real config files: the cartesian
 * product, one plan per member with its values applied as typed YAML, and
 * every bad axis refused with a clear message before anything exists.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getPath } from '../../../../../src/shared/config/tree';
import { planContext, type RunRequest } from '../../../../../src/main/core/runs/plan';
import {
  expandSweep,
  newSweepId,
  parseSweepAxis,
  splitSweepValues,
  SWEEP_ID,
} from '../../../../../src/main/core/runs/sweep';
import { visibleGpus } from '../../../../../src/main/core/runs/sweep-queue';
import { tmpDir } from '../../../../helpers/tmp';

function project(): string {
  const dir = tmpDir('expdesk-sweep-');
  mkdirSync(path.join(dir, 'configs'), { recursive: true });
  writeFileSync(
    path.join(dir, 'configs', 'base.yaml'),
    'algorithm:\n  name: dpo\ndpo:\n  beta: 0.1\ntraining:\n  lr: 0.001\n  tag: a\n  sizes: [1]\n',
  );
  return dir;
}

const NOW = new Date(2026, 11, 1, 9, 5, 7);

function request(proj: string, extra: Partial<RunRequest> = {}): RunRequest {
  return {
    workspace: proj,
    configFile: path.join(proj, 'configs', 'base.yaml'),
    command: ['python3', 'train.py', '{config}'],
    now: NOW,
    seed: 1,
    ...extra,
  };
}

describe('parseSweepAxis', () => {
  it('types each value as YAML and keeps its text', () => {
    const axis = parseSweepAxis('training.lr=1e-4,3.0e-4,0.01');
    expect(axis.key).toBe('training.lr');
    expect(axis.values.map((v) => v.text)).toEqual(['1e-4', '3.0e-4', '0.01']);
    expect(axis.values.map((v) => v.value)).toEqual([0.0001, 0.0003, 0.01]);
    expect(parseSweepAxis('x=true,null,abc,"1,2"').values.map((v) => v.value)).toEqual([
      true,
      null,
      'abc',
      '1,2',
    ]);
  });

  it('splits only at top-level commas', () => {
    expect(splitSweepValues('[1,2],[3, 4],{a: 1, b: 2}')).toEqual(['[1,2]', '[3, 4]', '{a: 1, b: 2}']);
    expect(splitSweepValues("'a,b',c")).toEqual(["'a,b'", 'c']);
  });

  it('refuses a missing =, an empty list and an empty value, naming the key', () => {
    expect(() => parseSweepAxis('training.lr')).toThrow(/must look like KEY=v1,v2/);
    expect(() => parseSweepAxis('training.lr=')).toThrow('--sweep training.lr= has no values');
    expect(() => parseSweepAxis('training.lr=1,,2')).toThrow(/an empty value between commas/);
    expect(() => parseSweepAxis('training lr=1')).toThrow(/not a dotted key/);
  });
});

describe('expandSweep', () => {
  it('plans one member per element of the product, the first axis slowest, each with its values', () => {
    const proj = project();
    const req = request(proj, { overrides: ['training.tag=b'] });
    const axes = [parseSweepAxis('dpo.beta=0.1,0.2'), parseSweepAxis('training.lr=1e-4,3e-4,1e-3')];
    const sweep = expandSweep(req, axes, planContext(req));
    expect(sweep.id).toMatch(SWEEP_ID);
    expect(sweep.members).toHaveLength(6);
    expect(sweep.members.map((m) => m.tag.params)).toEqual([
      { 'dpo.beta': 0.1, 'training.lr': 0.0001 },
      { 'dpo.beta': 0.1, 'training.lr': 0.0003 },
      { 'dpo.beta': 0.1, 'training.lr': 0.001 },
      { 'dpo.beta': 0.2, 'training.lr': 0.0001 },
      { 'dpo.beta': 0.2, 'training.lr': 0.0003 },
      { 'dpo.beta': 0.2, 'training.lr': 0.001 },
    ]);
    for (const [i, m] of sweep.members.entries()) {
      expect(m.tag).toMatchObject({ id: sweep.id, index: i, count: 6 });
      const cfg = m.plan.composed.config;
      expect(getPath(cfg, 'dpo.beta')).toBe(m.tag.params['dpo.beta']);
      expect(getPath(cfg, 'training.lr')).toBe(m.tag.params['training.lr']);
      // The request's own overrides stay, before the member's.
      expect(getPath(cfg, 'training.tag')).toBe('b');
      expect(m.plan.overrides).toEqual(['training.tag=b', ...m.overrides]);
    }
    // The folder name follows the seed's rule (dpo: beta), then each member's other swept values.
    expect(sweep.members[4]!.plan.naming.full).toBe('dpo_beta0.2_lr0.0003_1201_0905');
    // Planning touched nothing.
    expect(readdirSync(proj)).toEqual(['configs']);
  });

  it('names the members of a named sweep after their values', () => {
    const proj = project();
    const req = request(proj, { name: 'grid' });
    const sweep = expandSweep(req, [parseSweepAxis('training.lr=1e-4,3e-4')], planContext(req));
    expect(sweep.members.map((m) => m.plan.naming.explicit)).toEqual(['grid_lr1e-4', 'grid_lr3e-4']);
  });

  it('refuses an unknown key with its nearest neighbours, a key given twice, and a key also --set', () => {
    const proj = project();
    const req = request(proj);
    const ctx = planContext(req);
    expect(() => expandSweep(req, [parseSweepAxis('dpo.betta=0.1,0.2')], ctx)).toThrow(
      /--sweep: override dpo\.betta=0\.1: no config defines 'dpo\.betta' \(nearest: dpo\.beta/,
    );
    expect(() => expandSweep(req, [parseSweepAxis('dpo.beta=1'), parseSweepAxis('dpo.beta=2')], ctx)).toThrow(
      '--sweep dpo.beta is given twice',
    );
    const withSet = request(proj, { overrides: ['dpo.beta=0.3'] });
    expect(() => expandSweep(withSet, [parseSweepAxis('dpo.beta=1')], planContext(withSet))).toThrow(
      '--sweep dpo.beta and --set dpo.beta both set it',
    );
    // A new key needs the composer's + prefix, as with --set.
    const added = expandSweep(req, [parseSweepAxis('+training.extra=1,2')], ctx);
    expect(added.members.map((m) => getPath(m.plan.composed.config, 'training.extra'))).toEqual([1, 2]);
    expect(added.members[0]!.tag.params).toEqual({ 'training.extra': 1 });
  });

  it('makes ids that are safe file and tmux session names', () => {
    expect(newSweepId(NOW, 'abcdef')).toBe('sweep_20261201_090507_abcdef');
    expect(newSweepId(NOW)).toMatch(SWEEP_ID);
  });
});

describe('visibleGpus', () => {
  const smi = (): string => 'GPU 0: NVIDIA A100 (UUID: GPU-1)\nGPU 1: NVIDIA A100 (UUID: GPU-2)\n';
  it('reads CUDA_VISIBLE_DEVICES first, then nvidia-smi -L, else none', () => {
    expect(visibleGpus({ CUDA_VISIBLE_DEVICES: '2,3' }, smi)).toEqual(['2', '3']);
    expect(visibleGpus({ CUDA_VISIBLE_DEVICES: '' }, smi)).toEqual([]);
    expect(visibleGpus({ CUDA_VISIBLE_DEVICES: '0,-1,1' }, smi)).toEqual(['0']);
    expect(visibleGpus({}, smi)).toEqual(['0', '1']);
    expect(
      visibleGpus({}, () => {
        throw new Error('nvidia-smi: not found');
      }),
    ).toEqual([]);
  });
});
