/**
 * The local mirror of a remote TensorBoard or MLflow run
 * (src/main/core/remote/remote-run-files.ts), with the real helper run by
 * python3 as the remote runs it: the names an answer carries are untrusted
 * (only the shapes a reader reads, inside the mirror folder), links in the
 * run are not shipped, a run that is gone loses its mirror, and mirrors
 * nobody read for 30 days are pruned.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RemoteRunFiles } from '../../src/main/core/remote/remote-run-files';
import { localHelper } from '../helpers/local-helper';
import { eventFile } from '../helpers/tfevents';
import { tmpDir } from '../helpers/tmp';

const helper = localHelper('run-files');
const file = (
  name: string,
  data = 'x',
): {
  name: string;
  size: number;
  ino: number;
  start: number;
  reset: boolean;
  data: Buffer;
  more: boolean;
} => ({
  name,
  size: data.length,
  ino: 1,
  start: 0,
  reset: false,
  data: Buffer.from(data),
  more: false,
});

/** Every file below `dir`, relative, sorted. */
function filesBelow(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? filesBelow(dir, path.join(rel, d.name)) : [path.join(rel, d.name)]))
    .sort();
}

describe('remote run mirrors', () => {
  it('take only the names a reader reads, inside the mirror folder', async () => {
    const cache = tmpDir('expdesk-run-files-');
    const runs = new RemoteRunFiles(cache);
    const cases: Array<{ kind: 'tfevents' | 'mlflow'; names: string[]; kept: string[] }> = [
      {
        kind: 'tfevents',
        names: [
          'events.out.tfevents.1.host',
          '../events.out.tfevents.2.host',
          'sub/events.out.tfevents.3.host',
          'events.out.tfevents.4/../../x',
          'config.yaml',
        ],
        kept: ['events.out.tfevents.1.host', 'mirror.json'],
      },
      {
        kind: 'mlflow',
        names: [
          'meta.yaml',
          'metrics/eval/acc',
          'params/lr',
          'metrics/../../../escape',
          'metrics/.hidden',
          'tags/mlflow.runName',
          '/etc/passwd',
          'metrics\\..\\x',
        ],
        kept: ['meta.yaml', 'metrics/eval/acc', 'mirror.json', 'params/lr'],
      },
    ];
    for (const c of cases) {
      const location = `ssh://h/${c.kind}/run`;
      await runs.accept(location, { kind: c.kind, files: c.names.map((n) => file(n)) });
      expect(filesBelow(runs.dirOf(location))).toEqual(c.kept);
    }
    expect(filesBelow(cache).every((f) => f.startsWith('remote-runs-v1/'))).toBe(true);
  });

  it('do not ship a linked event file; lose the mirror when the run is gone', async () => {
    const root = tmpDir('expdesk-run-files-remote-');
    const run = path.join(root, 'run');
    mkdirSync(run);
    writeFileSync(
      path.join(run, 'events.out.tfevents.1.host'),
      eventFile([{ step: 1, values: [{ tag: 'loss', simple: 1 }] }]),
    );
    const outside = path.join(root, 'secret.bin');
    writeFileSync(outside, 'not yours');
    symlinkSync(outside, path.join(run, 'events.out.tfevents.2.host'));
    const runs = new RemoteRunFiles(tmpDir('expdesk-run-files-cache-'));
    const location = `ssh://h${run}`;
    const [r] = await runs.sync(helper, [{ location, remotePath: run }]);
    if (!r || r instanceof Error) throw new Error(String(r));
    expect(filesBelow(r.dir)).toEqual(['events.out.tfevents.1.host', 'mirror.json']);
    rmSync(run, { recursive: true, force: true });
    expect(await runs.sync(helper, [{ location, remotePath: run }])).toEqual([null]);
    expect(existsSync(runs.dirOf(location))).toBe(false);
  });

  it('unused for 30 days are pruned; those read since stay', async () => {
    const runs = new RemoteRunFiles(tmpDir('expdesk-run-files-prune-'));
    const old = 'ssh://h/old';
    const fresh = 'ssh://h/fresh';
    for (const l of [old, fresh])
      await runs.accept(l, { kind: 'tfevents', files: [file('events.out.tfevents.1.h')] });
    const longAgo = (Date.now() - 31 * 24 * 3600 * 1000) / 1000;
    utimesSync(path.join(runs.dirOf(old), 'mirror.json'), longAgo, longAgo);
    expect(await runs.prune()).toBe(1);
    expect([existsSync(runs.dirOf(old)), existsSync(runs.dirOf(fresh))]).toEqual([false, true]);
  });
});
