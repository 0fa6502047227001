import { defineConfig } from '@playwright/test';

// Browser tests: Debian's Chromium against `expdesk serve` (tests/e2e). The
// renderer must be built first (`npm run build`; `npm test` does it).
// `npx playwright install` cannot download browsers here, hence executablePath.
export default defineConfig({
  testDir: 'tests/e2e',
  outputDir: 'test-results/e2e-artifacts',
  // Generous: the suite runs on 2-core machines that are busy with other work; a
  // view that takes 10 s there is slow, not broken, and must not fail the run.
  timeout: 90_000,
  expect: { timeout: 20_000 },
  workers: 2,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e.json' }]],
  use: {
    browserName: 'chromium',
    viewport: { width: 1400, height: 820 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
