/**
 * The table grouped by config keys (state/groups.ts, lib/table-groups.ts):
 * header rows with n and mean ± sample std of final loss and final eval,
 * "everything but the seed", collapse, and the choice remembered per workspace.
 */
import { describe, expect, it } from 'vitest';
import { createExpdeskStore, selectTableRows } from '../../../src/renderer/store';
import type { GroupHeader } from '../../../src/renderer/lib/table-groups';
import { formatStat } from '../../../src/renderer/lib/table-groups';
import type { KeyValueStorage } from '../../../src/renderer/lib/recent';
import type { JsonValue, WorkspaceListing } from '../../../src/shared/model';
import { bandPolygon, groupChartParts } from '../../../src/renderer/lib/group-bands';
import { FakeClient, flush, summary } from './fakes';

const INFO = { version: 't', mode: 'browser' as const, workspace: '/ws', demoWorkspace: null };

/** beta 0.1 × seeds 1–3 (loss 0.5, 0.7, 0.6) and beta 0.5 × seeds 1–3 (loss 0.9, 1.1, NaN). */
const RUNS: Array<{ name: string; beta: number; seed: number; loss: number | null; acc: number }> = [
  { name: 'a1', beta: 0.1, seed: 1, loss: 0.5, acc: 0.7 },
  { name: 'b1', beta: 0.5, seed: 1, loss: 0.9, acc: 0.5 },
  { name: 'a2', beta: 0.1, seed: 2, loss: 0.7, acc: 0.8 },
  { name: 'b2', beta: 0.5, seed: 2, loss: 1.1, acc: 0.6 },
  { name: 'a3', beta: 0.1, seed: 3, loss: 0.6, acc: 0.75 },
  { name: 'b3', beta: 0.5, seed: 3, loss: null, acc: 0.55 },
];

function setup(root: string, storage: KeyValueStorage, configsHeld?: Promise<void>) {
  const list: WorkspaceListing = {
    root,
    experimentsDir: `${root}/experiments`,
    kind: 'project-root',
    experiments: RUNS.map((r) =>
      summary({
        path: `${root}/experiments/${r.name}`,
        final_loss: r.loss,
        final_eval: { 'eval/accuracy': r.acc },
        metrics: { 'train/loss': { last: r.loss } } as never,
      }),
    ),
  };
  const configs = new Map<string, Record<string, JsonValue>>(
    RUNS.map((r) => [
      `${root}/experiments/${r.name}`,
      { 'experiment.name': r.name, 'dpo.beta': r.beta, 'training.seed': r.seed, 'training.lr': 0.001 },
    ]),
  );
  const client = new FakeClient()
    .handle('app.info', () => ({ ...INFO, workspace: root }))
    .handle('workspace.list', () => list)
    .handle('experiments.watch', () => ({ subscription: 'w' }))
    .handle('experiments.unwatch', () => ({}))
    // Every key reported as differing, per path: the store rebuilds each flat config from it.
    .handle('experiments.compare', async ({ paths }) => {
      await configsHeld;
      const keys = [...new Set(paths.flatMap((p) => Object.keys(configs.get(p)!)))];
      return {
        experiments: [],
        configSame: [],
        configDiff: keys.map((key) => ({
          key,
          values: paths.map((p) => configs.get(p)![key] ?? null),
          present: paths.map((p) => key in configs.get(p)!),
        })),
        metadataSame: [],
        metadataDiff: [],
      } as never;
    });
  return createExpdeskStore(client, { storage });
}

function memoryStorage(): KeyValueStorage {
  const m = new Map<string, string>();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v) };
}

const headers = (rows: ReturnType<typeof selectTableRows>): GroupHeader[] =>
  rows.filter((r): r is GroupHeader => r.kind === 'group');

