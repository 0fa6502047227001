/**
 * The run plan (core/runs/plan.ts) on real config files: the same request
 * gives the same plan; a local and an SSH launch plan the same run from the
 * same request and config (only where it lands differs); the dirty-tree
 * warning is one text for both; bad input fails before any folder exists.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { GitInfo } from '../../../../../src/main/core/capture/git';
import {
  DIRTY_TREE_WARNING,
  gitWarnings,
  placeRun,
  planContext,
  planRun,
  type RunRequest,
} from '../../../../../src/main/core/runs/plan';
import { remoteJoin } from '../../../../../src/shared/remote-location';
import { tmpDir } from '../../../../helpers/tmp';

function project(): string {
  const dir = tmpDir('expdesk-plan-');
  mkdirSync(path.join(dir, 'configs'), { recursive: true });
  writeFileSync(
    path.join(dir, 'configs', 'base.yaml'),
    'defaults: [small]\nalgorithm:\n  name: ppo\n  lr: 0.001\nseed: 7\ntraining:\n  steps: 10\n',
  );
  writeFileSync(path.join(dir, 'configs', 'small.yaml'), 'model:\n  name: mlp\n  width: 3.0\n');
  return dir;
}

const NOW = new Date(2026, 11, 1, 9, 5);

function request(proj: string, extra: Partial<RunRequest> = {}): RunRequest {
  return {
    workspace: proj,
    configFile: path.join(proj, 'configs', 'base.yaml'),
    overrides: ['training.steps=20'],
    command: ['python3', 'train.py', '--config', '{config}', '--seed={seed}'],
    now: NOW,
    ...extra,
  };
}

const cleanGit: GitInfo = {
  git_hash: 'abc',
  git_branch: 'main',
  git_dirty: false,
  git_remote: null,
  root: '/p',
};

describe('planRun', () => {
  it('gives the same plan for the same request, gathered twice from the files', () => {
    const proj = project();
    const req = request(proj, { seed: 42 });
    const a = planRun(req, planContext(req));
    const b = planRun(req, planContext(req));
    expect(b).toEqual(a);
    expect(a.seed).toBe(42);
    expect(a.composed.config).toMatchObject({ seed: 42, training: { steps: 20 }, model: { name: 'mlp' } });
    expect(a.naming).toEqual({ explicit: null, full: 'ppo_mlp_1201_0905', unstamped: 'ppo_mlp' });
    expect(a.python).toBe('python3');
    expect(a.configFiles).toEqual([
      path.join(proj, 'configs', 'small.yaml'),
      path.join(proj, 'configs', 'base.yaml'),
    ]);
  });

  it("takes the config's seed, else the context's random one, the same on every call", () => {
    const proj = project();
    const req = request(proj);
    expect(planRun(req, planContext(req)).seed).toBe(7);
    writeFileSync(path.join(proj, 'configs', 'base.yaml'), 'training:\n  steps: 10\n');
    const ctx = planContext(req);
    expect(planRun(req, ctx).seed).toBe(ctx.randomSeed);
    expect(planRun(req, ctx)).toEqual(planRun(req, ctx));
  });

  it('a local and an SSH launch plan the same run; only the placing differs by target', () => {
    const proj = project();
    const local = request(proj, { seed: 3 });
    // The SSH launch plans from the same config file for a workspace path on the remote.
    const remote = { ...local, workspace: '/srv/p' };
    const localPlan = planRun(local, planContext(local));
    const sshPlan = planRun(remote, planContext(remote));
    expect(sshPlan.workspace).toBe('/srv/p');
    expect({ ...sshPlan, workspace: proj }).toEqual(localPlan);

    const placedLocal = placeRun(localPlan, {
      name: 'exp001_ppo_mlp_1201_0905',
      expDir: path.join(proj, 'experiments', 'exp001_ppo_mlp_1201_0905'),
      join: path.join,
    });
    const placedRemote = placeRun(sshPlan, {
      name: 'exp001_ppo_mlp_1201_0905',
      expDir: '/srv/p/experiments/exp001_ppo_mlp_1201_0905',
      join: remoteJoin,
    });
    expect(placedRemote.command).toEqual([
      'python3',
      'train.py',
      '--config',
      '/srv/p/experiments/exp001_ppo_mlp_1201_0905/config.yaml',
      '--seed=3',
    ]);
    expect(placedRemote.env).toEqual({
      EXPDESK_EXPERIMENT_DIR: '/srv/p/experiments/exp001_ppo_mlp_1201_0905',
      EXPDESK_CONFIG: '/srv/p/experiments/exp001_ppo_mlp_1201_0905/config.yaml',
      EXPDESK_SEED: '3',
      PYTHONUNBUFFERED: '1',
    });
    // The same frozen config but for the folder it names.
    const a = parseYaml(placedLocal.frozenConfig) as Record<string, unknown>;
    const b = parseYaml(placedRemote.frozenConfig) as Record<string, unknown>;
    expect({ ...b, experiment: null }).toEqual({ ...a, experiment: null });
    expect(b.experiment).toEqual({
      name: 'exp001_ppo_mlp_1201_0905',
      output_dir: '/srv/p/experiments/exp001_ppo_mlp_1201_0905',
    });
    expect(placedLocal.frozenConfig).toContain('width: 3.0'); // floats stay floats
  });

  it('has one dirty-tree warning for every target, and refuses a dirty tree when asked', () => {
    const proj = project();
    const req = request(proj);
    const plan = planRun(req, planContext(req));
    const dirty = { ...cleanGit, git_dirty: true };
    expect(gitWarnings(plan, dirty, '/p')).toEqual([DIRTY_TREE_WARNING]);
    expect(gitWarnings(plan, dirty, '/srv/p on gpu-box')).toEqual([DIRTY_TREE_WARNING]);
    expect(gitWarnings(plan, cleanGit, '/p')).toEqual([]);
    expect(gitWarnings(plan, { ...cleanGit, root: null }, '/srv/p on gpu-box')).toEqual([
      '⚠️  WARNING: /srv/p on gpu-box is not in a git repository: the code version cannot be recorded.',
    ]);
    const strict = planRun({ ...req, refuseDirty: true }, planContext(req));
    expect(() => gitWarnings(strict, dirty, '/p')).toThrow(
      'the working tree of /p has uncommitted changes; commit them or launch without --refuse-dirty',
    );
  });

  it('fails on bad input before any folder exists, naming the file and line', () => {
    const proj = project();
    const req = request(proj);
    expect(() => planRun({ ...req, command: [] }, planContext(req))).toThrow('no command given');
    expect(() => planRun({ ...req, name: '///' }, planContext(req))).toThrow(
      '--name "///" has no character usable in a folder name',
    );
    writeFileSync(path.join(proj, 'configs', 'base.yaml'), 'a: [1,\n');
    expect(() => planRun(req, planContext(req))).toThrow(path.join(proj, 'configs', 'base.yaml'));
    expect(readdirSync(proj)).toEqual(['configs']);
  });
});
