import { mkdirSync, statSync, writeFileSync } from 'node:fs';
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

  it("stats a listing's inputs with its markers, once, and hands them over per experiment", async () => {
    const root = tmpDir();
    writeExperiment(path.join(root, 'exp001'), { final: true });
    writeExperiment(path.join(root, 'sweep', 'exp002'), { failed: 'Failed at step 3\n' });
    mkdirSync(path.join(root, 'notes'));
    const inputs = ['config.yaml', 'FAILED.txt', path.join('checkpoints', 'final'), 'logs/metrics.jsonl'];
    let sent = 0;
    const d = await discoverExperiments(root, { inputs, whileStatting: () => sent++ });
    expect(sent).toBe(1);
    expect([...d.statted.keys()].sort()).toEqual([...d.experiments].sort());
    for (const dir of d.experiments) {
      const expected = inputs.map((f) => {
        const st = statSync(path.join(dir, f), { throwIfNoEntry: false });
        return st ? { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino } : null;
      });
      const row = d.statted.get(dir)!;
      expect(row.cols.map((j) => row.grid.outcome(row.row, j))).toEqual(expected);
    }
    // A folder that holds no experiment gets no stats handed over.
    expect(d.statted.has(path.join(root, 'notes'))).toBe(false);
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
