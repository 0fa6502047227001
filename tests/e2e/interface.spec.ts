/**
 * The interface end to end, as a researcher uses it: the real `expdesk serve`
 * over a project the test builds (the demo's configs and train.py in a git
 * repository, the demo's finished runs), driven in Debian's Chromium. Runs
 * are launched from the UI and live in a private tmux server. Each main view
 * is kept as a screenshot in test-results/screenshots/.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { snap, type LaunchableServed, type Served, type Workspaces, serveLaunchable } from './helpers/serve';

test.describe.configure({ mode: 'serial' });

let ws: Workspaces;
let served: Served;
let launchable: LaunchableServed;

test.beforeAll(async () => {
  // 0.1 s per simulated step: a 600-step run lasts ~60 s, long enough to watch it grow.
  launchable = await serveLaunchable();
  ({ ws, served } = launchable);
});

test.afterEach(async ({ page }) => {
  const violations = await page.evaluate(() => (globalThis as unknown as { __csp?: string[] }).__csp ?? []);
  expect(violations, 'Content-Security-Policy violations').toEqual([]);
});

test.afterAll(async () => {
  await launchable?.stop();
});

const row = (page: Page, folder: string): Locator =>
  page.locator(`[data-testid=experiment-row][data-path$="/${folder}"]`);

async function openApp(page: Page): Promise<void> {
  // Record any Content-Security-Policy violation: every view must work under the strict policy.
  await page.addInitScript(`(() => {
    const seen = [];
    globalThis.__csp = seen;
    document.addEventListener('securitypolicyviolation', (e) =>
      seen.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));
  })()`);
  await page.goto(served.urlWithToken);
  await expect(page.getByTestId('experiment-table')).toBeVisible();
}

/** Number of points plotted in the named chart (the chart marks it when plotly's draw finished). */
async function plottedPoints(page: Page, title: string): Promise<number> {
  const plot = page.locator(`[data-testid=metric-chart][data-title="${title}"] .chart-plot`);
  return Number((await plot.getAttribute('data-plotted')) ?? 0);
}

test('open an experiment: overview, config, log, metrics and outputs', async ({ page }, testInfo) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await openApp(page);
  const failed = row(page, 'exp004_dpo_tiny-llama-1m_beta0.1_1124_1145');
  await failed.click();
  const detail = page.getByTestId('detail-panel');
  await expect(detail.getByTestId('failed-at')).toHaveText('Failed at step 137');
  await expect(detail.getByTestId('traceback')).toContainText('RuntimeError: simulated failure at step 137');
  await expect(detail.getByTestId('detail-environment')).toContainText('python version');
  await snap(page, testInfo, 'view-overview');

  // Tabs by number keys, as the shortcuts say.
  await page.locator('body').press('2');
  await expect(page.getByTestId('config-viewer')).toContainText('beta: 0.1');
  await snap(page, testInfo, 'view-config');

  await page.locator('body').press('3');
  await expect(page.getByTestId('log-terminal')).toContainText('Training failed at step 137', {
    timeout: 15_000,
  });
  await page.getByTestId('log-search').fill('loss spike');
  await page.getByTestId('log-search').press('Enter');
  await expect(page.getByTestId('log-search-count')).toHaveText('1/1');
  await snap(page, testInfo, 'view-log');

  await page.locator('body').click({ position: { x: 200, y: 600 } });
  await page.locator('body').press('4');
  const loss = page.locator('[data-testid=metric-chart][data-title="train/loss"] .chart-plot');
  await expect(loss).toHaveAttribute('data-plotted', /^[1-9]/, { timeout: 20_000 });
  await expect(page.locator('[data-testid=metric-group][data-group=eval]')).toBeVisible();
  await snap(page, testInfo, 'view-metrics');
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect(loss).toHaveAttribute('data-plotted', /^[1-9]/);
  await page.waitForTimeout(500); // the charts redraw in the new colours
  await snap(page, testInfo, 'view-metrics-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  await page.getByTestId('tab-outputs').click();
  await expect(page.getByTestId('eval-table')).toContainText('eval/accuracy');
  await snap(page, testInfo, 'view-outputs');
  expect(errors).toEqual([]);
});

test('the table filters by text, status and config value, and shows the shortcuts', async ({
  page,
}, testInfo) => {
  await openApp(page);
  await page.locator('body').press('/');
  await expect(page.getByTestId('filter-input')).toBeFocused();
  await page.getByTestId('filter-input').fill('dpo.beta=0.05');
  await expect(page.getByTestId('experiment-row')).toHaveCount(1);
  await expect(page.getByTestId('experiment-row').first()).toHaveAttribute('data-name', /beta0\.05/);
  await page.getByTestId('filter-input').fill('status:failed');
  await expect(page.getByTestId('experiment-row')).toHaveCount(2); // the demo's and the fixture's
  await page.getByTestId('filter-input').fill('');
  await page.getByTestId('col-steps').click();
  await expect(page.getByTestId('col-steps')).toHaveAttribute('aria-sort', 'ascending');
  await page.getByTestId('filter-input').press('Escape');
  await page.locator('body').press('?');
  await expect(page.getByTestId('shortcuts-dialog')).toBeVisible();
  await snap(page, testInfo, 'view-shortcuts');
  await page.locator('body').press('Escape');
  await expect(page.getByTestId('shortcuts-dialog')).toHaveCount(0);
});

