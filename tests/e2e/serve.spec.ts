/**
 * The browser mode end to end: the real `expdesk serve` (node bin/expdesk.mjs)
 * over a workspace built in a temp folder, driven in Debian's Chromium.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { checkManifest, unpackBundle } from '../helpers/bundle-unpack';
import {
  assertRendererBuilt,
  FAILED_STEP,
  IMG_TEXT,
  makeWorkspaces,
  SCRIPT_TEXT,
  snap,
  startServe,
  TRACEBACK_LAST_LINE,
  type Served,
  type Workspaces,
} from './helpers/serve';

let ws: Workspaces;
let served: Served;

test.beforeAll(async () => {
  assertRendererBuilt();
  ws = makeWorkspaces();
  served = await startServe(ws.main, ws.cache);
});

test.afterAll(async () => {
  await served?.stop();
  ws?.cleanup();
});

const row = (page: Page, folder: string) =>
  page.locator(`[data-testid=experiment-row][data-path$="/${folder}"]`);

/** Open the printed URL, as a user pastes it, and wait for the table. */
async function openApp(page: Page, s: Served = served): Promise<void> {
  await page.goto(s.urlWithToken);
  await expect(page.getByTestId('experiment-table')).toBeVisible();
}

test('the page without the token is refused with 403', async ({ page, request }) => {
  const res = await request.get(served.url);
  expect(res.status()).toBe(403);
  expect(await res.text()).toMatch(/token/);
  const nav = await page.goto(served.url);
  expect(nav?.status()).toBe(403);
  await expect(page.locator('body')).toContainText('expdesk serve');
  expect(served.stdout()).toContain(`Expdesk is serving ${ws.main}`);
});

test('the table lists the workspace with each status; the token leaves the address bar', async ({
  page,
}, testInfo) => {
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  await openApp(page);
  expect(page.url()).not.toContain('token=');
  await expect(page.getByTestId('experiment-row')).toHaveCount(ws.fixtureCount);
  await expect(page.getByTestId('workspace-path')).toHaveText(ws.main);

  const failed = row(page, 'e2e_failed_run').getByTestId('status-badge');
  await expect(failed).toHaveText('failed');
  await expect(failed).toHaveAttribute('data-inferred', 'false');
  const completed = row(page, 'e2e_completed_run').getByTestId('status-badge');
  await expect(completed).toHaveText('completed?');
  await expect(completed).toHaveAttribute('title', /^inferred: /);
  await expect(completed).toHaveCSS('font-style', 'italic');
  await expect(row(page, 'e2e_completed_run')).toContainText('tiny-e2e');
  await expect(row(page, 'e2e_completed_run')).toContainText('eval/loss 0.41 · eval/accuracy 0.73');
  await expect(row(page, 'e2e_completed_run').getByTestId('cell-final-loss')).toHaveText('0.05');
  await snap(page, testInfo, 'table');
  expect(pageErrors).toEqual([]);
});

test('clicking a failed experiment shows where it failed and its traceback', async ({ page }, testInfo) => {
  await openApp(page);
  await row(page, 'e2e_failed_run').click();
  const detail = page.getByTestId('detail-panel');
  await expect(detail).toBeVisible();
  await expect(detail.getByTestId('detail-name')).toHaveText('e2e_failed_run');
  await expect(detail.getByTestId('failed-at')).toHaveText(`Failed at step ${FAILED_STEP}`);
  await expect(detail.getByTestId('traceback')).toContainText(TRACEBACK_LAST_LINE);
  await expect(row(page, 'e2e_failed_run')).toHaveAttribute('aria-selected', 'true');
  await detail.getByTestId('tab-config').click();
  await expect(detail.getByTestId('detail-config')).toContainText('name: ppo');
  await snap(page, testInfo, 'detail-failed');
});

test('the keyboard moves the selection and Enter opens the detail', async ({ page }) => {
  await openApp(page);
  await page.locator('body').click({ position: { x: 5, y: 400 } });
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const second = page.getByTestId('experiment-row').nth(1);
  await expect(second).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('Enter');
  const name = await second.getAttribute('data-name');
  await expect(page.getByTestId('detail-name')).toHaveText(name!);
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('detail-panel')).toHaveCount(0);
});

