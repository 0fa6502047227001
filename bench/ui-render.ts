/**
 * Benchmark: the interface in Chromium (Debian's, through Playwright) against
 * the real `expdesk serve`, each figure beside a baseline measured in the same
 * run and the same browser:
 *
 * - time to first render of the experiment table on a workspace of 5,000
 *   experiment folders (navigation → first row visible), against a static
 *   page listing the same 5,000 names, in three cases: a page reload (the
 *   host's summaries in memory), the first visit after a restart (summaries
 *   in the disk cache) and the first visit with an empty summary cache;
 * - chart render time for a 1,000,000-point series (the Metrics tab: the
 *   metrics.series request, downsampled on the host, then plotly until its
 *   draw resolved, i.e. after `plotly_afterplot`), against plotly drawing the
 *   same number of already-downsampled points from a static array.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import { median, report, type BenchResult } from './report';

const REPO = path.resolve(import.meta.dirname, '..');
const EXPERIMENTS = Number(process.env.BENCH_UI_EXPERIMENTS ?? 5_000);
const POINTS = Number(process.env.BENCH_UI_POINTS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Where the single spike sits, and how tall it is: it must survive downsampling. */
const SPIKE_STEP = Math.floor(POINTS * 0.777);
const SPIKE_VALUE = 50;

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** `count` experiment folders of config.yaml, metadata.json and a 4-record metrics.jsonl (bench/ui-listing.ts too). */
export function writeWorkspace(root: string, count = EXPERIMENTS): void {
  const exps = path.join(root, 'experiments');
  mkdirSync(exps, { recursive: true });
  const algos = ['dpo', 'ppo', 'sft'];
  for (let i = 1; i <= count; i++) {
    const algo = algos[i % 3]!;
    const beta = [0.05, 0.1, 0.2, 0.5][i % 4];
    const name = `exp${String(i).padStart(4, '0')}_${algo}_bench-1m_beta${beta}_0101_${String(i % 24).padStart(2, '0')}00`;
    const dir = path.join(exps, name);
    mkdirSync(path.join(dir, 'logs'), { recursive: true });
    writeFileSync(
      path.join(dir, 'config.yaml'),
      `experiment:\n  name: ${name}\nalgorithm:\n  name: ${algo}\nmodel:\n  name: bench/tiny-1m\ndpo:\n  beta: ${beta}\ntraining:\n  lr: ${(i % 5) + 1}.0e-05\n  seed: ${i}\n`,
    );
    writeFileSync(
      path.join(dir, 'metadata.json'),
      JSON.stringify({
        name,
        started_at: `2026-01-01T${String(i % 24).padStart(2, '0')}:00:00`,
        git_hash: 'a'.repeat(40),
        git_branch: 'main',
        git_dirty: i % 7 === 0,
        python_version: '3.11.7',
        torch_version: '2.3.0',
        cuda_version: '12.1',
        hostname: 'bench',
        command: 'train.py',
      }),
    );
    const lines: string[] = [];
    for (let s = 1; s <= 3; s++)
      lines.push(
        JSON.stringify({
          step: s * 100,
          prefix: 'train',
          timestamp: `2026-01-01T00:0${s}:00`,
          'train/loss': 1 / (s + (i % 10)),
        }),
      );
    lines.push(
      JSON.stringify({ step: 300, prefix: 'eval', timestamp: '2026-01-01T00:04:00', 'eval/loss': 0.5 }),
    );
    writeFileSync(path.join(dir, 'logs', 'metrics.jsonl'), lines.join('\n') + '\n');
  }
}

/** One experiment whose train/loss has POINTS records and a single spike among them. */
async function writeBigExperiment(root: string): Promise<void> {
  const dir = path.join(root, 'experiments', 'exp001_dpo_bench-1m_spike');
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  writeFileSync(
    path.join(dir, 'config.yaml'),
    'experiment:\n  name: exp001_dpo_bench-1m_spike\nalgorithm:\n  name: dpo\n',
  );
  const fh = await open(path.join(dir, 'logs', 'metrics.jsonl'), 'w');
  let seed = 42;
  const rng = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const t0 = Date.UTC(2026, 0, 1);
  let batch: string[] = [];
  for (let s = 1; s <= POINTS; s++) {
    const loss = s === SPIKE_STEP ? SPIKE_VALUE : 3 / Math.sqrt(s) + rng() * 0.05;
    const ts = new Date(t0 + s * 100).toISOString().replace('Z', '');
    batch.push(`{"step": ${s}, "prefix": "train", "timestamp": "${ts}", "train/loss": ${loss}}`);
    if (batch.length === 20_000) {
      await fh.write(batch.join('\n') + '\n');
      batch = [];
    }
  }
  if (batch.length) await fh.write(batch.join('\n') + '\n');
  await fh.close();
}

