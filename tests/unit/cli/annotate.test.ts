import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli';
import { metricsLines, writeExperiment } from '../../helpers/experiments';
import { treeSnapshot } from '../../helpers/snapshot';
import { tmpDir } from '../../helpers/tmp';

function project(): { root: string; a: string; b: string; env: NodeJS.ProcessEnv } {
  const root = tmpDir();
  const metrics = metricsLines([{ step: 1, prefix: 'train', timestamp: 't', 'train/loss': 0.5 }]);
  const a = writeExperiment(path.join(root, 'experiments', 'exp001'), { metrics });
  const b = writeExperiment(path.join(root, 'experiments', 'exp002'), { metrics });
  return { root, a, b, env: { EXPDESK_CACHE_DIR: tmpDir() } };
}

describe('expdesk tag / note / star / archive', () => {
  it('writes one small JSON file per experiment only when asked, and the listing shows it', () => {
    const { root, a, b, env } = project();
    const before = treeSnapshot(root);
    expect(runCli(['list', root], env).code).toBe(0);
    expect(treeSnapshot(root)).toEqual(before); // analysis wrote nothing

    let r = runCli(['tag', a, b, '+baseline', '+old'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    r = runCli(['tag', a, '-old', '+lr-sweep'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('#baseline #lr-sweep');
    expect(runCli(['note', a, 'diverged after warmup\nsee logs'], env).code).toBe(0);
    expect(runCli(['star', a], env).code).toBe(0);
    expect(runCli(['archive', b], env).code).toBe(0);

    const file = path.join(a, 'expdesk_notes.json');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(doc).toMatchObject({
      tags: ['baseline', 'lr-sweep'],
      note: 'diverged after warmup\nsee logs',
      starred: true,
      archived: false,
    });
    const listed = JSON.parse(runCli(['list', root, '--json'], env).stdout).experiments;
    expect(listed.map((e: { annotations: unknown }) => e.annotations)).toEqual([
      {
        tags: ['baseline', 'lr-sweep'],
        note: 'diverged after warmup\nsee logs',
        starred: true,
        archived: false,
      },
      { tags: ['baseline', 'old'], note: '', starred: false, archived: true },
    ]);
    // Only the notes file was added; no temporary file is left behind.
    const after = treeSnapshot(root);
    const added = Object.keys(after).filter((k) => !(k in before));
    expect(added.sort()).toEqual([
      'experiments/exp001/expdesk_notes.json',
      'experiments/exp002/expdesk_notes.json',
    ]);
    expect(runCli(['star', a, '--undo'], env).code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).starred).toBe(false);
  }, 300_000);

  it("leaves the seed's readers working: they read their files by name, and the notes file is plain JSON", () => {
    const { a, env } = project();
    expect(runCli(['tag', a, '+baseline'], env).code).toBe(0);
    const out = execFileSync(
      'python3',
      [
        '-c',
        [
          'import json, sys, yaml, pathlib',
          'd = pathlib.Path(sys.argv[1])',
          // The seed's load_metrics and summarize_experiment read these by name.
          'records = [json.loads(l) for l in (d / "logs" / "metrics.jsonl").read_text().splitlines()]',
          'config = yaml.safe_load((d / "config.yaml").read_text())',
          'notes = json.loads((d / "expdesk_notes.json").read_text())',
          'print(len(records), config["experiment"]["name"], notes["tags"])',
        ].join('\n'),
        a,
      ],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe("1 exp001 ['baseline']");
  }, 60_000);

  it('refuses bad tags, a non-experiment, and a link at the notes file', () => {
    const { root, a, env } = project();
    expect(runCli(['tag', a, '+has space'], env).code).toBe(2);
    expect(runCli(['tag', a, 'baseline'], env).code).not.toBe(0);
    expect(runCli(['tag', path.join(root, 'experiments'), '+x'], env).code).toBe(3);
    const target = path.join(root, 'elsewhere.json');
    writeFileSync(target, '{}');
    symlinkSync(target, path.join(a, 'expdesk_notes.json'));
    const r = runCli(['star', a], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('expdesk_notes.json');
    expect(readFileSync(target, 'utf8')).toBe('{}');
    expect(existsSync(path.join(a, 'expdesk_notes.json'))).toBe(true);
  }, 180_000);
});
