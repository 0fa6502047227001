/**
 * `expdesk list` of a local folder loads only what listing needs (issue 14:
 * a warm listing's fixed cost is loading modules). The CLI bundle is built
 * fresh with esbuild's metafile, which says which sources each chunk holds;
 * the command runs under a loader hook (tests/helpers/import-log.mjs) that
 * records every module the process loads. A warm listing, text or JSON,
 * must load no schema library (zod), no YAML parser, no archive, SSH, verify
 * or SLURM code; a cold one loads each only for a folder that needs it.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCliBundle, runLogged, type Built, type Ran } from '../helpers/cli-bundle';
import { metricsLines, writeExperiment } from '../helpers/experiments';

/** What listing must not load, by the source (or package) it comes from. */
const NOT_FOR_LISTING: Array<[string, RegExp]> = [
  ['zod', /node_modules\/zod\//],
  ['yaml', /node_modules\/yaml\//],
  ['tar', /node_modules\/tar\//],
  ['archiver', /node_modules\/archiver\//],
  ['ssh2', /node_modules\/ssh2\//],
  ['node-pty', /node_modules\/node-pty\//],
  ['ws', /node_modules\/ws\//],
  ['remote code', /src\/main\/core\/remote\/|src\/cli\/remote\.ts|ssh-backend\.ts/],
  ['verify code', /src\/main\/core\/verify\/|src\/shared\/verify\.ts/],
  ['bundle code', /src\/main\/core\/bundle\//],
  ['SLURM code', /src\/shared\/slurm\.ts|src\/main\/core\/runs\/slurm-(executor|local|scheduler)\.ts/],
  ['the details reader', /src\/main\/core\/workspace\/experiment\.ts/],
];

/** The names of NOT_FOR_LISTING that a run loaded, each with one file that shows it. */
function unwanted(ran: Ran): string[] {
  return NOT_FOR_LISTING.flatMap(([name, re]) => {
    const hit = ran.loaded.find((f) => re.test(f));
    return hit ? [`${name} (${hit})`] : [];
  });
}

/** Seed-written experiments: plain block YAML, metadata.json, metrics.jsonl; no status file. */
function seedFolders(root: string): string {
  const exps = path.join(root, 'project', 'experiments');
  for (const [i, alg] of ['dpo', 'ppo', 'dpo'].entries()) {
    writeExperiment(path.join(exps, `exp00${i + 1}_${alg}`), {
      algorithm: alg,
      metadata: { name: `exp00${i + 1}_${alg}`, started_at: '2026-01-15T14:30:00', git_hash: 'abc' },
      metrics: metricsLines([
        { step: 10, prefix: 'train', 'train/loss': 1.5 },
        { step: 20, prefix: 'train', 'train/loss': 0.75 },
      ]),
    });
  }
  return path.join(root, 'project');
}

describe('expdesk list of a local folder', () => {
  let built: Built;

  beforeAll(() => {
    built = buildCliBundle();
    return () => rmSync(built.root, { recursive: true, force: true });
  }, 120_000);

  it('loads no zod, yaml, tar, SSH, verify or SLURM code, warm or cold, text or JSON', () => {
    const work = mkdtempSync(path.join(built.root, 'seed-'));
    const project = seedFolders(work);
    const cache = path.join(work, 'cache');
    const cold = runLogged(built, ['list', project], cache);
    expect(cold.stdout).toContain('exp002_ppo');
    expect(unwanted(cold)).toEqual([]);
    const warm = runLogged(built, ['list', project], cache);
    expect(warm.stdout).toBe(cold.stdout);
    expect(unwanted(warm)).toEqual([]);
    const json = runLogged(built, ['list', '--json', project], cache);
    const rows = (JSON.parse(json.stdout) as { experiments: Array<{ name: string; final_loss: number }> })
      .experiments;
    expect(rows.map((e) => [e.name, e.final_loss])).toEqual([
      ['exp001_dpo', 0.75],
      ['exp002_ppo', 0.75],
      ['exp003_dpo', 0.75],
    ]);
    expect(unwanted(json)).toEqual([]);
  });

  it('a large folder, whose stats the entry takes before the modules load, lists as it is, edits included', () => {
    // 12 folders: enough for the early stats (cli/list-early.ts), each state a listing tells apart.
    const work = mkdtempSync(path.join(built.root, 'large-'));
    const exps = path.join(work, 'project', 'experiments');
    const loss = (v: number): string => metricsLines([{ step: 5, prefix: 'train', 'train/loss': v }]);
    for (let i = 0; i < 12; i++) {
      const name = `exp${String(i).padStart(2, '0')}`;
      writeExperiment(path.join(exps, name), {
        algorithm: i % 2 ? 'ppo' : 'dpo',
        metrics: loss(i + 0.5),
        ...(i % 4 === 1 ? { failed: 'Failed at step 5\n' } : {}),
        ...(i % 4 === 2 ? { final: true } : {}),
        ...(i % 4 === 3 ? { status: { schema: 'expdesk.status/1', state: 'stopped', exit_code: 130 } } : {}),
      });
      // Written long ago: not "running?" from a recent write.
      const old = new Date('2026-01-01T00:00:00Z');
      utimesSync(path.join(exps, name, 'logs', 'metrics.jsonl'), old, old);
    }
    const cache = path.join(work, 'cache');
    const states = (out: string): string[][] =>
      out
        .split('\n')
        .filter((l) => /^\S+\s+exp\d\d/.test(l))
        .map((l) => l.split(/\s+/).slice(0, 4));
    const cold = runLogged(built, ['list', path.join(work, 'project')], cache);
    expect(states(cold.stdout)).toEqual(
      Array.from({ length: 12 }, (_, i) => [
        ['unknown?', 'failed', 'completed?', 'stopped'][i % 4]!,
        `exp${String(i).padStart(2, '0')}`,
        i % 2 ? 'ppo' : 'dpo',
        '5',
      ]),
    );
    const warm = runLogged(built, ['list', path.join(work, 'project')], cache);
    expect(warm.stdout).toBe(cold.stdout);
    // An editor's save in place: same size, same second; the next listing shows it.
    const config = path.join(exps, 'exp04', 'config.yaml');
    const { mtimeMs } = statSync(config);
    writeFileSync(config, readFileSync(config, 'utf8').replace('name: dpo', 'name: ppo'));
    utimesSync(config, Math.floor(mtimeMs / 1000) + 0.5, Math.floor(mtimeMs / 1000) + 0.5);
    const edited = runLogged(built, ['list', path.join(work, 'project')], cache);
    expect(states(edited.stdout)[4]).toEqual(['unknown?', 'exp04', 'ppo', '5']);
  });

  it('loads the status schema and the YAML parser for a folder that needs them, and only while cold', () => {
    const work = mkdtempSync(path.join(built.root, 'needs-'));
    const exps = path.join(work, 'experiments');
    // Flow-style YAML the plain parser leaves to `yaml`; a status file validated against its schema.
    writeExperiment(path.join(exps, 'exp001_flow'), {
      config: 'experiment: {name: exp001_flow}\nalgorithm: {name: grpo}\n',
      metrics: metricsLines([{ step: 1, loss: 2 }]),
      status: { schema: 'expdesk.status/1', state: 'stopped', exit_code: 130 },
    });
    writeExperiment(path.join(exps, 'exp002_plain'), { config: 'algorithm:\n  name: dpo\n' });
    const cache = path.join(work, 'cache');
    const cold = runLogged(built, ['list', '--json', exps], cache);
    const rows = (
      JSON.parse(cold.stdout) as { experiments: Array<{ name: string; algorithm: string; status: string }> }
    ).experiments;
    expect(rows.map((e) => [e.name, e.algorithm, e.status])).toEqual([
      ['exp001_flow', 'grpo', 'stopped'],
      ['exp002_plain', 'dpo', 'unknown'],
    ]);
    // The detector sees what a listing loads when it does need it.
    expect(unwanted(cold).map((u) => u.split(' ')[0])).toEqual(['zod', 'yaml']);
    const warm = runLogged(built, ['list', '--json', exps], cache);
    expect(warm.stdout).toBe(cold.stdout);
    expect(unwanted(warm)).toEqual([]);
  });
});
