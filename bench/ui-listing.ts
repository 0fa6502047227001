/**
 * Benchmark: the app's first rows of a 10,000-experiment workspace, warm —
 * `expdesk serve` restarted on a filled summary cache, in Chromium (Debian's,
 * through Playwright): navigation to the first row visible, against a static
 * page of the same 10,000 names in the same browser and run. Target (issue
 * 14, requirement 3): under 1 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from '@playwright/test';
import { median, report, type BenchResult } from './report';
import {
  CHROMIUM_ARGS,
  describeVisits,
  firstVisitOf,
  mediansOf,
  staticServer,
  staticTablePage,
  timeToFirstRow,
  writeWorkspace,
} from './ui-render';

const EXPERIMENTS = Number(process.env.BENCH_UI_LISTING_EXPERIMENTS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

export async function benchUiListing(): Promise<BenchResult[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'expdesk-bench-ui-listing-'));
  const ws = path.join(tmp, 'workspace');
  const cache = path.join(tmp, 'cache');
  let browser: Browser | null = null;
  try {
    process.stderr.write(`generating ${EXPERIMENTS.toLocaleString()} experiment folders…\n`);
    writeWorkspace(ws, EXPERIMENTS);
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 820 } });
    // The first visit fills the cache (the server writes it as it stops); then restarts on it.
    const cold = await firstVisitOf(page, ws, cache);
    const visits = [];
    for (let i = 0; i < RUNS; i++) visits.push(await firstVisitOf(page, ws, cache));
    const warm = mediansOf(
      visits.map((v) => v.time),
      visits.map((v) => v.split),
    );
    const baseline = await staticServer({ '/table': staticTablePage(EXPERIMENTS) });
    try {
      await timeToFirstRow(page, `${baseline.url}/table`, '.r'); // warm the browser alike
      const statics: number[] = [];
      for (let i = 0; i < RUNS; i++) statics.push(await timeToFirstRow(page, `${baseline.url}/table`, '.r'));
      const s = median(statics);
      return [
        {
          name: `experiment table, first rows, ${EXPERIMENTS.toLocaleString()} experiments, warm (\`expdesk serve\` restarted on a filled summary cache)`,
          figure: `${describeVisits(warm)} (empty cache: ${cold.time.toFixed(0)} ms)`,
          baseline: `static page of the same ${EXPERIMENTS.toLocaleString()} names: ${s.toFixed(0)} ms`,
          ratio: warm.time / s,
          target: 1000 / s,
          targetText: 'under 1 s',
        },
      ];
    } finally {
      await new Promise<void>((r) => baseline.server.close(() => r()));
    }
  } finally {
    await browser?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchUiListing());
}
