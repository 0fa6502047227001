/**
 * Benchmark: how fast the `expdesk` command starts, from its bundle (built
 * first, as `npm run build` does): `expdesk --version` and `expdesk list` of
 * the five seed-written fixtures, against `node -e 0`, run interleaved in the
 * same run so machine load hits all three alike. The target: 3×.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, type BenchResult } from './report';

const REPO = path.resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3) * 3;

function wallMs(args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

export async function benchCliStartup(): Promise<BenchResult[]> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-bench-cli-'));
  try {
    execFileSync(process.execPath, [path.join(REPO, 'scripts/build-cli.mjs')], { stdio: 'ignore' });
    execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), root], { stdio: 'ignore' });
    const bin = path.join(REPO, 'bin/expdesk.mjs');
    const env = { ...process.env, EXPDESK_CACHE_DIR: path.join(root, 'cache') };
    const cases = { node: ['-e', '0'], version: [bin, '--version'], list: [bin, 'list', root] };
    const times: Record<keyof typeof cases, number[]> = { node: [], version: [], list: [] };
    wallMs(cases.list, env); // the summary cache filled, as for a user's second listing
    for (let i = 0; i < RUNS; i++)
      for (const k of Object.keys(cases) as Array<keyof typeof cases>) times[k].push(wallMs(cases[k], env));
    const node = median(times.node);
    const baseline = `\`node -e 0\`: ${node.toFixed(0)} ms`;
    const row = (name: string, ms: number): BenchResult => ({
      name,
      figure: `${ms.toFixed(0)} ms`,
      baseline,
      ratio: ms / node,
      target: 3,
      targetText: 'within 3× `node -e 0`',
    });
    return [
      row('`expdesk --version` (bundle)', median(times.version)),
      row('`expdesk list` of 5 seed-written experiments (bundle, warm cache)', median(times.list)),
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
