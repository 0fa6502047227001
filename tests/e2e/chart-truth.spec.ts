/**
 * Issue 12, requirement 3: charts that tell the truth. A run whose learning
 * rate is a constant 0.005 (plotly's autorange drew it on −1…1, where it read
 * as 0), a loss with +Inf and NaN among its values, and a metric that is NaN
 * throughout; a second run, named alike, for the compare view's legend. What
 * plotly drew is read from the chart element (plotly keeps `data` and
 * `_fullLayout` on it).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { startServe, type Served } from './helpers/serve';

const RUN_A = 'exp001_dpo_tiny-gpt2_lr1e-05_beta0.1_seed1_1201';
const RUN_B = 'exp002_dpo_tiny-gpt2_lr5e-05_beta0.1_seed1_1201';
const STEPS = 200;

let root: string;
let served: Served;

/** Records as Python's json.dumps writes them: NaN and Infinity raw. */
function metricsFile(withNonFinite: boolean): string {
  const lines: string[] = [];
  for (let step = 1; step <= STEPS; step++) {
    const ts = new Date(Date.UTC(2025, 11, 1, 12, 0, 0) + step * 2000).toISOString().replace('Z', '');
    const loss =
      withNonFinite && step === 120
        ? 'Infinity'
        : withNonFinite && step === 150
          ? 'NaN'
          : String(2 / Math.sqrt(step) + (step % 7) * 0.01);
    const nan = withNonFinite ? ', "train/grad_norm": NaN' : ', "train/grad_norm": 1.5';
    lines.push(
      `{"step": ${step}, "prefix": "train", "timestamp": "${ts}", "train/loss": ${loss}, "train/lr": 0.005${nan}}`,
    );
  }
  return lines.join('\n') + '\n';
}

function experiment(name: string, withNonFinite: boolean): void {
  const dir = path.join(root, 'experiments', name);
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  writeFileSync(path.join(dir, 'config.yaml'), `experiment:\n  name: ${name}\nalgorithm:\n  name: dpo\n`);
  writeFileSync(path.join(dir, 'logs', 'metrics.jsonl'), metricsFile(withNonFinite));
}

// Many steps, each waiting for a redraw on a shared 2-core machine: generous, never timed.
test.describe.configure({ timeout: 300_000 });

test.beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-e2e-truth-'));
  experiment(RUN_A, true);
  experiment(RUN_B, false);
  served = await startServe(root, path.join(root, 'cache'));
});