test('text from the folder containing <script> is shown as text, never run', async ({ page }, testInfo) => {
  await openApp(page);
  const r = row(page, 'e2e_untrusted_text');
  await expect(r.getByTestId('cell-alias')).toHaveText(SCRIPT_TEXT);
  await r.click();
  const detail = page.getByTestId('detail-panel');
  await expect(detail.getByTestId('detail-name')).toHaveText(SCRIPT_TEXT);
  await expect(detail.getByTestId('detail-metadata')).toContainText(SCRIPT_TEXT);
  await expect(detail.getByTestId('detail-metadata')).toContainText(IMG_TEXT);
  await detail.getByTestId('tab-config').click();
  await expect(detail.getByTestId('detail-config')).toContainText(IMG_TEXT);
  // Nothing was parsed as markup: no script or img element inside the app, and nothing ran.
  expect(await page.locator('#root script, #root img').count()).toBe(0);
  expect(await page.evaluate(() => (globalThis as Record<string, unknown>).__expdeskPwned)).toBeUndefined();
  await snap(page, testInfo, 'detail-untrusted-text');
});

test('opening another folder by path lists it (the drop-in equivalent)', async ({ page }, testInfo) => {
  // Its own server: opening a folder changes the host's workspace for every tab.
  const own = await startServe(ws.main, ws.cache);
  try {
    await openApp(page, own);
    await page.getByTestId('open-path-input').fill(ws.other);
    await page.getByTestId('open-path-button').click();
    await expect(page.getByTestId('workspace-path')).toHaveText(ws.other);
    await expect(page.getByTestId('experiment-row')).toHaveCount(1);
    await expect(row(page, 'e2e_other_folder_run')).toContainText('sft');
    await snap(page, testInfo, 'other-folder');

    // A folder that does not exist: a clear error, and the listing stays.
    await page.getByTestId('open-path-input').fill(`${ws.tmp}/does-not-exist`);
    await page.getByTestId('open-path-button').click();
    await expect(page.getByTestId('error-banner')).toContainText('does-not-exist');
    await expect(page.getByTestId('experiment-row')).toHaveCount(1);
    await snap(page, testInfo, 'open-error');
  } finally {
    await own.stop();
  }
});

test('an exported bundle is offered as a download, from the folder the form names', async ({ page }) => {
  // Its own server, with a home that has no Downloads folder: the form must say the bundle goes home.
  const home = path.join(ws.tmp, 'home-without-downloads');
  mkdirSync(home, { recursive: true });
  const own = await startServe(ws.main, ws.cache, { HOME: home });
  try {
    await openApp(page, own);
    await row(page, 'e2e_completed_run').click();
    await page.getByTestId('action-export').click();
    await expect(page.getByTestId('bundle-default')).toHaveText(
      `on the host; empty: ${home}/<run>-bundle.zip`,
    );
    await page.getByTestId('export-start').click();
    const written = path.join(home, 'e2e_completed_run-bundle.zip');
    await expect(page.getByTestId('toast').filter({ hasText: 'Bundle written' })).toContainText(written, {
      timeout: 60_000,
    });
    expect(existsSync(written)).toBe(true);

    // The page downloads it from the server (the token's cookie rides along).
    const link = page.getByTestId('bundle-download');
    await expect(link).toContainText('e2e_completed_run-bundle.zip');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('e2e_completed_run-bundle.zip');
    const saved = path.join(ws.tmp, 'downloaded.zip');
    await download.saveAs(saved);
    const bundle = await unpackBundle(saved, path.join(ws.tmp, 'downloaded'));
    expect(checkManifest(bundle)).toEqual(expect.arrayContaining(['config.yaml', 'logs/metrics.jsonl']));
    expect(readFileSync(saved).equals(readFileSync(written))).toBe(true);
  } finally {
    await own.stop();
  }
});