interface Serve {
  url: string;
  stop(): Promise<void>;
}

export async function startServe(workspace: string, cacheDir: string): Promise<Serve> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      // BENCH_SERVE_CPU_PROF=<dir>: a CPU profile of each server in <dir> (node --cpu-prof), to see where its time goes.
      ...(process.env.BENCH_SERVE_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVE_CPU_PROF}`]
        : []),
      path.join(REPO, 'bin', 'expdesk.mjs'),
      'serve',
      '--workspace',
      workspace,
      '--port',
      '0',
    ],
    { cwd: REPO, env: { ...process.env, EXPDESK_CACHE_DIR: cacheDir }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /^(http:\/\/\S+\/\?token=[0-9a-f]+)$/m.exec(out);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
    }, 50);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`expdesk serve exited (${code}):\n${out}`));
    });
  });
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** An experiment table's row in the app. */
export const ROW = '[data-testid=experiment-row]';

/**
 * A first visit of the app: `expdesk serve` started on `cacheDir` (its
 * summary cache), navigation to the first row visible, the server stopped
 * (writing its cache). One server per visit.
 */
export async function firstVisitOf(
  page: Page,
  workspace: string,
  cacheDir: string,
): Promise<{ time: number; split: Split }> {
  const serve = await startServe(workspace, cacheDir);
  try {
    const time = await timeToFirstRow(page, serve.url, ROW);
    return { time, split: await splitOf(page) };
  } finally {
    await page.goto('about:blank'); // end the page's watches before the server goes
    await serve.stop();
  }
}

/** The baseline of a table's first render: a static page of `count` experiment names. */
export function staticTablePage(count: number): { type: string; body: string } {
  const names: string[] = [];
  for (let i = 1; i <= count; i++) names.push(`<div class="r">exp${String(i).padStart(4, '0')}_bench</div>`);
  return {
    type: 'text/html; charset=utf-8',
    body: `<!doctype html><meta charset="utf-8"><style>.r{height:24px;font:12px sans-serif}</style><body>${names.join('')}`,
  };
}

/** A static file server for the baselines: one HTML page and plotly's own bundle. */
export async function staticServer(pages: Record<string, { type: string; body: string | Buffer }>): Promise<{
  url: string;
  server: Server;
}> {
  const server = createServer((req, res) => {
    const page = pages[req.url ?? ''];
    if (!page) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': page.type, 'Cache-Control': 'max-age=3600' }).end(page.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return { url: `http://127.0.0.1:${addr.port}`, server };
}

/**
 * Navigation to the first matching element visible. Checked on every frame:
 * waitForSelector polls at growing intervals (20, 50, 100, 100, then every
 * 500 ms), which would round a page that renders after its load event up by
 * as much as half a second, and a static page not at all.
 */
export async function timeToFirstRow(page: Page, url: string, selector: string): Promise<number> {
  const t = performance.now();
  await page.goto(url);
  // A string, evaluated through the DevTools protocol: the app's CSP refuses eval (waitForFunction's way).
  await page.evaluate(`new Promise((resolve, reject) => {
    const give = setTimeout(() => reject(new Error('no ${selector} within 120 s')), 120000);
    const check = () => {
      const el = document.querySelector(${JSON.stringify(selector)});
      const r = el && el.getBoundingClientRect();
      if (r && r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden') {
        clearTimeout(give);
        resolve();
      } else requestAnimationFrame(check);
    };
    check();
  })`);
  return performance.now() - t;
}

/** The median time to first row and the median split of RUNS visits. */
export interface Visits {
  time: number;
  split: Split;
}

