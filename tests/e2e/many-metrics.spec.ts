/**
 * Issue 16, requirement 3: a run with 5,000 metrics. Opening its Metrics tab
 * took the renderer to 100% CPU and 2.9 GB, unresponsive for minutes. Now the
 * tab asks for the key list, draws only the charts on screen and offers a
 * search over metric names. The time to the first chart is recorded as an
 * annotation (its figure against a 1-metric run is in `npm run bench
 * ui-render`); the assertions are conditions, not timings.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { startServe, type Served } from './helpers/serve';

const METRICS = 5_000;
const STEPS = 20;

let root: string;
let served: Served;

/** A metrics.jsonl with `metrics` keys (train/m0000 …), `STEPS` records. */
function manyMetricsFile(metrics: number, steps: number): string {
  const lines: string[] = [];
  for (let step = 1; step <= steps; step++) {
    const rec: Record<string, number | string> = { step, prefix: 'train' };
    for (let i = 0; i < metrics; i++)
      rec[`train/m${String(i).padStart(4, '0')}`] = Math.sin(step + i) + i / 1000;
    lines.push(JSON.stringify(rec));
  }
  return lines.join('\n') + '\n';
}

test.beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-e2e-many-'));
  const exp = path.join(root, 'experiments', 'exp001_many');
  mkdirSync(path.join(exp, 'logs'), { recursive: true });
  writeFileSync(path.join(exp, 'config.yaml'), 'experiment:\n  name: exp001_many\nalgorithm:\n  name: dpo\n');
  writeFileSync(path.join(exp, 'logs', 'metrics.jsonl'), manyMetricsFile(METRICS, STEPS));
  served = await startServe(root, path.join(root, 'cache'));
});

test.afterAll(async () => {
  await served?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('a run with 5,000 metrics: first charts drawn, only those on screen, and a search over names', async ({
  page,
}, testInfo) => {
  // Generous: under `npm run test:load` with other work beside it, each step took seconds (one run: 91 s in all).
  test.setTimeout(300_000);
  await page.goto(served.urlWithToken);
  await page.locator('[data-testid=experiment-row][data-path$="/exp001_many"]').click();
  const started = Date.now();
  await page.getByTestId('tab-metrics').click();
  const plotted = page.locator('[data-testid=metric-chart] .chart-plot[data-plotted]');
  await expect(plotted.first()).toHaveAttribute('data-plotted', String(STEPS), { timeout: 60_000 });
  const firstChartMs = Date.now() - started;
  testInfo.annotations.push({ type: 'first chart of 5,000 metrics (ms)', description: String(firstChartMs) });
  await expect(page.getByTestId('metrics-count')).toHaveText('5,000 metrics');

  // Only the rows near the screen exist, and only slots on screen hold a chart.
  expect(await page.locator('.chart-slot').count()).toBeLessThan(60);
  const charts = await page.getByTestId('metric-chart').count();
  expect(charts).toBeGreaterThan(0);
  expect(charts).toBeLessThan(60);

  // The page answers while it holds them: the search box types and narrows at once.
  const search = page.getByTestId('metrics-search');
  await search.fill('m4321');
  await expect(page.getByTestId('metrics-count')).toHaveText('1 of 5,000 metrics');
  await expect(page.locator('.chart-slot')).toHaveCount(1);
  const only = page.locator('[data-testid=metric-chart][data-title="train/m4321"] .chart-plot');
  await expect(only).toHaveAttribute('data-plotted', String(STEPS));

  // Scrolling far down draws the charts arriving on screen.
  await search.fill('');
  await expect(page.getByTestId('metrics-count')).toHaveText('5,000 metrics');
  await page
    .getByTestId('metrics-view')
    .locator('.metrics-scroll')
    .evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
  const last = page.locator('[data-testid=metric-chart][data-title="train/m4999"] .chart-plot');
  await expect(last).toHaveAttribute('data-plotted', String(STEPS), { timeout: 60_000 });
  expect(await page.locator('.chart-slot').count()).toBeLessThan(60);
  expect(await page.getByTestId('metric-chart').count()).toBeLessThan(60);
});
