/**
 * Issue 12, requirements 5 and 6 in Chromium: 50 runs stay readable in
 * Compare (chips collapse into a list, 50 distinct colours, run-naming keys
 * hidden unless asked), parallel coordinates draw every run of the table and
 * brushing an axis filters the table (clearing it clears the filter), and
 * the Diff view of two checked runs shows a changed key and a changed package.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { startServe, type Served } from './helpers/serve';

const RUNS = 50;
const OPTIMIZERS = ['adam', 'sgd', 'lion'];

let root: string;
let served: Served;

const folder = (i: number): string => `exp${String(i).padStart(3, '0')}_dpo_lr${i}`;

function writeRun(i: number): void {
  const name = folder(i);
  const dir = path.join(root, 'experiments', name);
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  writeFileSync(
    path.join(dir, 'config.yaml'),
    [
      'experiment:',
      `  name: ${name}`,
      `  output_dir: experiments/${name}`,
      'algorithm:',
      '  name: dpo',
      'training:',
      `  lr: ${(i * 1e-4).toFixed(4)}`,
      `  seed: ${1000 + i}`,
      'optimizer:',
      `  name: ${OPTIMIZERS[i % OPTIMIZERS.length]}`,
      '',
    ].join('\n'),
  );
  const lines: string[] = [];
  for (let step = 1; step <= 5; step++)
    lines.push(JSON.stringify({ step, prefix: 'train', 'train/loss': 2 / step + i / 100 }));
  lines.push(JSON.stringify({ step: 5, prefix: 'eval', 'eval/loss': 1 + i / 50 }));
  writeFileSync(path.join(dir, 'logs', 'metrics.jsonl'), lines.join('\n') + '\n');
  writeFileSync(
    path.join(dir, 'metadata.json'),
    JSON.stringify({ name, git_hash: 'unknown', python_version: '3.11.8', torch_version: '2.2.0' }),
  );
  const numpy = i === 2 ? '2.0.1' : '1.26.4';
  writeFileSync(path.join(dir, 'requirements.txt'), `numpy==${numpy}\ntorch==2.2.0\n`);
}

test.beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-e2e-scale-'));
  for (let i = 1; i <= RUNS; i++) writeRun(i);
  served = await startServe(root, path.join(root, 'cache'));
});

test.afterAll(async () => {
  await served?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function openApp(page: Page): Promise<void> {
  await page.addInitScript(`(() => {
    const seen = [];
    globalThis.__csp = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(e.violatedDirective + ' ' + e.blockedURI));
  })()`);
  await page.goto(served.urlWithToken);
  await expect(page.getByTestId('shown-count')).toHaveText(String(RUNS));
}

async function noCspViolations(page: Page): Promise<void> {
  expect(await page.evaluate(() => (globalThis as unknown as { __csp: string[] }).__csp)).toEqual([]);
}

test('parallel coordinates draw every run of the table, and brushing an axis filters it', async ({
  page,
}) => {
  await openApp(page);
  await page.getByTestId('parcoords-toggle').click();
  const lines = page.getByTestId('parcoords-line');
  await expect(lines).toHaveCount(RUNS);
  const area = page.locator('[data-testid=parcoords-brush-area][data-axis="training.lr"]');
  await expect(area).toBeVisible();
  // Drag over the upper third of the learning-rate axis: the runs with the largest lr.
  const box = (await area.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 3, { steps: 5 });
  await page.mouse.up();
  const shown = page.getByTestId('shown-count');
  await expect(shown).toHaveText(/^\d+ of 50$/);
  const kept = Number((await shown.textContent())!.split(' ')[0]);
  expect(kept).toBeGreaterThan(0);
  expect(kept).toBeLessThan(RUNS);
  // The lines inside the brush are the rows the table keeps; the largest lr is among them, the smallest not.
  await expect(page.locator('[data-testid=parcoords-line][data-brushed=true]')).toHaveCount(kept);
  await expect(page.locator(`[data-testid=experiment-row][data-path$="/${folder(RUNS)}"]`)).toBeVisible();
  await expect(page.locator(`[data-testid=experiment-row][data-path$="/${folder(1)}"]`)).toHaveCount(0);

  await page.getByTestId('clear-brush').click();
  await expect(shown).toHaveText(String(RUNS));
  await expect(lines).toHaveCount(RUNS);
  await noCspViolations(page);
});

test('50 runs compared: chips collapse into a list, colours stay distinct, run-naming keys hidden', async ({
  page,
}) => {
  test.setTimeout(240_000); // 50 runs' charts and series on a shared 2-core machine
  await openApp(page);
  await page.getByRole('checkbox', { name: 'Check every shown experiment' }).check();
  await expect(page.getByTestId('checked-count')).toHaveText(`${RUNS} checked`);
  await page.keyboard.press('Escape'); // leave the checkbox: shortcuts are not taken from form fields
  await page.keyboard.press('c');
  const view = page.getByTestId('compare-view');
  await expect(view.getByRole('heading', { name: `Compare ${RUNS} experiments` })).toBeVisible();
  await expect(view.locator('.compare-head > .legend-chips > [data-testid=run-chip]')).toHaveCount(6);
  await expect(view.getByTestId('chips-more')).toHaveText(`+${RUNS - 6} more`);
  await view.getByTestId('chips-more').click();
  const listed = view.getByTestId('chip-list').getByTestId('run-chip');
  await expect(listed).toHaveCount(RUNS);
  // Each swatch's colour as set (the unit test measures how far apart the palette's colours are).
  const colours = await listed
    .locator('.swatch')
    .evaluateAll((els) => els.map((e) => e.getAttribute('style')));
  expect(new Set(colours).size).toBe(RUNS);
  await page.keyboard.press('Escape');

  const config = view.getByTestId('config-table');
  await expect(config.locator('[data-key="training.lr"]')).toBeVisible();
  await expect(config.locator('[data-key="experiment.name"]')).toHaveCount(0);
  await view.getByTestId('show-all-keys').click();
  await expect(config.locator('[data-key="experiment.name"]')).toBeVisible();
  // Parallel coordinates here too cover every run of the table.
  await expect(view.getByTestId('parcoords-line')).toHaveCount(RUNS);

  // The per-step series of every run, in long format.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    view.getByTestId('export-series-csv').click(),
  ]);
  const csv = readFileSync((await download.path())!, 'utf8')
    .trimEnd()
    .split('\r\n');
  expect(csv[0]).toBe('experiment,metric,step,value');
  expect(csv).toHaveLength(1 + RUNS * 6); // 5 train/loss and 1 eval/loss records each
  expect(csv).toContain(`${folder(3)},eval/loss,5,1.06`);
  await noCspViolations(page);
});

test('Diff of two checked runs: a changed config key and a changed package', async ({ page }) => {
  await openApp(page);
  for (const i of [1, 2])
    await page
      .locator(`[data-testid=experiment-row][data-path$="/${folder(i)}"]`)
      .getByTestId('row-check')
      .check();
  await page.keyboard.press('Escape'); // leave the checkbox: shortcuts are not taken from form fields
  await page.keyboard.press('d');
  const view = page.getByTestId('diff-view');
  const lr = view.locator('[data-testid=diff-config-row][data-key="training.lr"]');
  // Old → new, as the interface formats numbers.
  await expect(lr.locator('td')).toHaveText(['training.lr', '1e-4', '2e-4']);
  await expect(view.locator('[data-testid=diff-config-row][data-key="experiment.name"]')).toHaveCount(0);
  await expect(view.locator('[data-testid=diff-package][data-name="numpy"]')).toHaveText(
    '~ numpy 1.26.4 → 2.0.1',
  );
  await expect(view.getByTestId('diff-commits-unavailable')).toContainText('recorded no git commit');
  await view.getByTestId('diff-show-all-keys').click();
  await expect(view.locator('[data-testid=diff-config-row][data-key="experiment.name"]')).toContainText(
    folder(2),
  );
  await noCspViolations(page);
});
