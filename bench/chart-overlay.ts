/**
 * Benchmark (issue 12): 100 runs × 100,000 points overlaid in one chart.
 * Host time — every run's `metrics.series` request as the compare view sends
 * it (one per run, three in flight: CompareView's mapLimited), through the
 * host's dispatch (params validated, backend resolved, columns held in memory
 * by the process's feeds, downsampled to the chart's buckets with the
 * non-finite marks) and serialised as the browser transport would — for the
 * first draw and for a zoom step (re-downsampled for the view), with and
 * without smoothing (computed on the full series, then kept per column).
 * Then plotly in Chromium drawing what the host sent, against plotly drawing
 * the same number of points from static arrays, in the same page and run.
 * The target: host time ≤ 100 ms on top of plotly's own drawing.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from '@playwright/test';
import { ExpdeskHost } from '../src/main/host/host';
import type { RequestParams, RequestResult } from '../src/shared/contract';
import type { XRange } from '../src/shared/downsample';
import { mapLimited } from '../src/shared/map-limited';
import { median, report, type BenchResult } from './report';
import { CHROMIUM_ARGS, staticServer } from './ui-render';

const REPO = path.resolve(import.meta.dirname, '..');
const RUNS_OVERLAID = Number(process.env.BENCH_OVERLAY_RUNS ?? 100);
const POINTS = Number(process.env.BENCH_OVERLAY_POINTS ?? 100_000);
const REPEAT = Number(process.env.BENCH_RUNS ?? 5);
/** About one bucket per pixel of a compare chart. */
const BUCKETS = 700;
const HOST_TARGET_MS = 100;

function writeRuns(root: string): string[] {
  const dirs: string[] = [];
  for (let r = 0; r < RUNS_OVERLAID; r++) {
    const dir = path.join(root, `exp${String(r + 1).padStart(3, '0')}_overlay_seed${r}`);
    mkdirSync(path.join(dir, 'logs'), { recursive: true });
    writeFileSync(
      path.join(dir, 'config.yaml'),
      `experiment:\n  name: overlay${r}\ntraining:\n  seed: ${r}\n`,
    );
    const lines: string[] = new Array<string>(POINTS);
    let seed = r + 1;
    for (let s = 0; s < POINTS; s++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      lines[s] =
        `{"step": ${s + 1}, "train/loss": ${(3 / Math.sqrt(s + 1) + (seed / 2 ** 31) * 0.05).toFixed(6)}}`;
    }
    writeFileSync(path.join(dir, 'logs', 'metrics.jsonl'), lines.join('\n') + '\n');
    dirs.push(dir);
  }
  return dirs;
}

interface Drawn {
  ms: number;
  /** The process's CPU time (user + system) over the same span: what the host spent, whatever else the machine runs. */
  cpuMs: number;
  points: number;
  traces: Array<{ x: number[]; y: (number | null)[] }>;
}

/** What the view decides of a request (axis, zoom, smoothing); the run, key and buckets are the bench's. */
type View = Omit<RequestParams<'metrics.series'>, 'expDir' | 'keys' | 'buckets'>;

/** Every run's series for one view, requested as the compare view does and answered (serialised) by the host, timed as a whole. */
async function hostDraw(host: ExpdeskHost, dirs: string[], q: View): Promise<Drawn> {
  const t = performance.now();
  const cpu = process.cpuUsage();
  const traces: Drawn['traces'] = [];
  let points = 0;
  // CompareView asks three at a time (src/renderer/components/CompareView.tsx).
  const answers = await mapLimited(dirs, 3, async (expDir) => {
    const params = { ...q, expDir, keys: ['train/loss'], buckets: BUCKETS };
    const r = (await host.dispatch('metrics.series', params)) as RequestResult<'metrics.series'>;
    if (JSON.stringify(r).length === 0) throw new Error('unreachable');
    return r;
  });
  for (const r of answers) {
    const s = r.series['train/loss']!;
    const line = s.smoothed ?? s;
    traces.push({ x: line.x, y: line.y });
    points += line.x.length;
  }
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000, points, traces };
}

const PAGE = `<!doctype html><meta charset="utf-8"><body><div id="c" style="width:760px"></div>
<script src="/plotly.min.js"></script>
<script>
const layout = { height: 300, margin: { l: 52, r: 10, t: 8, b: 30 }, hovermode: 'x', showlegend: false };
const draw = (traces) => {
  const el = document.getElementById('c');
  Plotly.purge(el);
  const data = traces.map((t) => ({ type: 'scatter', mode: 'lines', x: t.x, y: t.y, line: { width: 1.6 } }));
  const t0 = performance.now();
  return Plotly.newPlot(el, data, layout, { displaylogo: false }).then(() => performance.now() - t0);
};
window.plotSent = (traces) => draw(traces);
window.plotStatic = (n, each) => {
  const traces = [];
  for (let k = 0; k < n; k++) {
    const x = new Array(each), y = new Array(each);
    for (let i = 0; i < each; i++) { x[i] = i * 100; y[i] = 3 / Math.sqrt(i + 1) + k * 0.001; }
    traces.push({ x, y });
  }
  return draw(traces);
};
</script>`;

