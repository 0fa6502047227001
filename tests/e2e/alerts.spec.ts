/**
 * Issue 13 in the browser: the Metrics tab's System section draws the run
 * wrapper's logs/system.jsonl (two GPUs) beside the training metrics, and an
 * alert (a watched run that fails) becomes the page's desktop notification,
 * which opens the run when clicked. The notifications permission is granted
 * to the page; the page's Notification is recorded as it is created.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { openMetricsTab, startServe, type Served } from './helpers/serve';

let root: string;
let served: Served;
let running: string;

function experiment(name: string, status: Record<string, unknown>): string {
  const exp = path.join(root, 'experiments', name);
  mkdirSync(path.join(exp, 'logs'), { recursive: true });
  writeFileSync(path.join(exp, 'config.yaml'), `experiment:\n  name: ${name}\nalgorithm:\n  name: dpo\n`);
  const metrics: string[] = [];
  const system: string[] = [];
  for (let step = 1; step <= 20; step++) {
    const timestamp = `2026-01-01T00:00:${String(step).padStart(2, '0')}`;
    metrics.push(JSON.stringify({ step, prefix: 'train', timestamp, 'train/loss': 1 / step }));
    system.push(
      JSON.stringify({
        step,
        prefix: 'system',
        timestamp,
        'system/cpu_percent': 50 + step,
        'system/gpu0/util_percent': 80 + (step % 5),
        'system/gpu0/mem_used_mb': 30000 + step,
        'system/gpu1/util_percent': 10,
        'system/gpu1/mem_used_mb': 1024,
      }),
    );
  }
  writeFileSync(path.join(exp, 'logs', 'metrics.jsonl'), metrics.join('\n') + '\n');
  writeFileSync(path.join(exp, 'logs', 'system.jsonl'), system.join('\n') + '\n');
  writeFileSync(
    path.join(exp, 'expdesk_status.json'),
    JSON.stringify({ schema: 'expdesk.status/1', ...status }),
  );
  return exp;
}

test.beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-e2e-alerts-'));
  const done = experiment('exp001_done', {
    state: 'completed',
    ended_at: '2026-01-01T00:01:00',
    exit_code: 0,
  });
  // A multi-node job's other node: one GPU, no CPU samples.
  writeFileSync(
    path.join(done, 'logs', 'system-node2.jsonl'),
    [1, 2, 3]
      .map((step) => JSON.stringify({ step, prefix: 'system', 'system/gpu0/util_percent': 5 * step }))
      .join('\n') + '\n',
  );
  // Running in a live process (this test's) on this host.
  running = experiment('exp002_live', { state: 'running', pid: process.pid, hostname: os.hostname() });
  served = await startServe(root, path.join(root, 'cache'), { EXPDESK_STATE_DIR: path.join(root, 'state') });
});

test.afterAll(async () => {
  await served?.stop();
  rmSync(root, { recursive: true, force: true });
});

test('the Metrics tab has a System section with GPU charts on the step axis', async ({ page }) => {
  await page.goto(served.urlWithToken);
  await openMetricsTab(page, 'exp001_done');
  const section = page.getByTestId('system-section');
  await expect(section).toBeVisible({ timeout: 60_000 });
  await expect(section.locator('h3')).toContainText('System');
  const gpu = section.locator('[data-testid=system-chart][data-title="GPU utilisation (%)"] .chart-plot');
  // Charts draw once scrolled into view.
  await gpu.scrollIntoViewIfNeeded();
  await expect(gpu).toHaveAttribute('data-plotted', /^[1-9]/, { timeout: 30_000 });
  // Both GPUs in one chart, and the training metric above it on the same page.
  await expect(gpu.locator('.scatterlayer .trace')).toHaveCount(2);
  await expect(section.locator('[data-testid=system-chart][data-title="CPU (%)"]')).toBeVisible();
  await expect(page.locator('[data-testid=metric-chart][data-title="train/loss"]')).toBeVisible();
});

test('a multi-node job has one set per node: the Node list shows another node’s samples', async ({
  page,
}) => {
  await page.goto(served.urlWithToken);
  await openMetricsTab(page, 'exp001_done');
  const section = page.getByTestId('system-section');
  const pick = section.getByTestId('system-node');
  await expect(pick).toBeVisible({ timeout: 60_000 });
  const gpu = section.locator('[data-testid=system-chart][data-title="GPU utilisation (%)"] .chart-plot');
  // Charts draw once scrolled into view; the charts above may still push it down meanwhile.
  await expect(async () => {
    await gpu.scrollIntoViewIfNeeded({ timeout: 2_000 });
    await expect(gpu).toHaveAttribute('data-plotted', /^[1-9]/, { timeout: 2_000 });
  }).toPass({ timeout: 90_000 });
  await expect(gpu.locator('.scatterlayer .trace')).toHaveCount(2);
  await pick.selectOption('node2');
  // node2's file: one GPU's utilisation only.
  await expect(gpu.locator('.scatterlayer .trace')).toHaveCount(1, { timeout: 30_000 });
  await expect(section.locator('[data-testid=system-chart][data-title="CPU (%)"]')).toHaveCount(0);
  await pick.selectOption('');
  await expect(section.locator('[data-testid=system-chart][data-title="CPU (%)"]')).toBeVisible();
});

test('a run that fails raises a desktop notification that opens the run', async ({ page, context }) => {
  await context.grantPermissions(['notifications'], { origin: served.url });
  // Record each page Notification as it is created (a string: this file is typed for Node, not the DOM).
  await page.addInitScript(`(() => {
    const Real = window.Notification;
    const shown = [];
    globalThis.__notes = shown;
    class Recorded extends Real {
      constructor(title, options) {
        super(title, options);
        shown.push({ title, body: (options && options.body) || '', n: this });
      }
    }
    Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
    window.Notification = Recorded;
  })()`);
  await page.goto(served.urlWithToken);
  await expect(page.locator('[data-testid=experiment-row][data-path$="/exp002_live"]')).toBeVisible();
  // The run ends as its wrapper records it.
  writeFileSync(
    path.join(running, 'FAILED.txt'),
    'Failed at step 20\nTraceback (most recent call last):\nboom\n',
  );
  const status = path.join(running, 'expdesk_status.json');
  writeFileSync(
    `${status}.tmp`,
    JSON.stringify({
      schema: 'expdesk.status/1',
      state: 'failed',
      exit_code: 1,
      ended_at: '2026-01-01T00:02:00',
    }),
  );
  renameSync(`${status}.tmp`, status);
  const notes = (): Promise<Array<{ title: string; body: string }>> =>
    page.evaluate(() =>
      (globalThis as unknown as { __notes: Array<{ title: string; body: string }> }).__notes.map((n) => ({
        title: n.title,
        body: n.body,
      })),
    );
  await expect
    .poll(notes, { timeout: 60_000 })
    .toEqual([{ title: 'Run failed', body: 'exp002_live: failed at step 20' }]);
  // Clicked: the run opens.
  await page.evaluate(() => {
    const n = (globalThis as unknown as { __notes: Array<{ n: { onclick: ((e: unknown) => void) | null } }> })
      .__notes[0]!.n;
    n.onclick?.({ type: 'click' });
  });
  await expect(page.getByTestId('detail-name')).toHaveText('exp002_live');
});
