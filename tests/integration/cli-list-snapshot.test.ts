/**
 * `expdesk list DIR` prints the text table it kept for DIR while nothing the
 * table was made from changed (src/cli/list-snapshot.ts), and never
 * otherwise. The CLI bundle is built fresh (a run from the sources keeps
 * nothing) and run under the loader hook: a listing that loaded no summary
 * code printed the kept table. Every change a listing shows must show in the
 * next one; a status that depends on a process or the clock is never kept.
 */
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCliBundle, runLogged, type Built, type Ran } from '../helpers/cli-bundle';
import { dateTree, tableRows as rows, whileRunning, writePastRuns } from '../helpers/past-runs';
import { metricsLines, writeExperiment } from '../helpers/experiments';

/** Whether the run printed a kept table: it loaded none of the listing's summary code. */
function keptTable(ran: Ran): boolean {
  return !ran.loaded.some((f) => /src\/main\/core\/summary\/summary-store\.ts/.test(f));
}

describe('expdesk list keeps its text table for an unchanged folder', () => {
  let built: Built;

  beforeAll(() => {
    built = buildCliBundle();
    return () => rmSync(built.root, { recursive: true, force: true });
  }, 120_000);

  /** A project of 12 past runs (every file dated long ago), and a cache folder for it. */
  function project(): { dir: string; exps: string; cache: string; list: (env?: NodeJS.ProcessEnv) => Ran } {
    const work = mkdtempSync(path.join(built.root, 'snap-'));
    const dir = path.join(work, 'project');
    const exps = path.join(dir, 'experiments');
    writePastRuns(exps, 12);
    const cache = path.join(work, 'cache');
    return { dir, exps, cache, list: (env = {}) => runLogged(built, ['list', dir], cache, env) };
  }

  it('prints the kept table of an unchanged folder, byte for byte, without loading the listing', () => {
    const p = project();
    const cold = p.list();
    expect(keptTable(cold)).toBe(false);
    expect(rows(cold.stdout)).toHaveLength(12);
    const warm = p.list();
    expect(keptTable(warm)).toBe(true);
    expect(warm.stdout).toBe(cold.stdout);
    // JSON is never kept: made afresh, from the summary cache.
    const json = runLogged(built, ['list', '--json', p.dir], p.cache);
    expect(keptTable(json)).toBe(false);
    expect(JSON.parse(json.stdout)).toMatchObject({ experimentsDir: p.exps });
  });

  it('shows every change in the next listing: an edit in place, FAILED.txt, a final checkpoint, a new and a removed folder', () => {
    const p = project();
    p.list();
    const expect12 = (out: string, i: number, row: string[]): void => void expect(rows(out)[i]).toEqual(row);

    // An editor's save in place: the same size; dated anew, but still long ago.
    const config = path.join(p.exps, 'exp04', 'config.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('name: dpo', 'name: ppo'));
    utimesSync(config, new Date('2026-01-02T00:00:00Z'), new Date('2026-01-02T00:00:00Z'));
    let ran = p.list();
    expect(keptTable(ran)).toBe(false);
    expect12(ran.stdout, 4, ['completed?', 'exp04', 'ppo']);
    expect(keptTable(p.list())).toBe(true);

    // FAILED.txt appears (the folder's mtime moves with it; the file is dated long ago).
    writeFileSync(path.join(p.exps, 'exp06', 'FAILED.txt'), 'Failed at step 5\n');
    dateTree(path.join(p.exps, 'exp06'));
    ran = p.list();
    expect(keptTable(ran)).toBe(false);
    expect12(ran.stdout, 6, ['failed', 'exp06', 'dpo']);

    // A final checkpoint in a folder that had none.
    mkdirSync(path.join(p.exps, 'exp08', 'checkpoints', 'final'), { recursive: true });
    dateTree(path.join(p.exps, 'exp08'));
    ran = p.list();
    expect(keptTable(ran)).toBe(false);
    expect12(ran.stdout, 8, ['completed?', 'exp08', 'dpo']);

    // A new experiment, then one removed.
    const added = writeExperiment(path.join(p.exps, 'exp12'), {
      algorithm: 'grpo',
      metrics: metricsLines([]),
    });
    dateTree(added);
    ran = p.list();
    expect(keptTable(ran)).toBe(false);
    expect12(ran.stdout, 12, ['unknown?', 'exp12', 'grpo']);
    expect(keptTable(p.list())).toBe(true);
    rmSync(path.join(p.exps, 'exp00'), { recursive: true });
    ran = p.list();
    expect(keptTable(ran)).toBe(false);
    expect(rows(ran.stdout).map((r) => r[1])).toEqual(
      Array.from({ length: 12 }, (_, i) => `exp${String(i + 1).padStart(2, '0')}`),
    );
    expect(ran.stdout).toContain('12 experiment(s) in');
  });

  it('keeps no table while a run writes, nor one whose status depends on a process', async () => {
    const p = project();
    // Metrics written just now: running, inferred from the write; its next write could keep the size.
    appendFileSync(path.join(p.exps, 'exp02', 'logs', 'metrics.jsonl'), metricsLines([{ step: 6, loss: 1 }]));
    expect(rows(p.list().stdout)[2]).toEqual(['running?', 'exp02', 'dpo']);
    expect(keptTable(p.list())).toBe(false);
    dateTree(path.join(p.exps, 'exp02'));

    // A status file of a live process on this host: running while it lives, then unknown.
    await whileRunning(path.join(p.exps, 'exp03'), () => {
      expect(rows(p.list().stdout)[3]).toEqual(['running', 'exp03', 'ppo']);
      const again = p.list();
      expect(keptTable(again)).toBe(false);
      expect(rows(again.stdout)[3]).toEqual(['running', 'exp03', 'ppo']);
    });
    expect(rows(p.list().stdout)[3]).toEqual(['unknown', 'exp03', 'ppo']);
  });

  it('lists afresh under another time zone or locale, and ignores a kept table that is not a regular file', () => {
    const p = project();
    const first = p.list();
    expect(keptTable(p.list())).toBe(true);
    for (const env of [{ TZ: 'Asia/Tokyo' }, { LC_ALL: 'C' }, { LANG: 'de_DE.UTF-8' }]) {
      const other = p.list(env);
      expect(keptTable(other), JSON.stringify(env)).toBe(false);
      expect(other.stdout).toBe(first.stdout);
    }
    // A table kept in a FIFO or as garbage: a miss, never a hang or an error.
    const [name] = readdirSync(path.join(p.cache, 'list-snapshots'));
    const file = path.join(p.cache, 'list-snapshots', name!);
    expect(statSync(file).isFile()).toBe(true);
    rmSync(file);
    spawnFifo(file);
    const fromFifo = p.list();
    expect(keptTable(fromFifo)).toBe(false);
    expect(fromFifo.stdout).toBe(first.stdout);
    writeFileSync(file, 'not a kept table\n');
    expect(p.list().stdout).toBe(first.stdout);
  });
});

/** A FIFO at `file` (mkfifo). */
function spawnFifo(file: string): void {
  expect(spawnSync('mkfifo', [file]).status).toBe(0);
}
