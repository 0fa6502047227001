// @vitest-environment happy-dom
/** The interface's components over a fake client in happy-dom: toolbar, columns, tabs, outputs, compare, dialogs. */
import { act, cleanup, configure, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../../../src/renderer/App';
import { compareRows } from '../../../src/renderer/components/CompareView';
import { createExpdeskStore, type ExpdeskStore } from '../../../src/renderer/store';
import { StoreContext } from '../../../src/renderer/store-context';
import type { CompareResult } from '../../../src/shared/contract';
import { detailOf, FakeClient, listing, summary } from './fakes';

// findBy*/waitFor wait for a condition; the library's 1 s default is a timing bet that a loaded
// 2-core machine loses (a lazily loaded view can take longer to arrive), so the limit is generous.
configure({ asyncUtilTimeout: 15_000 });

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const EVIL = '<img src=x onerror="window.__pwned = 1">';
const stats = (last: number) => ({
  last,
  lastStep: 5,
  min: last,
  max: last,
  best: last,
  bestStep: 5,
  direction: 'min' as const,
  count: 5,
  nonFinite: 0,
});

let store: ExpdeskStore;
let client: FakeClient;

const COMPARE: CompareResult = {
  experiments: [
    summary({ path: '/ws/e/a', metrics: { 'eval/loss': stats(0.5) } }),
    summary({ path: '/ws/e/b', metrics: { 'eval/loss': stats(0.4) } }),
  ],
  configDiff: [{ key: 'dpo.beta', values: [0.1, 0.05], present: [true, true] }],
  configSame: [{ key: 'model.name', value: 'tiny' }],
  metadataDiff: [{ key: 'git_hash', values: ['aaa', 'bbb'], present: [true, true] }],
  metadataSame: [],
};

beforeEach(async () => {
  localStorage.clear();
  const ws = listing('/ws', []);
  ws.experiments = [
    summary({
      path: '/ws/e/a',
      total_steps: 5,
      metrics: { 'eval/loss': stats(0.5) },
      gpu: { peakMemoryMiB: 32512, meanUtilization: 49.5 },
    }),
    summary({
      path: '/ws/e/b',
      total_steps: 7,
      metrics: { 'eval/loss': stats(0.4) },
      gpu: { peakMemoryMiB: 1024, meanUtilization: 87 },
    }),
    summary({
      path: '/ws/e/c',
      total_steps: 3,
      status: { state: 'failed', source: 'failed-file', reason: 'FAILED.txt', failedAtStep: 3 },
    }),
  ];
  client = new FakeClient()
    .handle('app.info', () => ({ version: '1.0.0', mode: 'browser', workspace: '/ws', demoWorkspace: null }))
    .handle('workspace.list', () => ws)
    .handle('experiments.watch', () => ({ subscription: 'w' }))
    .handle('experiments.compare', () => COMPARE)
    .handle('experiment.get', ({ path }) => ({
      ...detailOf(ws.experiments.find((e) => e.path === path)!),
      outputs: [
        { kind: 'eval', name: 'eval/step_5.json', path: `${path}/outputs/eval/step_5.json`, size: 20 },
        {
          kind: 'samples',
          name: 'samples/samples.jsonl',
          path: `${path}/outputs/samples/samples.jsonl`,
          size: 40,
        },
      ],
    }))
    .handle('file.read', ({ path }) =>
      path.endsWith('.json')
        ? { text: '{"step": 5, "eval/loss": NaN}', size: 30, truncated: false }
        : { text: JSON.stringify({ prompt: EVIL, response: 'ok' }) + '\n', size: 60, truncated: false },
    );
  store = createExpdeskStore(client, { storage: null });
  await act(async () => {
    render(
      <StoreContext.Provider value={store}>
        <App />
      </StoreContext.Provider>,
    );
    await store.getState().init();
  });
});

afterEach(() => {
  cleanup();
  store.getState().dispose();
});

const rows = (): HTMLElement[] => screen.queryAllByTestId('experiment-row');
const key = (k: string): void => {
  act(() => {
    window.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
  });
};

describe('the experiments view', () => {
  it('filters as the user types and by status chip', () => {
    expect(rows()).toHaveLength(3);
    fireEvent.change(screen.getByTestId('filter-input'), { target: { value: 'status:failed' } });
    expect(rows().map((r) => r.dataset.name)).toEqual(['c']);
    expect(screen.getByTestId('shown-count').textContent).toContain('1 of 3');
    fireEvent.change(screen.getByTestId('filter-input'), { target: { value: '' } });
    fireEvent.click(screen.getByTestId('status-chip-failed'));
    expect(store.getState().query).toBe('status:failed');
    expect(rows()).toHaveLength(1);
  });

  it('sorts by a header click and adds a metric column from the chooser', async () => {
    fireEvent.click(screen.getByTestId('col-steps'));
    expect(rows().map((r) => r.dataset.name)).toEqual(['c', 'a', 'b']);
    expect(screen.getByTestId('col-steps').getAttribute('aria-sort')).toBe('ascending');
    fireEvent.click(screen.getByTestId('column-chooser'));
    const menu = await screen.findByTestId('column-menu');
    const box = [...menu.querySelectorAll('label')].find((l) => l.textContent?.includes('eval/loss'));
    fireEvent.click(box!.querySelector('input')!);
    expect(screen.getByTestId('col-metric:eval/loss')).toBeTruthy();
    expect(rows()[1]!.textContent).toContain('0.5');
  });

  it('shows peak GPU memory and mean GPU utilisation with units, "—" without, and sorts by them', () => {
    act(() => store.getState().toggleColumn('gpu_memory'));
    act(() => store.getState().toggleColumn('gpu_util'));
    expect(store.getState().columns.slice(-2)).toEqual(['gpu_memory', 'gpu_util']);
    // The two added columns are each row's last two cells.
    const cells = (): string[][] =>
      rows().map((r) => [...r.querySelectorAll('[role=gridcell]')].slice(-2).map((c) => c.textContent ?? ''));
    expect(screen.getByTestId('col-gpu_memory').textContent).toContain('Peak GPU mem');
    expect(cells()).toEqual([
      ['32 GiB', '50%'],
      ['1.0 GiB', '87%'],
      ['—', '—'],
    ]);
    fireEvent.click(screen.getByTestId('col-gpu_util'));
    expect(rows().map((r) => r.dataset.name)).toEqual(['a', 'b', 'c']);
    fireEvent.click(screen.getByTestId('col-gpu_util'));
    // Descending: the busiest GPU first, a run without GPU fields still last.
    expect(rows().map((r) => r.dataset.name)).toEqual(['b', 'a', 'c']);
  });

  it('checks rows with Space and compares them with c', async () => {
    key('ArrowDown');
    key(' ');
    key('ArrowDown');
    key(' ');
    expect(store.getState().checked).toEqual(['/ws/e/a', '/ws/e/b']);
    expect(screen.getByTestId('compare-button').textContent).toBe('Compare 2');
    key('c');
    const view = await screen.findByTestId('compare-view');
    await waitFor(() => expect(view.querySelector('[data-testid=changed-cell]')?.textContent).toBe('0.05'));
    expect(view.querySelector('[data-key="model.name"]')).toBeNull();
    fireEvent.click(screen.getByTestId('hide-equal'));
    expect(view.querySelector('[data-key="model.name"]')).not.toBeNull();
    expect(screen.getByTestId('metadata-table').textContent).toContain('bbb');
    // Parallel coordinates cover every run in the table, not only the two compared.
    await waitFor(() => expect(screen.getAllByTestId('parcoords-line')).toHaveLength(3));
    key('Escape');
    expect(store.getState().view).toBe('experiments');
  });

  it('shows the shortcuts with ?', () => {
    key('?');
    expect(screen.getByTestId('shortcuts-dialog').textContent).toContain('Filter the experiments');
    key('Escape');
    expect(screen.queryByTestId('shortcuts-dialog')).toBeNull();
  });
});

describe('one experiment', () => {
  it('switches tabs with number keys; outputs show eval tables and samples as text', async () => {
    await act(async () => {
      fireEvent.click(rows()[0]!);
    });
    expect(screen.getByTestId('tab-overview').getAttribute('aria-selected')).toBe('true');
    key('5');
    expect(screen.getByTestId('tab-outputs').getAttribute('aria-selected')).toBe('true');
    const table = await screen.findByTestId('eval-table');
    expect(table.textContent).toContain('eval/loss');
    expect(table.textContent).toContain('null'); // NaN in the file
    fireEvent.click(screen.getAllByTestId('output-file')[1]!);
    const samples = await screen.findByTestId('samples');
    expect(samples.textContent).toContain(EVIL);
    expect(document.querySelectorAll('#root img, [data-testid=samples] img')).toHaveLength(0);
  });

  it('offers Show in folder only on the desktop, saying why', async () => {
    await act(async () => {
      fireEvent.click(rows()[2]!);
    });
    const reveal = screen.getByTestId('action-reveal') as HTMLButtonElement;
    expect(reveal.disabled).toBe(true);
    expect(reveal.title).toMatch(/desktop app/);
    expect(screen.getByTestId('failed-at').textContent).toBe('Failed at step 3');
    expect(screen.queryByTestId('action-stop')).toBeNull(); // not running
  });
});

describe('compare CSV', () => {
  it('has one row per metric, config key and metadata difference, values per experiment', () => {
    const rows = compareRows(COMPARE, ['eval/loss']);
    expect(rows[0]).toEqual(['section', 'key', 'a', 'b']);
    expect(rows).toContainEqual(['metric final', 'eval/loss', 0.5, 0.4]);
    expect(rows).toContainEqual(['config', 'dpo.beta', 0.1, 0.05]);
    expect(rows).toContainEqual(['config (equal)', 'model.name', 'tiny', 'tiny']);
    expect(rows).toContainEqual(['metadata', 'git_hash', 'aaa', 'bbb']);
  });
});

describe('notes, tags, star and archive', () => {
  it('stars from the table, tags and archives from the detail view, and hides archived rows', async () => {
    const notes = new Map<string, { tags: string[]; note: string; starred: boolean; archived: boolean }>();
    client.handle('experiments.annotate', ({ paths, change }) => ({
      annotations: paths.map((p) => {
        const a = notes.get(p) ?? { tags: [], note: '', starred: false, archived: false };
        const next = {
          tags: [...a.tags.filter((t) => !(change.removeTags ?? []).includes(t)), ...(change.addTags ?? [])],
          note: change.note ?? a.note,
          starred: change.starred ?? a.starred,
          archived: change.archived ?? a.archived,
        };
        notes.set(p, next);
        return next;
      }),
    }));
    const star = screen.getAllByTestId('cell-tags')[0]!.querySelector('button')!;
    await act(async () => {
      fireEvent.click(star);
    });
    expect(client.calls.at(-1)).toEqual({
      name: 'experiments.annotate',
      params: { paths: ['/ws/e/a'], change: { starred: true } },
    });
    expect(screen.getAllByTestId('cell-tags')[0]!.textContent).toContain('★');

    await act(async () => {
      fireEvent.click(rows()[1]!);
    });
    fireEvent.change(screen.getByTestId('tag-input'), { target: { value: 'baseline' } });
    await act(async () => {
      fireEvent.submit(screen.getByTestId('tag-input').closest('form')!);
    });
    expect(screen.getByTestId('tag-list').textContent).toContain('#baseline');
    await act(async () => {
      fireEvent.click(screen.getByTestId('archive-toggle'));
    });
    expect(notes.get('/ws/e/b')).toEqual({ tags: ['baseline'], note: '', starred: false, archived: true });
    key('Escape');
    await waitFor(() => expect(rows()).toHaveLength(2)); // the archived run is hidden
    fireEvent.change(screen.getByTestId('filter-input'), { target: { value: 'archived tag:baseline' } });
    expect(rows()).toHaveLength(1);
  });
});
