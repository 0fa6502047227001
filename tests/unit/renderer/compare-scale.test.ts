/** Compare at scale: distinct run colours, brushing parallel coordinates filters the table, long-format series CSV. */
import { describe, expect, it } from 'vitest';
import { runColor } from '../../../src/renderer/lib/run-colors';
import { brushFromPixels, inBrush, layoutParcoords } from '../../../src/renderer/lib/parcoords';
import { selectVisibleExperiments } from '../../../src/renderer/store';
import { seriesRows } from '../../../src/renderer/components/CompareHead';
import { toCsv } from '../../../src/shared/csv';
import { summary } from './fakes';

/** sRGB of a #rrggbb or hsl() colour, for telling colours apart. */
function rgb(c: string): [number, number, number] {
  if (c.startsWith('#'))
    return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];
  const [h, s, l] = c.match(/[\d.]+/g)!.map(Number) as [number, number, number];
  const a = (s / 100) * Math.min(l / 100, 1 - l / 100);
  const f = (n: number): number => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l / 100 - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

describe('run colours', () => {
  it('gives 50 runs 50 colours no two of which are near each other', () => {
    const colors = Array.from({ length: 50 }, (_, i) => rgb(runColor(i)));
    let nearest = Infinity;
    for (let i = 0; i < colors.length; i++)
      for (let j = i + 1; j < colors.length; j++) {
        const [a, b] = [colors[i]!, colors[j]!];
        nearest = Math.min(nearest, Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]));
      }
    expect(nearest).toBeGreaterThan(40);
    expect(runColor(3)).toBe(runColor(3)); // a run keeps its colour
  });
});

describe('brushing parallel coordinates', () => {
  const box = { width: 600, height: 280, top: 34, bottom: 26, left: 70, right: 70 };
  it('turns a drag on a number axis into a value range, and on a category axis into categories', () => {
    const layout = layoutParcoords(
      [
        { label: 'training.lr', values: [0.001, 0.002, 0.003, 0.004] },
        { label: 'optimizer', values: ['adam', 'sgd', 'adam', 'lion'] },
      ],
      box,
    );
    const [lr, opt] = layout.axes;
    // Top half of the lr axis: 0.0025 … 0.004.
    const b = brushFromPixels(lr!, 34, 254, 30, 144)!;
    expect(b.kind).toBe('range');
    expect([0.001, 0.002, 0.003, 0.004].map((v) => inBrush(v, b))).toEqual([false, false, true, true]);
    // Categories are sorted top to bottom: adam, lion, sgd; the top one only.
    const c = brushFromPixels(opt!, 34, 254, 30, 40)!;
    expect(c).toEqual({ kind: 'set', values: ['adam'] });
    expect(inBrush(undefined, c)).toBe(false);
  });

  it('keeps the table to the runs inside every brush; clearing the brush shows them all again', () => {
    const rows = [1, 2, 3, 4].map((i) =>
      summary({ path: `/ws/e/r${i}`, name: `r${i}`, params: { 'training.lr': i / 1000 } }),
    );
    const state = {
      listing: {
        root: '/ws',
        experimentsDir: '/ws/e',
        kind: 'experiments-folder' as const,
        experiments: rows,
      },
      query: '',
      sort: null,
      configIndex: {},
    };
    expect(selectVisibleExperiments({ ...state, brush: {} })).toHaveLength(4);
    const brushed = selectVisibleExperiments({
      ...state,
      brush: { 'training.lr': { kind: 'range', min: 0.0015, max: 0.0035 } },
    });
    expect(brushed.map((e) => e.name)).toEqual(['r2', 'r3']);
    expect(selectVisibleExperiments({ ...state, brush: {} })).toHaveLength(4);
  });
});

describe('series CSV', () => {
  it('writes experiment, metric, step, value rows, NaN as an empty cell', () => {
    const csv = toCsv(
      seriesRows([
        { name: 'a', series: { 'train/loss': { x: [1, 2], y: [0.5, null] } } },
        { name: '=b', series: { 'eval/acc': { x: [10], y: [0.9] } } },
      ]),
    );
    expect(csv).toBe(
      "experiment,metric,step,value\r\na,train/loss,1,0.5\r\na,train/loss,2,\r\n'=b,eval/acc,10,0.9\r\n",
    );
  });
});
