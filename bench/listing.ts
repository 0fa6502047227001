/**
 * Benchmark: `expdesk list` of 5,000 seed-written experiments (config.yaml,
 * metadata.json, a 36-record metrics.jsonl each), end to end from the bundle,
 * with an empty summary cache (cold) and a filled one (warm), against the
 * naive floor (bench/naive-listing.mjs: read and parse the same three files
 * per experiment with the same yaml package), all in the same run and
 * interleaved. Targets: cold ≤ 1.0 × the floor, warm ≤ 0.15 ×.
 *
 * The experiments' files are dated a day back, as in a folder of past runs
 * (fresh copies would look like runs still writing). A warm listing of the
 * unchanged folder prints the table kept by the listing before it
 * (src/cli/list-snapshot.ts); a third figure has one experiment's
 * config.yaml changed before each listing, so that the listing is made
 * again from the summary cache (4,999 summaries from it, one read afresh).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, type BenchResult } from './report';
import { makeSeedWorkspace } from './seed-workspace';

const REPO = path.resolve(import.meta.dirname, '..');
const EXPERIMENTS = Number(process.env.BENCH_LISTING_EXPERIMENTS ?? 5000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** What every listed experiment has (the seed writes them; its exp005 lacks the first two). */
const SEED_FILES = ['config.yaml', 'metadata.json', 'logs/metrics.jsonl'];

function timed(args: string[], env: NodeJS.ProcessEnv, expect: RegExp): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t0;
  if (r.status !== 0 || !expect.test(r.stdout))
    throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-500)}`);
  return ms;
}

export async function benchListing(): Promise<BenchResult[]> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-bench-listing-'));
  try {
    process.stderr.write(`writing ${EXPERIMENTS} seed-written experiments…\n`);
    execFileSync(process.execPath, [path.join(REPO, 'scripts/build-cli.mjs')], { stdio: 'ignore' });
    const ws = makeSeedWorkspace(root, EXPERIMENTS, {
      requires: SEED_FILES,
      files: [...SEED_FILES, 'requirements.txt', 'FAILED.txt', 'checkpoints/final/trainer_state.json'],
      metricsRecords: 36,
      writtenAgoMs: 24 * 3600_000,
    });
    // One experiment's config.yaml, dated anew (an hour back) before each listing of `changed`.
    const first = path.join(ws, 'experiments', readdirSync(path.join(ws, 'experiments')).sort()[0]!);
    let touches = 0;
    const touch = (): void => {
      const t = (Date.now() - 3600_000) / 1000 + ++touches;
      utimesSync(path.join(first, 'config.yaml'), t, t);
    };
    const listed = new RegExp(`^${EXPERIMENTS} experiment\\(s\\) in`, 'm');
    const bin = path.join(REPO, 'bin/expdesk.mjs');
    const naive = [path.join(REPO, 'bench/naive-listing.mjs'), ws];
    timed(naive, process.env, new RegExp(`^${EXPERIMENTS}$`, 'm')); // the page cache filled for all alike
    const floor: number[] = [];
    const cold: number[] = [];
    const warm: number[] = [];
    const changed: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      floor.push(timed(naive, process.env, new RegExp(`^${EXPERIMENTS}$`, 'm')));
      const env = { ...process.env, EXPDESK_CACHE_DIR: mkdtempSync(path.join(root, 'cache-')) };
      cold.push(timed([bin, 'list', ws], env, listed));
      warm.push(timed([bin, 'list', ws], env, listed));
      touch();
      changed.push(timed([bin, 'list', ws], env, listed));
    }
    const f = median(floor);
    const baseline = `naive floor (read + parse config.yaml, metadata.json, metrics.jsonl of each): ${f.toFixed(0)} ms`;
    return [
      {
        name: `\`expdesk list\`, ${EXPERIMENTS} experiments, cold (empty summary cache)`,
        figure: `${median(cold).toFixed(0)} ms`,
        baseline,
        ratio: median(cold) / f,
        target: 1,
      },
      {
        name: `\`expdesk list\`, ${EXPERIMENTS} experiments, warm (cache filled by the previous listing)`,
        figure: `${median(warm).toFixed(0)} ms`,
        baseline,
        ratio: median(warm) / f,
        target: 0.15,
      },
      {
        name: `\`expdesk list\`, ${EXPERIMENTS} experiments, warm, one experiment's config.yaml changed since`,
        figure: `${median(changed).toFixed(0)} ms`,
        baseline,
        ratio: median(changed) / f,
        target: null,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
