/**
 * Benchmark: min/max downsampling of a 1,000,000-point series to 1000
 * buckets (what a chart asks for on every zoom and every new point) against
 * the cheapest possible pass over the same values — summing them — in the
 * same run. The ratio says what bucketing costs on top of touching each
 * point once. Also: a zoom into 10% of the run, which finds its range by
 * binary search and so touches only that 10%.
 */
import { downsampleMinMax } from '../src/shared/downsample';
import { median, report, type BenchResult } from './report';

const POINTS = Number(process.env.BENCH_SERIES_POINTS ?? 1_000_000);
const BUCKETS = 1000;
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

function series(n: number): { x: Float64Array; y: Float64Array } {
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  let seed = 42;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    x[i] = i + 1;
    y[i] = 3 / Math.sqrt(i + 1) + (seed / 2 ** 31) * 0.05;
  }
  y[Math.floor(n * 0.654321)] = 1000; // the spike a chart must show
  return { x, y };
}

/** The baseline: one pass adding the values (no branch, no bucket). */
function sum(y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i]!;
  return s;
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

export async function benchMetricsSeries(): Promise<BenchResult[]> {
  const { x, y } = series(POINTS);
  let sink = 0;
  let spikeKept = false;
  const all = (): void => {
    const r = downsampleMinMax({ x, y, sorted: true }, { buckets: BUCKETS });
    sink += r.x.length;
    spikeKept = r.y.includes(1000);
  };
  const zoom = (): void => {
    const r = downsampleMinMax(
      { x, y, sorted: true },
      { buckets: BUCKETS, range: { min: POINTS * 0.6, max: POINTS * 0.7 } },
    );
    sink += r.x.length;
  };
  const base = (): void => {
    sink += sum(y);
  };
  // Warm the JIT for all three, then alternate so drift hits them alike.
  for (let i = 0; i < 3; i++) {
    all();
    zoom();
    base();
  }
  const baseTimes: number[] = [];
  const allTimes: number[] = [];
  const zoomTimes: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    baseTimes.push(time(base));
    allTimes.push(time(all));
    zoomTimes.push(time(zoom));
  }
  if (!spikeKept) throw new Error('the spike was lost by downsampling');
  if (!Number.isFinite(sink)) throw new Error('unreachable: keeps the work from being optimized away');
  const b = median(baseTimes);
  const d = median(allTimes);
  const z = median(zoomTimes);
  return [
    {
      name: `downsample ${POINTS.toLocaleString()} points to ${BUCKETS} min/max buckets (spike kept)`,
      figure: `${d.toFixed(2)} ms`,
      baseline: `one pass summing the values: ${b.toFixed(2)} ms`,
      ratio: d / b,
      target: null,
    },
    {
      name: `zoom to 10% of ${POINTS.toLocaleString()} points, ${BUCKETS} buckets`,
      figure: `${z.toFixed(2)} ms`,
      baseline: `downsampling everything: ${d.toFixed(2)} ms`,
      ratio: z / d,
      target: null,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report(await benchMetricsSeries());
}