describe('grouping the table', () => {
  it('"everything but the seed" makes one header per setting with n and mean ± std; collapse hides its runs', async () => {
    const store = setup('/ws', memoryStorage());
    await store.getState().init();
    await store.getState().groupAllButSeed();
    await flush();
    const rows = selectTableRows(store.getState());
    const [a, b] = headers(rows);
    expect(headers(rows)).toHaveLength(2);
    expect(a!.values).toEqual({ 'dpo.beta': 0.1 });
    expect(a!.members.map((e) => e.name)).toEqual(['a1', 'a2', 'a3']);
    expect(a!.final_loss.mean).toBeCloseTo(0.6, 12);
    expect(a!.final_loss.std).toBeCloseTo(0.1, 12);
    expect(formatStat(a!.final_loss)).toBe('0.6 ± 0.1');
    expect(formatStat(a!.final_eval['eval/accuracy'])).toBe('0.75 ± 0.05');
    // The NaN loss is left out and said: two values.
    expect(b!.final_loss).toMatchObject({ n: 2, nan: 1, mean: 1 });
    expect(formatStat(b!.final_loss)).toBe('1 ± 0.1414 (+1 NaN)');
    expect(rows.map((r) => (r.kind === 'group' ? `[${r.members.length}]` : r.exp.name))).toEqual([
      '[3]',
      'a1',
      'a2',
      'a3',
      '[3]',
      'b1',
      'b2',
      'b3',
    ]);
    store.getState().toggleGroupCollapsed(a!.id);
    expect(selectTableRows(store.getState()).map((r) => (r.kind === 'group' ? 'G' : r.exp.name))).toEqual([
      'G',
      'G',
      'b1',
      'b2',
      'b3',
    ]);
    // The arrow keys walk the runs as drawn: grouped order, none from the collapsed group.
    const walked: string[] = [];
    for (let i = 0; i < 4; i++) {
      store.getState().moveSelection(1);
      walked.push(store.getState().selectedPath!.split('/').pop()!);
    }
    expect(walked).toEqual(['b1', 'b2', 'b3', 'b3']);
    store.getState().toggleGroupCollapsed(a!.id);
    store.getState().select('/ws/experiments/a3');
    store.getState().moveSelection(1);
    expect(store.getState().selectedPath).toBe('/ws/experiments/b1');
  });

  it('"everything but the seed" clicked while the menu is still reading configs waits for them', async () => {
    // Hold the configs back: the menu's own load (LoadOnMount) is in flight when the click comes.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const store = setup('/ws', memoryStorage(), gate);
    await store.getState().init();
    void store.getState().loadConfigValues();
    const grouping = store.getState().groupAllButSeed();
    await flush();
    release();
    await grouping;
    expect(headers(selectTableRows(store.getState())).map((h) => h.values)).toEqual([
      { 'dpo.beta': 0.1 },
      { 'dpo.beta': 0.5 },
    ]);
  });

  it('is remembered per workspace', async () => {
    const storage = memoryStorage();
    const one = setup('/ws', storage);
    await one.getState().init();
    one.getState().setGroupBy(['dpo.beta', 'training.seed']);
    await flush();
    expect(headers(selectTableRows(one.getState()))).toHaveLength(6);

    const again = setup('/ws', storage);
    await again.getState().init();
    await flush();
    await flush();
    expect(headers(selectTableRows(again.getState())).map((h) => h.values)[0]).toEqual({
      'dpo.beta': 0.1,
      'training.seed': 1,
    });
    const other = setup('/other', storage);
    await other.getState().init();
    expect(headers(selectTableRows(other.getState()))).toHaveLength(0);
  });
});

describe('group bands in charts', () => {
  const curve = {
    mean: { x: [0, 10, 20], y: [2, 3, 4] },
    lower: { x: [0, 10, 20], y: [1, null, 3] },
    upper: { x: [0, 10, 20], y: [3, 4, 5] },
    members: 3,
    interpolated: true,
    points: 3,
    downsampled: false,
  };

  it('draws a band as one closed polygon (lower edge forward, upper back), gaps left out', () => {
    expect(bandPolygon(curve)).toEqual({ x: [0, 20, 20, 10, 0], y: [1, 3, 5, 4, 3] });
  });

  it('draws a group with one step (an eval at the end) as a dot with the band as its error bar', () => {
    const one = {
      ...curve,
      mean: { x: [100], y: [0.3] },
      lower: { x: [100], y: [0.25] },
      upper: { x: [100], y: [0.35] },
    };
    const parts = groupChartParts([{ label: 'g', color: '#0072B2', paths: [] }], [one], 'std');
    const dot = parts.bands.find((t) => 'mode' in t && t.mode === 'markers') as {
      y: number[];
      error_y: { array: number[]; arrayminus: number[] };
    };
    expect(dot.y).toEqual([0.3]);
    expect(dot.error_y.array[0]).toBeCloseTo(0.05, 12);
    expect(dot.error_y.arrayminus[0]).toBeCloseTo(0.05, 12);
  });

  it('gives each group a mean line and a filled band in its colour, and says when steps were interpolated', () => {
    const groups = [
      { label: 'dpo.beta=0.1', color: '#0072B2', paths: ['/a'] },
      { label: 'dpo.beta=<0.5>', color: '#E69F00', paths: ['/b'] },
    ];
    const parts = groupChartParts(groups, [curve, { ...curve, interpolated: false }], 'std');
    expect(parts.series.map((s) => [s.name, s.color, s.y])).toEqual([
      ['dpo.beta=0.1 (mean of 3)', '#0072B2', [2, 3, 4]],
      ['dpo.beta=<0.5> (mean of 3)', '#E69F00', [2, 3, 4]],
    ]);
    expect(parts.bands).toHaveLength(2);
    expect(parts.bands[1]).toMatchObject({
      fill: 'toself',
      fillcolor: '#E69F00',
      name: 'dpo.beta=&lt;0.5&gt; ±std',
    });
    expect(parts.note).toBe('steps differ: interpolated');
    expect(groupChartParts(groups, [undefined, { ...curve, interpolated: false }], 'minmax')).toMatchObject({
      note: undefined,
      series: [{ name: 'dpo.beta=<0.5> (mean of 3)' }],
    });
  });

  it("a smoothed mean (the host's) is drawn over the raw mean, which stays faint and out of the legend", () => {
    const smoothed = { ...curve, smoothed: { x: [0, 10, 20], y: [2, 2.5, 3] } };
    const parts = groupChartParts([{ label: 'g', color: '#0072B2', paths: [] }], [smoothed], 'std');
    expect(parts.series).toMatchObject([
      { name: 'g (mean of 3) (raw)', y: [2, 3, 4], faint: true, showInLegend: false },
      { name: 'g (mean of 3)', y: [2, 2.5, 3] },
    ]);
  });
});