test('compare two runs: the differing key is highlighted; CSV export', async ({ page }, testInfo) => {
  await openApp(page);
  await row(page, 'exp001_dpo_tiny-llama-1m_beta0.1_1124_0930').getByTestId('row-check').check();
  await row(page, 'exp002_dpo_tiny-llama-1m_beta0.05_1124_1015').getByTestId('row-check').check();
  const tableRows = Number((await page.getByTestId('shown-count').textContent())!.split(' ')[0]);
  await page.getByTestId('compare-button').click();
  const view = page.getByTestId('compare-view');
  const beta = view.locator('[data-testid=config-table] [data-testid=diff-row][data-key="dpo.beta"]');
  await expect(beta).toBeVisible();
  await expect(beta.getByTestId('changed-cell')).toHaveText('0.05');
  // Equal keys are hidden until asked for.
  const same = view.locator('[data-testid=config-table] [data-testid=diff-row][data-key="model.name"]');
  await expect(same).toHaveCount(0);
  await view.getByTestId('hide-equal').uncheck();
  await expect(same).toBeVisible();
  await view.getByTestId('hide-equal').check();
  // Charts draw when they scroll into view.
  await view.getByTestId('compare-chart').first().scrollIntoViewIfNeeded();
  await expect(view.getByTestId('compare-chart').first().locator('.chart-plot')).toHaveAttribute(
    'data-plotted',
    /^[1-9]/,
    { timeout: 20_000 },
  );
  // Parallel coordinates draw every run of the table, the two compared in their colours.
  await expect(view.getByTestId('parcoords-line')).toHaveCount(tableRows);
  await snap(page, testInfo, 'view-compare');

  // Two runs with different seeds and betas: a reproduction check says where they part.
  await view.getByTestId('verify-button').click();
  await expect(view.getByTestId('verify-result')).toHaveAttribute('data-verdict', 'diverged');
  await expect(view.getByTestId('first-divergence')).toContainText('step');
  await view.getByTestId('verify').scrollIntoViewIfNeeded();
  await snap(page, testInfo, 'view-compare-verify');
  await view.getByTestId('parcoords').scrollIntoViewIfNeeded();
  await expect(view.getByTestId('compare-chart').last().locator('.chart-plot')).toHaveAttribute(
    'data-plotted',
    /^[1-9]/,
  );
  await snap(page, testInfo, 'view-compare-parcoords');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    view.getByTestId('export-csv').click(),
  ]);
  const csv = readFileSync((await download.path())!, 'utf8');
  expect(csv).toMatch(/^section,key,exp001_/);
  expect(csv).toContain('config,dpo.beta,0.1,0.05');
});

test('a config with an error is marked at its line, live and after saving', async ({ page }, testInfo) => {
  await openApp(page);
  await page.getByTestId('nav-launch').click();
  await page.getByTestId('config-file').filter({ hasText: 'dpo_beta0.05.yaml' }).click();
  const editor = page.getByTestId('config-editor');
  await expect(editor).toContainText('beta: 0.05');
  // It pulls in base.yaml: its changes from the base are the two keys it sets.
  await expect(page.getByTestId('base-diff').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('base-diff')).toContainText('dpo.beta');
  // The document as its lines (innerText of CodeMirror's content adds blank lines of its own).
  const docLines = (): Promise<string[]> => editor.locator('.cm-line').allTextContents();
  const original = (await docLines()).join('\n');

  // A YAML syntax error, marked while typing: an unclosed flow list on line 2.
  await editor.locator('.cm-line').nth(1).click();
  await page.keyboard.press('End');
  await page.keyboard.type(', [oops');
  await expect(page.getByTestId('unsaved')).toBeVisible();
  await expect(editor.locator('.cm-lintRange-error').first()).toBeVisible();
  await expect(page.getByTestId('problem-item').first()).toContainText('dpo_beta0.05.yaml:2');
  await snap(page, testInfo, 'view-editor-error');

  // Undo it; a resolution error instead, found by the core while typing (the
  // unsaved text is composed): a key interpolating a missing one.
  await page.keyboard.press('Control+z');
  await page.keyboard.press('Control+z');
  await page.keyboard.press('Control+End');
  await page.keyboard.type('\nnote: ${training.nope}\n');
  const problem = page.getByTestId('problem-item').first();
  await expect(problem).toContainText('training.nope');
  await expect(page.getByTestId('unsaved')).toBeVisible();
  const errorLine = (await docLines()).findIndex((l) => l.includes('${training.nope}')) + 1;
  expect(errorLine).toBeGreaterThan(1);
  await expect(problem).toContainText(`dpo_beta0.05.yaml:${errorLine}`);
  await expect(editor.locator('.cm-lintRange-error').first()).toContainText('note');
  // Saved, the core still finds it at the same line.
  await page.keyboard.press('Control+s');
  await expect(page.getByTestId('unsaved')).toHaveCount(0);
  // The saved edit makes the tree dirty: the launch form says what uncommitted.patch will hold.
  const gitState = page.getByTestId('git-state');
  await expect(gitState).toHaveAttribute('data-state', 'dirty');
  await expect(gitState).toContainText('1 uncommitted change');
  await expect(gitState).toContainText('configs/dpo_beta0.05.yaml');
  await expect(problem).toContainText(`dpo_beta0.05.yaml:${errorLine}`);
  await expect(editor.locator('.cm-lintRange-error').first()).toContainText('note');

  // Put the file back as it was: the next test launches from this project.
  await editor.locator('.cm-content').click();
  await page.keyboard.press('Control+a');
  await page.keyboard.insertText(original);
  await page.getByTestId('save-config').click();
  await expect(page.getByTestId('config-problems')).toContainText('Composes without error');
  await expect(gitState).toHaveAttribute('data-state', 'clean');
});

