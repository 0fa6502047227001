#!/usr/bin/env node
// `npm test`: the whole suite, as CI runs it. Static checks, the build the
// browser tests need, vitest (unit + integration), Playwright in Debian's
// Chromium against `expdesk serve`, and the Electron smoke test (which says
// plainly when it is skipped). Every step runs even when an earlier one
// failed, so one run shows everything that is wrong; the last line counts
// the tests as "N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';

const results = 'test-results';
mkdirSync(results, { recursive: true });
for (const f of ['vitest.json', 'e2e.json', 'electron.json']) rmSync(`${results}/${f}`, { force: true });

const steps = [
  ['typecheck', 'npm', ['run', '--silent', 'typecheck']],
  ['lint', 'npx', ['eslint', '.']],
  ['format', 'npx', ['prettier', '--check', '.']],
  ['build (app and CLI bundle)', 'npm', ['run', '--silent', 'build']],
  [
    'unit+integration (vitest)',
    'npx',
    ['vitest', 'run', '--reporter=default', `--reporter=json`, `--outputFile.json=${results}/vitest.json`],
  ],
  ['browser e2e (Playwright, Chromium)', 'npx', ['playwright', 'test']],
  ['Electron smoke (Playwright)', 'npx', ['playwright', 'test', '-c', 'playwright.electron.config.ts']],
];

const failedSteps = [];
for (const [name, cmd, args] of steps) {
  process.stdout.write(`\n▶ ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, {
    stdio: 'inherit',
    env: { ...process.env, FORCE_COLOR: process.env.CI ? '0' : '1' },
  });
  if (r.status !== 0) failedSteps.push(`${name} (exit ${r.status ?? r.signal})`);
}

function readJson(file) {
  try {
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
  } catch {
    return null;
  }
}

let passed = 0;
let failed = 0;
let skipped = 0;
const vitest = readJson(`${results}/vitest.json`);
if (vitest) {
  passed += vitest.numPassedTests ?? 0;
  failed += vitest.numFailedTests ?? 0;
  skipped += (vitest.numPendingTests ?? 0) + (vitest.numTodoTests ?? 0);
}
for (const file of [`${results}/e2e.json`, `${results}/electron.json`]) {
  const pw = readJson(file);
  if (!pw?.stats) continue;
  passed += (pw.stats.expected ?? 0) + (pw.stats.flaky ?? 0);
  failed += pw.stats.unexpected ?? 0;
  skipped += pw.stats.skipped ?? 0;
}

process.stdout.write('\n');
if (failedSteps.length) process.stdout.write(`failed steps: ${failedSteps.join('; ')}\n`);
if (failedSteps.length && failed === 0) failed = failedSteps.length; // a failed static check counts
process.stdout.write(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(failedSteps.length ? 1 : 0);
