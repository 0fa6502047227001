import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverExperiments, WorkspaceError } from '../../../../../src/main/core/workspace/discover';
import { tmpDir } from '../../../../helpers/tmp';
import { writeExperiment } from '../../../../helpers/experiments';

describe('discoverExperiments', () => {
  it('finds experiments in a folder of experiments, including one grouped level', async () => {
    const root = tmpDir();
    writeExperiment(path.join(root, 'exp001'), {});
    writeExperiment(path.join(root, 'sweep', 'exp002'), {});
    mkdirSync(path.join(root, 'empty'));
    const d = await discoverExperiments(root);
    expect(d.kind).toBe('experiments-folder');
    expect(d.experiments.map((p) => path.relative(root, p))).toEqual([
      'exp001',
      path.join('sweep', 'exp002'),
    ]);
  });

  it('opens a project root through its experiments/ folder', async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, 'configs'));
    writeFileSync(path.join(root, 'configs', 'base.yaml'), 'a: 1\n');
    writeExperiment(path.join(root, 'experiments', 'exp001'), {});
    const d = await discoverExperiments(root);
    expect(d.kind).toBe('project-root');
    expect(d.experimentsDir).toBe(path.join(root, 'experiments'));
    expect(d.experiments).toHaveLength(1);
  });

  it('opens a single experiment folder, recognised by any one marker file', async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, 'logs'));
    writeFileSync(path.join(root, 'logs', 'metrics.jsonl'), '');
    const d = await discoverExperiments(root);
    expect(d.kind).toBe('single-experiment');
    expect(d.experiments).toEqual([root]);
  });

  it('says clearly when a folder is missing or holds no experiment', async () => {
    const root = tmpDir();
    await expect(discoverExperiments(path.join(root, 'nope'))).rejects.toThrow(/no such folder/);
    await expect(discoverExperiments(root)).rejects.toThrow(/holds no experiment/);
    writeFileSync(path.join(root, 'f.txt'), '');
    await expect(discoverExperiments(path.join(root, 'f.txt'))).rejects.toBeInstanceOf(WorkspaceError);
  });
});