interface Case {
  name: string;
  /** The 1-minute load average when its draws ended: wall figures on a shared machine need it. */
  load: number;
  host: number[];
  cpu: number[];
  drawn: Drawn;
}

export async function benchChartOverlay(): Promise<BenchResult[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'expdesk-bench-overlay-'));
  let browser: Browser | null = null;
  let app: ExpdeskHost | null = null;
  let closeServer: (() => void) | null = null;
  try {
    process.stderr.write(`generating ${RUNS_OVERLAID} runs × ${POINTS.toLocaleString()} points…\n`);
    const dirs = writeRuns(tmp);
    // The app's host: the process's feeds, with the app's budgets.
    const expdesk = (app = new ExpdeskHost({
      mode: 'browser',
      version: 'bench',
      workspace: null,
      demoWorkspace: null,
      cacheDir: path.join(tmp, 'cache'),
    }));
    const full = { x: 'step' as const };
    const cold = await hostDraw(expdesk, dirs, full);
    const zoomTo: XRange = { min: POINTS * 0.45, max: POINTS * 0.55 };
    const cases: Case[] = [];
    const measure = async (name: string, q: View): Promise<void> => {
      const host: number[] = [];
      const cpu: number[] = [];
      let drawn: Drawn | null = null;
      for (let i = 0; i < REPEAT; i++) {
        drawn = await hostDraw(expdesk, dirs, q);
        host.push(drawn.ms);
        cpu.push(drawn.cpuMs);
      }
      cases.push({ name, host, cpu, drawn: drawn!, load: os.loadavg()[0]! });
    };
    await measure('first draw (full range)', full);
    await measure('zoom step (10% of the steps, re-downsampled)', { ...full, range: zoomTo });
    const ema = { kind: 'ema' as const, weight: 0.9 };
    // The first smoothed draw computes the EMA over all 100 × 100,000 points; later ones reuse it.
    const smoothFirst = await hostDraw(expdesk, dirs, { ...full, smoothing: ema });
    await measure('first draw smoothed (EMA 0.9 on every point; later draws reuse it)', {
      ...full,
      smoothing: ema,
    });
    await measure('zoom step smoothed', { ...full, smoothing: ema, range: zoomTo });

    const server = await staticServer({
      '/': { type: 'text/html; charset=utf-8', body: PAGE },
      '/plotly.min.js': {
        type: 'text/javascript; charset=utf-8',
        body: readFileSync(
          path.join(REPO, 'node_modules', 'plotly.js-basic-dist-min', 'plotly-basic.min.js'),
        ),
      },
    });
    closeServer = () => server.server.close();
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    });
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.goto(`${server.url}/`);
    await page.waitForFunction(`'plotStatic' in window && 'Plotly' in window`);

    const results: BenchResult[] = [];
    for (const c of cases) {
      const each = Math.round(c.drawn.points / RUNS_OVERLAID);
      const sent: number[] = [];
      const statik: number[] = [];
      await page.evaluate(
        ([n, e]) =>
          (globalThis as unknown as { plotStatic(n: number, e: number): Promise<number> }).plotStatic(n, e),
        [RUNS_OVERLAID, each] as const,
      );
      for (let i = 0; i < REPEAT; i++) {
        sent.push(
          await page.evaluate(
            (t) => (globalThis as unknown as { plotSent(t: unknown): Promise<number> }).plotSent(t),
            c.drawn.traces,
          ),
        );
        statik.push(
          await page.evaluate(
            ([n, e]) =>
              (globalThis as unknown as { plotStatic(n: number, e: number): Promise<number> }).plotStatic(
                n,
                e,
              ),
            [RUNS_OVERLAID, each] as const,
          ),
        );
      }
      const host = median(c.host);
      const cpu = median(c.cpu);
      const plot = median(sent);
      const base = median(statik);
      results.push({
        name: `${RUNS_OVERLAID} runs × ${POINTS.toLocaleString()} points overlaid, ${c.name}`,
        figure:
          `host ${host.toFixed(0)} ms, ${cpu.toFixed(0)} ms of CPU (${HOST_TARGET_MS >= host ? 'within' : 'OVER'} the ${HOST_TARGET_MS} ms target; load average ${c.load.toFixed(1)}) ` +
          `+ plotly ${plot.toFixed(0)} ms for the ${c.drawn.points.toLocaleString()} points sent`,
        baseline: `plotly drawing ${(each * RUNS_OVERLAID).toLocaleString()} points from static arrays: ${base.toFixed(0)} ms`,
        ratio: (host + plot) / base,
        target: null,
      });
    }
    results.push({
      name: `${RUNS_OVERLAID} runs × ${POINTS.toLocaleString()} points, host only: reading the files for the first draw; the first smoothed draw`,
      figure: `${cold.ms.toFixed(0)} ms reading ${(RUNS_OVERLAID * POINTS).toLocaleString()} records; EMA on every point ${smoothFirst.ms.toFixed(0)} ms`,
      baseline: `a first draw from memory ${median(cases[0]!.host).toFixed(0)} ms`,
      ratio: cold.ms / median(cases[0]!.host),
      target: null,
    });
    return results;
  } finally {
    app?.dispose();
    await browser?.close();
    closeServer?.();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchChartOverlay());
}
