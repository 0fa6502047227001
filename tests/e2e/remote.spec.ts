/**
 * A remote workspace in the interface, against a real OpenSSH server on
 * 127.0.0.1 (generated keys) holding folders written by the seed's code,
 * reached through a fault-injecting TCP proxy: `expdesk serve` opened on
 * ssh://…, driven in Debian's Chromium. The host is unknown at first (its
 * fingerprint is shown and trusted from the page); then the user lists,
 * opens and charts remote experiments, and sees a dropped link retried.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { FaultProxy } from '../helpers/fault-proxy';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { REPO, snap, startServe, type Served } from './helpers/serve';

test.describe.configure({ mode: 'serial' });

let sshd: TestSshd;
let proxy: FaultProxy;
let root: string;
let cache: string;
let knownHosts: string;
let served: Served;

test.beforeAll(async () => {
  sshd = await startSshd();
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-e2e-remote-'));
  cache = mkdtempSync(path.join(os.tmpdir(), 'expdesk-e2e-remote-cache-'));
  execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), root], { stdio: 'ignore' });
  proxy = new FaultProxy(sshd.port, { latencyMs: 5 });
  await proxy.listen();
  // The host has never been seen: the page must show its fingerprint before anything connects.
  knownHosts = path.join(cache, 'known_hosts');
  writeFileSync(knownHosts, '');
  served = await startServe(sshd.url(root, proxy.port), cache, {
    ...sshd.env,
    EXPDESK_KNOWN_HOSTS: knownHosts,
  });
});

test.afterAll(async () => {
  await served?.stop();
  await proxy?.close();
  await sshd?.stop();
  for (const d of [root, cache]) if (d) rmSync(d, { recursive: true, force: true });
});

const row = (page: Page, folder: string): Locator =>
  page.locator(`[data-testid=experiment-row][data-path$="/${folder}"]`);

/** The SHA256 fingerprint of the server's host key, as `ssh-keygen -l` prints it. */
function fingerprint(): string {
  const pub = path.join(sshd.dir, 'host_key.pub');
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pub], { encoding: 'utf8' }).split(' ')[1]!;
}

test('an unknown host shows its fingerprint; trusting it lists the remote experiments', async ({
  page,
}, testInfo) => {
  await page.goto(served.urlWithToken);
  const dialog = page.getByTestId('hostkey-dialog');
  await expect(dialog).toBeVisible({ timeout: 20_000 });
  await expect(dialog).toContainText(fingerprint());
  await snap(page, testInfo, 'remote-hostkey');
  expect(readFileSync(knownHosts, 'utf8')).toBe('');

  await page.getByTestId('trust-host').click();
  await expect(row(page, 'exp001_dpo_llama-7b_beta0.1_0115_1430')).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId('experiment-row')).toHaveCount(5);
  // Hyperparameter columns are filled from the remote configs ('…' while they load).
  await expect(row(page, 'exp001_dpo_llama-7b_beta0.1_0115_1430')).not.toContainText('…', {
    timeout: 20_000,
  });
  // The host's chip fits in the bar beside everything else.
  await expect(page.getByTestId('help-button')).toBeInViewport({ ratio: 1 });
  await page.getByTestId('nav-experiments').click({ trial: true }); // not covered by the workspace button
  await expect(page.getByTestId('remote-indicator').locator('[data-state]')).toHaveAttribute(
    'data-state',
    'connected',
  );
  // Recorded like OpenSSH would: the key under the proxy's [host]:port.
  expect(readFileSync(knownHosts, 'utf8')).toContain(`[127.0.0.1]:${proxy.port} ssh-ed25519 `);
  await snap(page, testInfo, 'remote-table');
});

test('a remote experiment opens: overview, log and metric charts', async ({ page }, testInfo) => {
  await page.goto(served.urlWithToken);
  await row(page, 'exp001_dpo_llama-7b_beta0.1_0115_1430').click();
  const detail = page.getByTestId('detail-panel');
  await expect(detail).toContainText('exp001_dpo_llama-7b_beta0.1_0115_1430');

  await page.locator('body').press('3');
  await expect(page.getByTestId('log-terminal')).toContainText('Training complete', { timeout: 20_000 });

  await page.locator('body').click({ position: { x: 200, y: 600 } });
  await page.locator('body').press('4');
  const loss = page.locator('[data-testid=metric-chart][data-title="train/loss"] .chart-plot');
  await expect(loss).toHaveAttribute('data-plotted', /^[1-9]/, { timeout: 20_000 });
  await snap(page, testInfo, 'remote-metrics');
});

test('a dropped link is shown while it is retried, and the workspace comes back', async ({
  page,
}, testInfo) => {
  await page.goto(served.urlWithToken);
  await expect(page.getByTestId('experiment-row')).toHaveCount(5, { timeout: 20_000 });
  const chip = page.getByTestId('remote-indicator').locator('[data-state]');
  await expect(chip).toHaveAttribute('data-state', 'connected');

  // The link goes down and stays down for a while.
  proxy.refuse = true;
  proxy.cut();
  await page.getByTestId('refresh-button').click();
  await expect(chip).toHaveAttribute('data-state', /reconnecting|connecting/, { timeout: 20_000 });
  await snap(page, testInfo, 'remote-reconnecting');

  proxy.refuse = false;
  await expect(chip).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await page.getByTestId('refresh-button').click();
  await expect(page.getByTestId('experiment-row')).toHaveCount(5);
});
