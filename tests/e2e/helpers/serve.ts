/**
 * Start the real `expdesk serve` (node bin/expdesk.mjs serve) as a user
 * would, and build the workspaces the browser tests open.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page, TestInfo } from '@playwright/test';
import { privateTmux } from '../../helpers/tmux';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(REPO, 'bin', 'expdesk.mjs');
const RENDERER_INDEX = path.join(REPO, 'out', 'renderer', 'index.html');

/** The browser tests test the built renderer; say how to build it instead of failing obscurely. */
export function assertRendererBuilt(): void {
  if (!existsSync(RENDERER_INDEX)) {
    throw new Error(
      `${path.relative(REPO, RENDERER_INDEX)} is missing: build the renderer first with \`npm run build\` ` +
        '(`npm test` does it before the browser tests)',
    );
  }
}

export interface Served {
  /** http://127.0.0.1:PORT/ */
  url: string;
  /** The line `expdesk serve` printed for the user to open. */
  urlWithToken: string;
  stdout(): string;
  stop(): Promise<void>;
}

export async function startServe(
  workspace: string,
  cacheDir: string,
  env: Record<string, string> = {},
): Promise<Served> {
  assertRendererBuilt();
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, 'serve', '--workspace', workspace, '--port', '0'],
    {
      cwd: REPO,
      env: { ...process.env, EXPDESK_CACHE_DIR: cacheDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const urlWithToken = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`expdesk serve printed no URL within 30 s.\nstdout:\n${out}\nstderr:\n${err}`));
    }, 30_000);
    const poll = setInterval(() => {
      // The URL is on a line of its own.
      const m = /^(http:\/\/\S+\/\?token=[0-9a-f]+)$/m.exec(out);
      if (m) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(m[1]!);
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(
        new Error(
          `expdesk serve exited (${code}) before printing its URL.\nstdout:\n${out}\nstderr:\n${err}`,
        ),
      );
    });
  });

  return {
    url: urlWithToken.replace(/\?token=.*$/, ''),
    urlWithToken,
    stdout: () => out,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A failed experiment whose step and traceback the tests assert. */
export const FAILED_STEP = 7;
export const TRACEBACK_LAST_LINE = 'RuntimeError: CUDA out of memory (e2e fixture)';
/** Text from an untrusted folder that must be shown as text, never run. */
export const SCRIPT_TEXT = '<script>window.__expdeskPwned = 1</script>';
export const IMG_TEXT = '<img src=x onerror="window.__expdeskPwned = 2">';

function metrics(steps: number, loss: (s: number) => number): string {
  const lines: string[] = [];
  for (let s = 1; s <= steps; s++) {
    lines.push(
      JSON.stringify({ step: s, prefix: 'train', timestamp: '2024-01-01T00:00:00', 'train/loss': loss(s) }),
    );
  }
  lines.push(
    JSON.stringify({
      step: steps,
      prefix: 'eval',
      timestamp: '2024-01-01T00:01:00',
      'eval/loss': 0.41,
      'eval/accuracy': 0.73,
    }),
  );
  return lines.join('\n') + '\n';
}

function experiment(dir: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
}

/**
 * Make `dir` a project a run can be launched in, as a user's would be: the
 * demo's configs/ and train.py in a git repository with one commit (so the
 * tree is clean and runs record a real hash).
 */
export function makeLaunchable(dir: string): void {
  const demo = path.join(REPO, 'resources', 'demo');
  cpSync(path.join(demo, 'configs'), path.join(dir, 'configs'), { recursive: true });
  cpSync(path.join(demo, 'train.py'), path.join(dir, 'train.py'));
  const git = (...args: string[]): void => {
    execFileSync('git', args, {
      cwd: dir,
      stdio: 'ignore',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Expdesk e2e',
        GIT_AUTHOR_EMAIL: 'e2e@expdesk.invalid',
        GIT_COMMITTER_NAME: 'Expdesk e2e',
        GIT_COMMITTER_EMAIL: 'e2e@expdesk.invalid',
      },
    });
  };
  git('init', '-q');
  git('add', '-A');
  git('commit', '-q', '-m', 'e2e project');
}

