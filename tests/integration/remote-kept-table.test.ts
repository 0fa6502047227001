/**
 * `expdesk list ssh://…` keeps its text table too: the remote helper digests
 * what the listing is made from and answers "unchanged" to the fingerprint
 * of the table kept (one round trip, no experiment sent), and the CLI prints
 * the kept table. A real sshd on 127.0.0.1, the real helper, a freshly
 * built bundle (a run from the sources keeps nothing).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCliBundle, type Built } from '../helpers/cli-bundle';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { dateTree, tableRows as rows, whileRunning, writePastRuns } from '../helpers/past-runs';

describe('expdesk list ssh://… keeps its text table for an unchanged remote folder', () => {
  let built: Built;
  let sshd: TestSshd;

  beforeAll(async () => {
    built = buildCliBundle();
    sshd = await startSshd();
  }, 120_000);
  afterAll(async () => {
    await sshd?.stop();
    rmSync(built.root, { recursive: true, force: true });
  });

  function project(): { exps: string; keptDir: string; list: () => string } {
    const work = mkdtempSync(path.join(built.root, 'remote-'));
    const exps = path.join(work, 'project', 'experiments');
    writePastRuns(exps, 6);
    const cache = path.join(work, 'cache');
    const url = sshd.url(path.join(work, 'project'));
    const list = (): string => {
      const r = spawnSync(process.execPath, [built.bin, 'list', url], {
        encoding: 'utf8',
        env: { ...process.env, ...sshd.env, EXPDESK_CACHE_DIR: cache },
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout;
    };
    return { exps, keptDir: path.join(cache, 'list-snapshots'), list };
  }

  it('prints the kept table while the helper finds nothing changed, and the change once something did', () => {
    const p = project();
    const cold = p.list();
    expect(rows(cold)).toHaveLength(6);
    expect(p.list()).toBe(cold);
    // Proof that the second came from the kept table: a marked copy of it is what the next prints.
    const [name] = readdirSync(p.keptDir);
    const file = path.join(p.keptDir, name!);
    const kept = readFileSync(file, 'utf8');
    writeFileSync(file, kept.replace('6 experiment(s) in', '6 experiment(s), as kept, in'));
    expect(p.list()).toContain('6 experiment(s), as kept, in');

    // FAILED.txt appears on the remote (dated long ago): the helper answers with the listing.
    writeFileSync(path.join(p.exps, 'exp02', 'FAILED.txt'), 'Failed at step 5\n');
    dateTree(path.join(p.exps, 'exp02'));
    const changed = p.list();
    expect(changed).not.toContain('as kept');
    expect(rows(changed)[2]).toEqual(['failed', 'exp02', 'dpo']);
    expect(p.list()).toBe(changed);
  });

  it('keeps no table of a remote run whose status depends on its process', async () => {
    const p = project();
    await whileRunning(path.join(p.exps, 'exp03'), () => {
      expect(rows(p.list())[3]).toEqual(['running', 'exp03', 'ppo']);
      expect(existsSync(p.keptDir) ? readdirSync(p.keptDir) : []).toEqual([]);
    });
    expect(rows(p.list())[3]).toEqual(['unknown', 'exp03', 'ppo']);
  });
});
