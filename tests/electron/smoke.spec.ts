/**
 * Smoke test of the packaged shape of the app: the real Electron binary runs
 * out/main/index.js, the window loads expdesk://app/ through the sandboxed
 * preload, and the demo workspace's experiments show in the table. Skipped,
 * saying so, where the Electron binary is not installed.
 */
import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';
import { findElectronBinary } from '../../scripts/electron-binary.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'out', 'main', 'index.js');
const DEMO_EXPERIMENTS = path.join(ROOT, 'resources', 'demo', 'experiments');
const electronPackageDir = path.dirname(createRequire(import.meta.url).resolve('electron/package.json'));
const binary = findElectronBinary(electronPackageDir);

const SKIP_MESSAGE = `Electron smoke test skipped: the Electron binary is not installed on this machine (${binary.path}: ${binary.reason})`;

test.skip(!binary.available, SKIP_MESSAGE);
if (!binary.available && !process.env.TEST_WORKER_INDEX) {
  // The list reporter shows a skipped test without its reason; say it plainly once.
  process.stdout.write(`${SKIP_MESSAGE}\n`);
}

test.describe('Electron app', () => {
  let app: ElectronApplication;
  let page: Page;
  let profile: string;

  test.beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx electron-vite build\` first`);
    profile = mkdtempSync(path.join(os.tmpdir(), 'expdesk-electron-'));
    app = await electron.launch({
      executablePath: binary.path,
      // Chromium refuses to run as root with its OS sandbox (containers, CI); the
      // renderer stays sandboxed by webPreferences either way.
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), MAIN],
      cwd: ROOT,
      env: {
        ...process.env,
        EXPDESK_USER_DATA_DIR: path.join(profile, 'user-data'),
        EXPDESK_CACHE_DIR: path.join(profile, 'cache'),
      } as Record<string, string>,
    });
    page = await app.firstWindow();
  });

  test.afterAll(async () => {
    await app?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test('loads the renderer from expdesk://app/ and lists the demo workspace', async () => {
    await expect(page).toHaveURL(/^expdesk:\/\/app\//);
    await expect(page.getByTestId('experiment-table')).toBeVisible();
    const names = readdirSync(DEMO_EXPERIMENTS).sort();
    expect(names.length).toBeGreaterThan(0);
    await expect(page.getByText(names[0]!, { exact: false }).first()).toBeVisible();
  });

  test('the page has window.expdesk and no Node', async () => {
    const shape = await page.evaluate(() => {
      const g = globalThis as unknown as Record<string, unknown>;
      const api = g.expdesk as Record<string, unknown> | undefined;
      return {
        keys: api ? Object.keys(api).sort() : null,
        require: typeof g.require,
        process: typeof g.process,
      };
    });
    expect(shape).toEqual({
      keys: ['invoke', 'on', 'pathForFile'],
      require: 'undefined',
      process: 'undefined',
    });
  });

  test('requests answer results, and errors keep their code across the bridge', async () => {
    const outcome = await page.evaluate(async () => {
      type Api = { invoke(n: string, p: unknown): Promise<unknown> };
      const api = (globalThis as unknown as { expdesk: Api }).expdesk;
      const info = (await api.invoke('app.info', {})) as { mode: string };
      const failure = await api.invoke('experiment.get', {}).then(
        () => null,
        (e: { message: string; code?: string }) => ({ message: e.message, code: e.code ?? null }),
      );
      return { mode: info.mode, failure };
    });
    expect(outcome.mode).toBe('electron');
    expect(outcome.failure).toMatchObject({ code: 'bad-request' });
  });

  test('navigation away from the app and window.open are refused', async () => {
    const before = page.url();
    await page.evaluate(() => {
      // This file is type-checked without the DOM library; the callback runs in the page.
      const w = globalThis as unknown as {
        open(url: string, target: string): unknown;
        location: { href: string };
      };
      w.open('https://example.com/', '_blank');
      w.location.href = 'file:///etc/passwd';
    });
    await page.waitForTimeout(500);
    expect(page.url()).toBe(before);
    expect(app.windows()).toHaveLength(1);
  });
});