test('launch a run, watch its log and chart grow, and see it finish', async ({ page }, testInfo) => {
  // 600 steps of 0.1 s: long enough to be seen growing on a loaded machine, where the start, the
  // log's first lines and the first chart may each take many seconds (300 steps were outrun there).
  test.setTimeout(300_000);
  await openApp(page);
  await page.locator('body').press('n');
  await page.getByTestId('config-file').filter({ hasText: 'base.yaml' }).first().click();
  await expect(page.getByTestId('name-preview')).toContainText('expNNN_dpo_tiny-llama-1m_beta0.1_');
  // base.yaml has no `defaults:`: no "Changes from base" (not every key listed as new), its resolved config.
  await expect(page.getByTestId('frozen-config')).toContainText('max_steps: 200');
  await expect(page.getByTestId('base-tab')).toHaveCount(0);
  await expect(page.getByTestId('base-diff')).toHaveCount(0);
  await page.getByTestId('add-override').click();
  await page.getByTestId('override-key').fill('training.max_steps');
  await page.getByTestId('override-value').fill('600');
  // The overrides' changes, in their own tab: the one key, from 200 to 300.
  const overrideDiff = page.getByTestId('override-diff');
  await expect(overrideDiff.locator('tbody tr')).toHaveCount(1);
  await expect(overrideDiff).toContainText('training.max_steps');
  await expect(overrideDiff.locator('tbody tr td').nth(1)).toHaveText('200');
  await expect(overrideDiff.locator('tbody tr td').nth(2)).toHaveText('600');
  await expect(page.getByTestId('base-tab')).toHaveCount(0);
  await snap(page, testInfo, 'view-launch');
  await page.getByTestId('launch-button').click();

  // The live monitor of the new run: its log first.
  const detail = page.getByTestId('detail-panel');
  await expect(detail).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('tab-log')).toHaveAttribute('aria-selected', 'true');
  const name = (await detail.getByTestId('detail-name').textContent())!;
  expect(name).toMatch(/^exp005_dpo_tiny-llama-1m_beta0\.1_/);
  const term = page.getByTestId('log-terminal');
  await expect(term).toContainText('step 10/600', { timeout: 60_000 });
  await expect(term).toContainText('step 30/600', { timeout: 60_000 });
  await snap(page, testInfo, 'view-live-log');

  // Its chart grows while it runs.
  await page.getByTestId('tab-metrics').click();
  await expect.poll(() => plottedPoints(page, 'train/loss'), { timeout: 60_000 }).toBeGreaterThan(0);
  const first = await plottedPoints(page, 'train/loss');
  await expect.poll(() => plottedPoints(page, 'train/loss'), { timeout: 60_000 }).toBeGreaterThan(first);
  await snap(page, testInfo, 'view-live-metrics');

  // It finishes: the status turns completed, in the detail and in the table.
  await expect(detail.getByTestId('status-badge').first()).toHaveAttribute('data-state', 'completed', {
    timeout: 180_000,
  });
  // Every record reached the chart (600 points, drawn min/max per pixel bucket).
  await expect(page.locator('[data-testid=metric-chart][data-title="train/loss"] .chart-note')).toContainText(
    '600 pts',
    { timeout: 30_000 },
  );
  await expect(
    page.locator(`[data-testid=experiment-row][data-name="${name}"] [data-testid=status-badge]`),
  ).toHaveText('completed');
  await page.getByTestId('tab-overview').click();
  await expect(page.getByTestId('detail-git')).not.toContainText('unknown');
  await snap(page, testInfo, 'view-finished');

  // Export a bundle of it, with progress, to a file the test chooses.
  await page.getByTestId('action-export').click();
  await page.getByPlaceholder('/path/to/bundle.zip or .tar.gz').fill(`${ws.tmp}/run-bundle.zip`);
  await page.getByTestId('export-start').click();
  await expect(page.getByTestId('toast').filter({ hasText: 'Bundle written' })).toContainText(
    `${ws.tmp}/run-bundle.zip`,
    { timeout: 60_000 },
  );
});
