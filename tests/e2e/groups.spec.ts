/**
 * Groups in the interface (issue 12), in Chromium against the real `expdesk
 * serve`: two settings × three seeds, grouped in one click ("everything but
 * the seed"): header rows with n = 3 and mean ± std of the final loss,
 * remembered after a reload; compared, each group is drawn as its mean with
 * a filled band (±std, or min–max), and a note says where steps differed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { metricsLines, writeExperiment } from '../helpers/experiments';
import { assertRendererBuilt, snap, startServe, type Served } from './helpers/serve';

let tmp: string;
let served: Served;

/** Final train/loss of each run: beta 0.1 → 0.5, 0.7, 0.6 (mean 0.6 ± 0.1); beta 0.5 → 0.9, 1.1, 1.0 (1 ± 0.1). */
const RUNS = [
  { beta: 0.1, seed: 1, final: 0.5 },
  { beta: 0.1, seed: 2, final: 0.7 },
  { beta: 0.1, seed: 3, final: 0.6 },
  { beta: 0.5, seed: 1, final: 0.9 },
  { beta: 0.5, seed: 2, final: 1.1 },
  { beta: 0.5, seed: 3, final: 1.0 },
];

test.beforeAll(() => {
  assertRendererBuilt();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'expdesk-e2e-groups-'));
  RUNS.forEach((r, i) => {
    const name = `exp00${i + 1}_dpo_tiny_beta${r.beta}_seed${r.seed}`;
    // The last run logs every 5 steps, the others every 10: its group's steps differ.
    const every = i === 5 ? 5 : 10;
    const records: Record<string, unknown>[] = [];
    for (let step = every; step <= 100; step += every)
      records.push({
        step,
        prefix: 'train',
        timestamp: '2024-01-15T14:30:05',
        'train/loss': r.final + (100 - step) / 100,
      });
    records.push({
      step: 100,
      prefix: 'eval',
      timestamp: '2024-01-15T14:31:05',
      'eval/accuracy': r.final / 2,
    });
    writeExperiment(path.join(tmp, 'project', 'experiments', name), {
      config:
        `algorithm:\n  name: dpo\ndpo:\n  beta: ${r.beta}\nexperiment:\n  name: ${name}\n` +
        `  output_dir: experiments/${name}\ntraining:\n  lr: 0.001\n  seed: ${r.seed}\n`,
      metrics: metricsLines(records),
      final: true,
    });
  });
});

test.beforeAll(async () => {
  served = await startServe(path.join(tmp, 'project'), path.join(tmp, 'cache'), {
    EXPDESK_STATE_DIR: path.join(tmp, 'state'),
  });
});

test.afterAll(async () => {
  await served?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function openApp(page: Page): Promise<void> {
  await page.goto(served.urlWithToken);
  await expect(page.getByTestId('experiment-row')).toHaveCount(6);
}

/** Filled polygons (band traces) plotly holds for a chart, and their y values. */
async function bands(page: Page, title: string): Promise<number[][]> {
  return page
    .locator(`[data-testid=compare-chart][data-title="${title}"] .chart-plot`)
    .evaluate((el) =>
      ((el as unknown as { data?: Array<{ fill?: string; y: number[] }> }).data ?? [])
        .filter((t) => t.fill === 'toself')
        .map((t) => [...t.y]),
    );
}

test('groups runs by everything but the seed, with n and mean ± std, remembered', async ({
  page,
}, testInfo) => {
  test.setTimeout(300_000); // generous: the machine is shared
  await openApp(page);
  await page.getByTestId('group-by').click();
  await page.getByTestId('group-but-seed').click();
  const groups = page.getByTestId('group-row');
  await expect(groups).toHaveCount(2);
  await expect(groups.nth(0)).toHaveAttribute('data-group', 'dpo.beta=0.1');
  await expect(groups.nth(0).getByTestId('group-n')).toHaveText('n=3');
  await expect(groups.nth(0).getByTestId('group-final-loss')).toHaveText('0.6 ± 0.1');
  await expect(groups.nth(1)).toHaveAttribute('data-group', 'dpo.beta=0.5');
  await expect(groups.nth(1).getByTestId('group-n')).toHaveText('n=3');
  await expect(groups.nth(1).getByTestId('group-final-loss')).toHaveText('1 ± 0.1');
  await expect(groups.nth(0).getByTestId('group-final-eval')).toHaveText('eval/accuracy 0.3 ± 0.05');
  await snap(page, testInfo, 'grouped-table');

  // A click on a header collapses its runs.
  await groups.nth(0).locator('.group-label').click();
  await expect(page.getByTestId('experiment-row')).toHaveCount(3);
  await groups.nth(0).locator('.group-label').click();
  await expect(page.getByTestId('experiment-row')).toHaveCount(6);

  // Remembered for this workspace.
  await page.reload();
  await expect(page.getByTestId('group-row')).toHaveCount(2);
  await expect(page.getByTestId('group-by')).toContainText('dpo.beta');
});

test('compared groups are drawn as their mean with a band, ±std or min–max', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await openApp(page);
  await page.getByTestId('group-by').click();
  await page.locator('[data-testid=group-key][data-key="dpo.beta"]').check();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('group-row')).toHaveCount(2);
  await page.getByTestId('group-check').nth(0).check();
  await page.getByTestId('group-check').nth(1).check();
  await page.getByTestId('compare-button').click();
  await expect(page.getByTestId('group-charts-note')).toContainText('2 groups');

  const chart = page.locator('[data-testid=compare-chart][data-title="train/loss"]');
  await chart.scrollIntoViewIfNeeded();
  await expect.poll(() => bands(page, 'train/loss').then((b) => b.length), { timeout: 60_000 }).toBe(2);
  await expect(chart.locator('.chart-note')).toHaveText('steps differ: interpolated');
  // At step 100 the ±std band of beta 0.1 spans 0.6 ± 0.1.
  const std = await bands(page, 'train/loss');
  expect(Math.min(...std[0]!)).toBeCloseTo(0.5, 6);
  // eval/accuracy is logged once: each group is a dot with its ±std as an error bar (0.3 ± 0.05 for beta 0.1).
  const dots = await page
    .locator('[data-testid=compare-chart][data-title="eval/accuracy"] .chart-plot')
    .evaluate((el) =>
      ((el as unknown as { data?: Array<{ y: number[]; error_y?: { array: number[] } }> }).data ?? [])
        .filter((t) => t.error_y)
        .map((t) => [t.y[0], t.error_y!.array[0]]),
    );
  expect(dots).toHaveLength(2);
  expect(dots[0]![0]).toBeCloseTo(0.3, 6);
  expect(dots[0]![1]).toBeCloseTo(0.05, 6);
  await snap(page, testInfo, 'group-bands');

  await page.getByTestId('band-minmax').click();
  // min–max of beta 0.5 at step 100: 0.9 … 1.1; over all steps its top is step 10’s highest loss (1.1 + 0.9).
  await expect
    .poll(async () => Math.max(...((await bands(page, 'train/loss'))[1] ?? [0])), { timeout: 60_000 })
    .toBeCloseTo(1.1 + 0.9, 6);
});