export function mediansOf(times: number[], splits: Split[]): Visits {
  return {
    time: median(times),
    split: {
      boot: median(splits.map((x) => x.boot)),
      host: median(splits.map((x) => x.host)),
      render: median(splits.map((x) => x.render)),
    },
  };
}

export function describeVisits(v: Visits): string {
  return (
    `${v.time.toFixed(0)} ms = page+app ${v.split.boot.toFixed(0)} + host listing ${v.split.host.toFixed(0)}` +
    ` + render ${v.split.render.toFixed(0)}`
  );
}

export interface Split {
  /** Navigation to the listing request: loading the page and the app, app.info. */
  boot: number;
  /** The listing request: the host lists and sends, the page parses. */
  host: number;
  /** The listing received to its first rows in the DOM. */
  render: number;
}

/** Where the time went, from the app's performance marks (state/workspace.ts, ExperimentTable). */
export async function splitOf(page: Page): Promise<Split> {
  return page.evaluate<Split>(`(() => {
    const at = (n) => performance.getEntriesByName(n).at(-1).startTime;
    return {
      boot: at('expdesk:list-sent'),
      host: at('expdesk:list-received') - at('expdesk:list-sent'),
      render: at('expdesk:rows-rendered') - at('expdesk:list-received'),
    };
  })()`);
}

/**
 * Click the Metrics tab and resolve with the ms until the train/loss chart has drawn. In-page code
 * is a string: it runs in the browser, not through this file's TypeScript transform.
 */
function metricsTabToPlot(page: Page): Promise<number> {
  return page.evaluate(`new Promise((resolve) => {
    const t0 = performance.now();
    const onPlot = (e) => {
      if (e.detail.title !== 'train/loss') return;
      window.removeEventListener('expdesk:plotted', onPlot);
      resolve(performance.now() - t0);
    };
    window.addEventListener('expdesk:plotted', onPlot);
    document.querySelector('[data-testid=tab-metrics]').click();
  })`);
}

const BASELINE_CHART = `<!doctype html><meta charset="utf-8"><body><div id="c" style="width:760px"></div>
<script src="/plotly.min.js"></script>
<script>
window.plotStatic = (n) => {
  const x = new Array(n), y = new Array(n);
  for (let i = 0; i < n; i++) { x[i] = i * 1000; y[i] = 3 / Math.sqrt(i + 1); }
  const el = document.getElementById('c');
  Plotly.purge(el);
  const t0 = performance.now();
  return Plotly.newPlot(el, [{ type: 'scatter', mode: 'lines', x, y, line: { width: 1.6 } }],
    { height: 210, margin: { l: 52, r: 10, t: 8, b: 30 }, hovermode: 'x' },
    { displaylogo: false, responsive: true }).then(() => performance.now() - t0);
};
</script>`;