export interface Workspaces {
  tmp: string;
  /** A project root: the demo's experiments (when shipped) plus three fixtures. */
  main: string;
  /** Another folder with one experiment, for "open folder by path". */
  other: string;
  cache: string;
  fixtureCount: number;
  cleanup(): void;
}

export function makeWorkspaces(): Workspaces {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'expdesk-e2e-'));
  const main = path.join(tmp, 'project');
  const exps = path.join(main, 'experiments');
  mkdirSync(exps, { recursive: true });
  let demoCount = 0;
  const demo = path.join(REPO, 'resources', 'demo', 'experiments');
  if (existsSync(demo)) {
    cpSync(demo, exps, { recursive: true });
    demoCount = listDirs(exps);
  }
  experiment(path.join(exps, 'e2e_completed_run'), {
    'config.yaml': 'experiment: {name: e2e_completed_run}\nalgorithm: {name: dpo}\nmodel: {name: tiny-e2e}\n',
    'logs/metrics.jsonl': metrics(20, (s) => 1 / s),
    'checkpoints/final/model.bin': 'x',
  });
  experiment(path.join(exps, 'e2e_failed_run'), {
    'config.yaml': 'experiment: {name: e2e_failed_run}\nalgorithm: {name: ppo}\n',
    'logs/metrics.jsonl': metrics(FAILED_STEP - 1, () => 0.5),
    'FAILED.txt': `Failed at step ${FAILED_STEP}\nTraceback (most recent call last):\n  File "train.py", line 10, in <module>\n    main()\n${TRACEBACK_LAST_LINE}\n`,
  });
  experiment(path.join(exps, 'e2e_untrusted_text'), {
    'config.yaml': `experiment:\n  name: '${SCRIPT_TEXT}'\nalgorithm: {name: dpo}\nnotes: '${IMG_TEXT}'\n`,
    'metadata.json': JSON.stringify({ sample: SCRIPT_TEXT, prompt: IMG_TEXT }, null, 2),
    'logs/metrics.jsonl': metrics(3, () => 0.3),
  });

  const other = path.join(tmp, 'other-experiments');
  experiment(path.join(other, 'e2e_other_folder_run'), {
    'config.yaml': 'experiment: {name: e2e_other_folder_run}\nalgorithm: {name: sft}\n',
    'logs/metrics.jsonl': metrics(5, () => 0.2),
  });
  const cache = path.join(tmp, 'cache');
  return {
    tmp,
    main,
    other,
    cache,
    fixtureCount: demoCount + 3,
    cleanup: () => rmSync(tmp, { recursive: true, force: true }),
  };
}

/** A launchable project served (see serveLaunchable), with what stops it all. */
export interface LaunchableServed {
  ws: Workspaces;
  served: Served;
  stop(): Promise<void>;
}

/**
 * The workspaces, the main one made launchable, served with a private tmux
 * server and 0.1 s per simulated step: a run lasts long enough to be watched
 * growing, or stopped.
 */
export async function serveLaunchable(): Promise<LaunchableServed> {
  const ws = makeWorkspaces();
  makeLaunchable(ws.main);
  const tmux = privateTmux();
  const cleanup = (): void => {
    tmux.cleanup();
    ws.cleanup();
  };
  try {
    const served = await startServe(ws.main, ws.cache, { ...tmux.env, EXPDESK_DEMO_STEP_DELAY: '0.1' });
    const stop = async (): Promise<void> => {
      await served.stop();
      cleanup();
    };
    return { ws, served, stop };
  } catch (err) {
    cleanup();
    throw err;
  }
}

function listDirs(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).length;
}

/** A screenshot kept as a test artifact and under test-results/screenshots/. */
export async function snap(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const file = path.join(REPO, 'test-results', 'screenshots', `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
}

/** Open an experiment's Metrics tab by its folder's name. */
export async function openMetricsTab(page: Page, folder: string): Promise<void> {
  await page.locator(`[data-testid=experiment-row][data-path$="/${folder}"]`).click();
  await page.getByTestId('tab-metrics').click();
}
