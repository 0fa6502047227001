/**
 * Metric names and run names reach plotly as plain text (issue 15, the
 * smaller findings): a metric named with <b>, <br> and <img> shows those
 * characters in its hover label instead of bold text, a line break, or an
 * image that vanishes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { startServe, type Served } from './helpers/serve';

const METRIC = 'train/<b>bold</b><br>next<img src=x>';

let root: string;
let served: Served;

test.beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-e2e-plotly-'));
  const exp = path.join(root, 'experiments', 'exp001_dpo');
  mkdirSync(path.join(exp, 'logs'), { recursive: true });
  writeFileSync(path.join(exp, 'config.yaml'), 'experiment:\n  name: exp001_dpo\nalgorithm:\n  name: dpo\n');
  const lines = [];
  for (let step = 1; step <= 20; step++)
    lines.push(JSON.stringify({ step, prefix: 'train', timestamp: step, [METRIC]: 1 / step }));
  writeFileSync(path.join(exp, 'logs', 'metrics.jsonl'), lines.join('\n') + '\n');
  served = await startServe(root, path.join(root, 'cache'));
});

test.afterAll(async () => {
  await served?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('a metric named with markup shows it literally in the hover label', async ({ page }) => {
  await page.goto(served.urlWithToken);
  await page.locator('[data-testid=experiment-row][data-path$="/exp001_dpo"]').click();
  await page.getByTestId('tab-metrics').click();
  const chart = page.locator(`[data-testid=metric-chart][data-title="${METRIC}"] .chart-plot`);
  await expect(chart).toHaveAttribute('data-plotted', /^[1-9]/, { timeout: 30_000 });
  const drag = chart.locator('.nsewdrag').first();
  const box = await drag.boundingBox();
  expect(box).not.toBeNull();
  await expect(async () => {
    await page.mouse.move(box!.x + box!.width * 0.3, box!.y + box!.height / 2);
    await page.mouse.move(box!.x + box!.width / 2, box!.y + box!.height / 2);
    await expect(chart.locator('.hoverlayer')).toContainText(METRIC, { timeout: 2_000 });
  }).toPass({ timeout: 20_000 });
  // No element made of the name's tags: no <img>, no bold tspan.
  await expect(chart.locator('.hoverlayer image, .hoverlayer img')).toHaveCount(0);
});
