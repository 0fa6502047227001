import { defineConfig } from '@playwright/test';

/**
 * The Electron smoke test (tests/electron), kept apart from the browser-mode
 * e2e suite: it drives the real Electron binary, one app at a time, and skips
 * itself where that binary is not installed. Run after `npx electron-vite build`:
 *   npx playwright test -c playwright.electron.config.ts
 */
export default defineConfig({
  testDir: 'tests/electron',
  testMatch: '**/*.spec.ts',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  reporter: [['list'], ['json', { outputFile: 'test-results/electron.json' }]],
  outputDir: 'test-results/electron',
  use: { trace: 'retain-on-failure' },
});
