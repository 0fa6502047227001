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
import { makeLaunchable, REPO, snap, startServe, type Served } from './helpers/serve';

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
  // The remote folder is also a project (the demo's configs and train.py, in git): launchable from the page.
  writeFileSync(path.join(root, '.gitignore'), 'experiments/\n');
  makeLaunchable(root);
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
  // The page says what to do in the page, not with a command-line flag.
  await expect(page.locator('body')).not.toContainText('--accept-new-host-key');
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

test('the config editor and launch work on the remote project; the run is watched to its end', async ({
  page,
}, testInfo) => {
  test.setTimeout(120_000);
  await page.goto(served.urlWithToken);
  await expect(page.getByTestId('experiment-row')).toHaveCount(5, { timeout: 20_000 });
  await page.locator('body').press('n');
  await page.getByTestId('config-file').filter({ hasText: 'dpo_beta0.05.yaml' }).click();
  const editor = page.getByTestId('config-editor');
  await expect(editor).toContainText('beta: 0.05');
  // The remote config is composed with its remote defaults: the preview and name follow.
  await expect(page.getByTestId('name-preview')).toContainText('expNNN_dpo_tiny-llama-1m_beta0.05_');

  // A resolution error while typing, marked at its line of the remote file.
  await editor.locator('.cm-content').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('\nnote: ${training.nope}\n');
  const problem = page.getByTestId('problem-item').first();
  await expect(problem).toContainText('training.nope', { timeout: 20_000 });
  await expect(problem).toContainText('configs/dpo_beta0.05.yaml:');
  await page.keyboard.press('Control+z');
  await page.keyboard.press('Control+z');
  await page.keyboard.press('Control+z');
  await expect(page.getByTestId('unsaved')).toHaveCount(0);
  await expect(page.getByTestId('config-problems')).toContainText('Composes without error', {
    timeout: 20_000,
  });

  await page.getByTestId('add-override').click();
  await page.getByTestId('override-key').fill('training.max_steps');
  await page.getByTestId('override-value').fill('40');
  await page.getByTestId('launch-command').fill('python3 train.py {config} --step-delay 0.05');
  await snap(page, testInfo, 'remote-launch');
  await page.getByTestId('launch-button').click();

  const detail = page.getByTestId('detail-panel');
  await expect(detail).toBeVisible({ timeout: 30_000 });
  const name = (await detail.getByTestId('detail-name').textContent())!;
  expect(name).toMatch(/^exp006_dpo_tiny-llama-1m_beta0\.05_/);
  await expect(page.getByTestId('log-terminal')).toContainText('step 10/40', { timeout: 30_000 });
  await expect(detail.getByTestId('status-badge').first()).toHaveAttribute('data-state', 'completed', {
    timeout: 60_000,
  });
  // The project ignores experiments/: the capture is still complete, with no warning about it.
  await expect(detail).not.toContainText('could not be fully recorded');
  await snap(page, testInfo, 'remote-finished');
  // The run lives on the remote, in the remote project's experiments/.
  const meta = JSON.parse(readFileSync(path.join(root, 'experiments', name, 'metadata.json'), 'utf8')) as {
    config_source: string;
  };
  expect(meta.config_source).toBe(path.join(root, 'configs', 'dpo_beta0.05.yaml'));
});
