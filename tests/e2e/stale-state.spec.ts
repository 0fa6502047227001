/**
 * No stale state, in Chromium against the real `expdesk serve` (issue 16):
 * each workspace keeps its own table filter, so a run just launched is never
 * hidden by the filter of the workspace seen before; stopping a run raises
 * exactly one toast (the stop's answer and the run's status events tell the
 * same event). Its own server: opening a folder changes the host's workspace.
 */
import { expect, test, type Page } from '@playwright/test';
import { serveLaunchable, type LaunchableServed } from './helpers/serve';

test.describe.configure({ mode: 'serial' });

let launchable: LaunchableServed;

test.beforeAll(async () => {
  // 0.1 s a step: the run launched here is still running when it is stopped.
  launchable = await serveLaunchable();
});

test.afterAll(async () => {
  await launchable?.stop();
});

/** Every toast the page ever showed, recorded as it appears (toasts go away on their own). */
async function openRecordingToasts(page: Page): Promise<void> {
  await page.addInitScript(`(() => {
    const seen = [];
    globalThis.__toasts = seen;
    new MutationObserver((records) => {
      for (const r of records)
        for (const n of r.addedNodes)
          if (n instanceof Element && n.matches('[data-testid=toast]')) seen.push(n.textContent);
    }).observe(document, { subtree: true, childList: true });
  })()`);
  await page.goto(launchable.served.urlWithToken);
  await expect(page.getByTestId('experiment-table')).toBeVisible();
}

const toastsShown = (page: Page): Promise<string[]> =>
  page.evaluate(() => (globalThis as unknown as { __toasts: string[] }).__toasts);

async function openFolder(page: Page, folder: string): Promise<void> {
  await page.getByTestId('open-path-input').fill(folder);
  await page.getByTestId('open-path-button').click();
  await expect(page.getByTestId('workspace-path')).toHaveText(folder);
}

test('each workspace keeps its own filter; a launched run shows; stopping it raises one toast', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await openRecordingToasts(page);
  const filter = page.getByTestId('filter-input');
  const rows = page.getByTestId('experiment-row');

  await filter.fill('status:failed');
  await expect(rows).toHaveCount(2); // the demo's failed run and the fixture's

  // Another workspace: none of that filter; its own, once set, comes back with it.
  await openFolder(page, launchable.ws.other);
  await expect(filter).toHaveValue('');
  await expect(rows).toHaveCount(1);
  await filter.fill('nothing-matches-this');
  await expect(rows).toHaveCount(0);

  await openFolder(page, launchable.ws.main);
  await expect(filter).toHaveValue('status:failed');
  await expect(rows).toHaveCount(2);
  await filter.fill('');
  await openFolder(page, launchable.ws.other);
  await expect(filter).toHaveValue('nothing-matches-this');
  await openFolder(page, launchable.ws.main);
  await expect(filter).toHaveValue('');

  // Launch from this workspace: the new run is in the table, not hidden by the other's filter.
  await page.locator('body').press('n');
  await page.getByTestId('config-file').filter({ hasText: 'base.yaml' }).first().click();
  await page.getByTestId('add-override').click();
  await page.getByTestId('override-key').fill('training.max_steps');
  await page.getByTestId('override-value').fill('3000');
  await expect(page.getByTestId('override-diff')).toContainText('3000');
  await page.getByTestId('launch-button').click();
  const detail = page.getByTestId('detail-panel');
  await expect(detail).toBeVisible({ timeout: 60_000 });
  const name = (await detail.getByTestId('detail-name').textContent())!;
  const launched = page.locator(`[data-testid=experiment-row][data-name="${name}"]`);
  await expect(launched).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('log-terminal')).toContainText('step 10/3000', { timeout: 60_000 });

  // Stop it: one toast, whichever of the answer and the status events tells it first.
  page.once('dialog', (d) => void d.accept());
  await detail.getByTestId('action-stop').click();
  await expect(detail.getByTestId('status-badge').first()).toHaveAttribute('data-state', 'stopped', {
    timeout: 60_000,
  });
  await expect(detail.getByTestId('action-stop')).toHaveCount(0);
  await expect(launched.getByTestId('status-badge')).toHaveText('stopped', { timeout: 30_000 });
  const stopToasts = (await toastsShown(page)).filter((t) => /stopped/i.test(t));
  expect(stopToasts).toHaveLength(1);
});
