/**
 * Workspaces of many seed-written experiments for the benchmarks: the folders
 * tests/fixtures/seed_writer.py writes (the seed's own code), copied under new
 * expNNN names until there are `count` of them.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '..');

export interface SeedWorkspaceOptions {
  /** Copy only these files of each experiment (those it has), instead of the whole folder. */
  files?: string[];
  /** Keep only this many records of each metrics.jsonl (the seed's have up to 204). */
  metricsRecords?: number;
  /** Copy only the experiments that have every one of these files. */
  requires?: string[];
  /**
   * Date every file and folder of each experiment this long ago, as in a
   * folder of past runs: a fresh copy's logs look like runs still writing.
   */
  writtenAgoMs?: number;
}

/** Set the mtimes of everything in dir, and of dir, to `at` (ms since the epoch). */
function dateTree(dir: string, at: number): void {
  const t = at / 1000;
  for (const rel of readdirSync(dir, { recursive: true, encoding: 'utf8' }))
    utimesSync(path.join(dir, rel), t, t);
  utimesSync(dir, t, t);
}

/** Write `count` experiments into root/project/experiments; returns root/project. */
export function makeSeedWorkspace(root: string, count: number, options: SeedWorkspaceOptions = {}): string {
  const seed = path.join(root, 'seed', 'experiments');
  execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), path.dirname(seed)], {
    stdio: 'ignore',
  });
  const originals = readdirSync(seed)
    .sort()
    .filter((name) => (options.requires ?? []).every((f) => existsSync(path.join(seed, name, f))));
  if (options.metricsRecords !== undefined) {
    for (const name of originals) {
      const file = path.join(seed, name, 'logs', 'metrics.jsonl');
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      writeFileSync(file, lines.slice(0, options.metricsRecords).join('\n') + '\n');
    }
  }
  // The chosen files of each original, read once (5,000 recursive copies take minutes).
  const contents = options.files
    ? originals.map((name) =>
        options
          .files!.filter((f) => existsSync(path.join(seed, name, f)))
          .map((f) => ({
            rel: f,
            data: readFileSync(path.join(seed, name, f)),
          })),
      )
    : null;
  const ws = path.join(root, 'project');
  mkdirSync(path.join(ws, 'experiments'), { recursive: true });
  const width = Math.max(3, String(count).length);
  for (let i = 0; i < count; i++) {
    const k = i % originals.length;
    const from = originals[k]!;
    const dir = path.join(ws, 'experiments', `exp${String(i + 1).padStart(width, '0')}${from.slice(6)}`);
    if (!contents) cpSync(path.join(seed, from), dir, { recursive: true });
    else {
      for (const { rel, data } of contents[k]!) {
        mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        writeFileSync(path.join(dir, rel), data);
      }
    }
    if (options.writtenAgoMs !== undefined) dateTree(dir, Date.now() - options.writtenAgoMs);
  }
  return ws;
}