test.afterAll(async () => {
  await served?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

interface Drawn {
  yRange: [number, number];
  yType: string;
  xTitle: string;
  showLegend: boolean;
  traces: Array<{
    name: string;
    x: number[];
    y: (number | null)[];
    text?: string[];
    opacity?: number;
    yaxis?: string;
  }>;
}

/** What plotly drew in a chart. */
function drawn(chart: Locator): Promise<Drawn> {
  return chart.locator('.chart-plot').evaluate((el) => {
    const gd = el as unknown as {
      data: Drawn['traces'];
      _fullLayout: {
        yaxis: { range: [number, number]; type: string };
        xaxis: { title?: { text?: string } };
        showlegend: boolean;
      };
    };
    return {
      yRange: gd._fullLayout.yaxis.range,
      yType: gd._fullLayout.yaxis.type,
      xTitle: gd._fullLayout.xaxis.title?.text ?? '',
      showLegend: gd._fullLayout.showlegend,
      traces: gd.data.map((t) => ({
        name: t.name,
        x: t.x,
        y: t.y,
        text: t.text,
        opacity: t.opacity,
        yaxis: t.yaxis,
      })),
    };
  });
}

const chartOf = (page: Page, title: string, testId = 'metric-chart'): Locator =>
  page.locator(`[data-testid=${testId}][data-title="${title}"]`);

const lines = (d: Drawn): Drawn['traces'] => d.traces.filter((t) => t.yaxis !== 'y2');

test('a run with a constant lr, ±Inf and NaN in its loss, and an all-NaN metric', async ({ page }) => {
  await page.goto(served.urlWithToken);
  await page.locator(`[data-testid=experiment-row][data-path$="/${RUN_A}"]`).click();
  await page.getByTestId('tab-metrics').click();
  const lr = chartOf(page, 'train/lr');
  const loss = chartOf(page, 'train/loss');
  const gradNorm = chartOf(page, 'train/grad_norm');
  for (const c of [lr, loss, gradNorm])
    await expect(c.locator('.chart-plot')).toHaveAttribute('data-plotted', /^[1-9]/, { timeout: 60_000 });

  // The constant learning rate is drawn at its value: 0.005 inside the axis, 0 below it.
  const lrDrawn = await drawn(lr);
  expect(lrDrawn.yRange[0]).toBeGreaterThan(0);
  expect(lrDrawn.yRange[0]).toBeLessThan(0.005);
  expect(lrDrawn.yRange[1]).toBeGreaterThan(0.005);

  // +Inf and NaN are marked as what they are, at the plot's edges.
  const lossDrawn = await drawn(loss);
  const marks = lossDrawn.traces.find((t) => t.yaxis === 'y2');
  expect(marks?.text).toEqual(['+Inf', 'NaN']);
  expect(marks?.x).toEqual([120, 150]);
  expect(marks?.y).toEqual([1, 0]);
  await expect(loss.locator('.chart-note')).toContainText('1 NaN, 1 +Inf');

  // A metric that is NaN throughout says so in words.
  await expect(gradNorm.getByTestId('chart-nonfinite')).toHaveText(
    'No finite value: all 200 values are non-finite (200 NaN).',
  );
  await expect(loss.getByTestId('chart-nonfinite')).toHaveCount(0);

  // Smoothing: the host's smoothed curve over the faint raw one.
  await page.getByTestId('smoothing').fill('0.9');
  await expect.poll(async () => lines(await drawn(loss)).length).toBe(2);
  const [raw, smooth] = lines(await drawn(loss));
  expect(raw!.opacity).toBeLessThan(1);
  expect(smooth!.y).not.toEqual(raw!.y);
  expect(smooth!.y[0]).toBeCloseTo(raw!.y[0]!, 9); // debiased: starts at the first value
  // A window mean instead.
  await page.getByTestId('smoothing-kind').selectOption('mean');
  await page.getByTestId('smoothing-window').fill('5');
  await expect.poll(async () => lines(await drawn(loss))[1]?.name).toBe('train/loss');
  await expect
    .poll(async () => {
      const [r, m] = lines(await drawn(loss));
      return m!.y[4]! - (r!.y[0]! + r!.y[1]! + r!.y[2]! + r!.y[3]! + r!.y[4]!) / 5;
    })
    .toBeCloseTo(0, 9);

  // Log y.
  await page.getByTestId('log-y').check();
  await expect.poll(async () => (await drawn(loss)).yType).toBe('log');
  await page.getByTestId('log-y').uncheck();

  // x axes: relative time (s since the first record) and another metric.
  await page.getByTestId('x-relative').click();
  await expect.poll(async () => (await drawn(loss)).xTitle).toBe('time since start (s)');

  await expect.poll(async () => lines(await drawn(loss))[0]!.x.at(-1)).toBe((STEPS - 1) * 2);
  expect(lines(await drawn(loss))[0]!.x[0]).toBe(0);
  await page.getByTestId('x-metric').selectOption('train/lr');
  await expect.poll(async () => [...new Set(lines(await drawn(loss))[0]!.x)]).toEqual([0.005]);
  expect((await drawn(loss)).xTitle).toBe('train/lr');
  await page.getByTestId('x-step').click();
  await expect.poll(async () => lines(await drawn(loss))[0]!.x.at(-1)).toBe(STEPS);

  // Smoothing, log scale and "ignore outliers" are remembered: a reload draws the same way.
  await page.getByTestId('log-y').check();
  await page.getByTestId('ignore-outliers').check();
  await page.reload();
  await page.locator(`[data-testid=experiment-row][data-path$="/${RUN_A}"]`).click();
  await page.getByTestId('tab-metrics').click();
  await expect(page.getByTestId('smoothing-kind')).toHaveValue('mean');
  await expect(page.getByTestId('smoothing-window')).toHaveValue('5');
  await expect(page.getByTestId('log-y')).toBeChecked();
  await expect(page.getByTestId('ignore-outliers')).toBeChecked();
  await expect.poll(async () => (await drawn(loss)).yType, { timeout: 60_000 }).toBe('log');
  await expect.poll(async () => lines(await drawn(loss)).length).toBe(2);
});

test('compare: a legend names each run, long names cut in the middle where they differ', async ({ page }) => {
  await page.goto(served.urlWithToken);
  for (const name of [RUN_A, RUN_B])
    await page
      .locator(`[data-testid=experiment-row][data-path$="/${name}"]`)
      .getByTestId('row-check')
      .check();
  await page.getByTestId('compare-button').click();
  const chart = chartOf(page, 'train/loss', 'compare-chart');
  await chart.scrollIntoViewIfNeeded();
  await expect(chart.locator('.chart-plot')).toHaveAttribute('data-plotted', /^[1-9]/, { timeout: 60_000 });
  const d = await drawn(chart);
  expect(d.showLegend).toBe(true);
  const names = lines(d).map((t) => t.name);
  expect(names).toHaveLength(2);
  expect(names[0]).toContain('…');
  expect(names[0]).toContain('lr1e');
  expect(names[1]).toContain('lr5e');
  const legend = chart.locator('.legend .traces');
  await expect(legend).toHaveCount(2);
  await expect(legend.first()).toContainText('lr1e');
});