export async function benchUiRender(): Promise<BenchResult[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'expdesk-bench-ui-'));
  const ws = path.join(tmp, 'workspace');
  const big = path.join(tmp, 'big');
  let browser: Browser | null = null;
  const stops: Array<() => Promise<void>> = [];
  try {
    process.stderr.write(`generating ${EXPERIMENTS.toLocaleString()} experiment folders…\n`);
    writeWorkspace(ws);
    process.stderr.write(`generating a ${POINTS.toLocaleString()}-point series…\n`);
    await writeBigExperiment(big);

    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 820 } });

    // --- the table -------------------------------------------------------------------------
    const row = ROW;
    const firstVisit = (cache: string): Promise<{ time: number; split: Split }> =>
      firstVisitOf(page, ws, path.join(tmp, cache));
    // First visits with an empty summary cache, each its own; then restarts on the last one's.
    const coldRuns: Array<{ time: number; split: Split }> = [];
    for (let i = 0; i < RUNS; i++) coldRuns.push(await firstVisit(`cache-${i}`));
    const restartRuns: Array<{ time: number; split: Split }> = [];
    for (let i = 0; i < RUNS; i++) restartRuns.push(await firstVisit(`cache-${RUNS - 1}`));
    const cold = mediansOf(
      coldRuns.map((r) => r.time),
      coldRuns.map((r) => r.split),
    );
    const restart = mediansOf(
      restartRuns.map((r) => r.time),
      restartRuns.map((r) => r.split),
    );

    // Page reloads against one server: the summaries are in its memory.
    const serve = await startServe(ws, path.join(tmp, `cache-${RUNS - 1}`));
    stops.push(serve.stop);
    await timeToFirstRow(page, serve.url, row);
    const rows = await page.locator(row).count();
    const warmTimes: number[] = [];
    const splits: Split[] = [];
    for (let i = 0; i < RUNS; i++) {
      warmTimes.push(await timeToFirstRow(page, serve.url, row));
      splits.push(await splitOf(page));
    }
    const warm = mediansOf(warmTimes, splits);
    const listed = await page.getByTestId('experiment-count').textContent();

    const baseline = await staticServer({
      '/table': staticTablePage(EXPERIMENTS),
      '/chart': { type: 'text/html; charset=utf-8', body: BASELINE_CHART },
      '/plotly.min.js': {
        type: 'text/javascript; charset=utf-8',
        body: readFileSync(
          path.join(REPO, 'node_modules', 'plotly.js-basic-dist-min', 'plotly-basic.min.js'),
        ),
      },
    });
    stops.push(() => new Promise<void>((r) => baseline.server.close(() => r())));
    await timeToFirstRow(page, `${baseline.url}/table`, '.r'); // warm the browser alike
    const staticTimes: number[] = [];
    for (let i = 0; i < RUNS; i++)
      staticTimes.push(await timeToFirstRow(page, `${baseline.url}/table`, '.r'));
    await serve.stop();

    // --- the chart -------------------------------------------------------------------------
    const serveBig = await startServe(big, path.join(tmp, 'cache-big'));
    stops.push(serveBig.stop);
    await page.goto(serveBig.url);
    await page.locator(row).first().click();
    await page.getByTestId('detail-panel').waitFor();
    const chartCold = await metricsTabToPlot(page);
    const chartWarm: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await page.getByTestId('tab-overview').click();
      chartWarm.push(await metricsTabToPlot(page));
    }
    // plotly keeps what it drew on the element: count the points and find the spike.
    const plotted = await page.evaluate<{ points: number; max: number }>(`(() => {
      const y = document.querySelector('[data-title="train/loss"] .chart-plot').data[0].y;
      return { points: y.length, max: Math.max(...y.map((v) => (v === null ? -Infinity : v))) };
    })()`);
    const note = (await page.locator('[data-title="train/loss"] .chart-note').textContent()) ?? '';

    await page.goto(`${baseline.url}/chart`);
    await page.waitForFunction(`'plotStatic' in window && 'Plotly' in window`);
    const plotStatic = (n: number): Promise<number> => page.evaluate<number>(`window.plotStatic(${n})`);
    await plotStatic(plotted.points);
    const staticPlot: number[] = [];
    for (let i = 0; i < RUNS; i++) staticPlot.push(await plotStatic(plotted.points));

    const staticTable = median(staticTimes);
    const warmChart = median(chartWarm);
    const staticChart = median(staticPlot);
    const table = (name: string, v: Visits): BenchResult => ({
      name: `experiment table, time to first render, ${EXPERIMENTS.toLocaleString()} experiments, ${name}`,
      figure: describeVisits(v),
      baseline: `static page of the same ${EXPERIMENTS.toLocaleString()} names: ${staticTable.toFixed(0)} ms`,
      ratio: v.time / staticTable,
      target: null,
    });
    return [
      table(`page reload, summaries in the host's memory (${listed} listed, ${rows} rows in the DOM)`, warm),
      table('first visit after a restart, summaries in the disk cache', restart),
      table('first visit, empty summary cache', cold),
      {
        name: `chart of a ${POINTS.toLocaleString()}-point series, request + plot (${note.trim()}; spike ${plotted.max >= SPIKE_VALUE ? 'kept' : 'LOST'})`,
        figure: `${warmChart.toFixed(0)} ms for ${plotted.points.toLocaleString()} points drawn (first open, with plotly loading and the host reading the file: ${chartCold.toFixed(0)} ms)`,
        baseline: `plotly drawing ${plotted.points.toLocaleString()} points from a static array: ${staticChart.toFixed(0)} ms`,
        ratio: warmChart / staticChart,
        target: null,
      },
    ];
  } finally {
    await browser?.close();
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchUiRender());
}
