// @vitest-environment happy-dom
/** The React tree over a fake client, in happy-dom: what the table and the detail panel render. */
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../../../src/renderer/App';
import { createExpdeskStore, type ExpdeskStore } from '../../../src/renderer/store';
import { StoreContext } from '../../../src/renderer/store-context';
import { detailOf, FakeClient, listing, summary } from './fakes';

// React's act() needs to know it runs in a test environment.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

let container: HTMLDivElement;
let root: Root;
let store: ExpdeskStore;
let client: FakeClient;

beforeEach(async () => {
  const ws = listing('/ws', []);
  ws.experiments = [
    summary({ path: '/ws/e/ok', gitHash: '0123456789abcdef', gitDirty: true }),
    summary({
      path: '/ws/e/bad',
      final_loss: null,
      final_loss_nonfinite: 'NaN',
      final_eval: { 'eval/loss': 0.41, 'eval/accuracy': 0.73 },
      status: {
        state: 'failed',
        source: 'failed-file',
        reason: 'FAILED.txt',
        failedAtStep: 42,
        traceback: 'Traceback (most recent call last):\nRuntimeError: boom',
      },
      problems: [
        { file: 'logs/metrics.jsonl', line: 3, message: 'malformed JSON' },
        { file: 'config.yaml', line: 1, message: 'config.yaml is nested deeper than 100 levels', count: 2 },
      ],
      diverged: { metric: 'train/loss', step: 40, value: 'NaN' },
    }),
    summary({ path: '/ws/e/evil', name: EVIL }),
  ];
  client = new FakeClient()
    .handle('app.info', () => ({ version: '1.2.3', mode: 'browser', workspace: '/ws', demoWorkspace: null }))
    .handle('workspace.list', () => ws)
    .handle('experiments.watch', () => ({ subscription: 'w' }))
    .handle('experiments.compare', ({ paths }) => ({
      experiments: [],
      configDiff: [],
      configSame: paths.length ? [{ key: 'experiment.name', value: 'x' }] : [],
      metadataDiff: [],
      metadataSame: [],
    }))
    .handle('experiment.get', ({ path }) => {
      const s = ws.experiments.find((e) => e.path === path)!;
      return { ...detailOf(s), metadata: { sample: EVIL } };
    });
  store = createExpdeskStore(client, { storage: null });
  container = document.createElement('div');
  document.body.appendChild(container);
  root = createRoot(container);
  await act(async () => {
    root.render(
      <StoreContext.Provider value={store}>
        <App />
      </StoreContext.Provider>,
    );
    await store.getState().init();
  });
});

afterEach(() => {
  act(() => root.unmount());
  container.remove();
});

const q = (testId: string): HTMLElement | null => container.querySelector(`[data-testid="${testId}"]`);
const rows = (): HTMLElement[] => [
  ...container.querySelectorAll<HTMLElement>('[data-testid="experiment-row"]'),
];

describe('App', () => {
  it('renders the table: statuses, numbers, git hash and problems', () => {
    expect(q('workspace-path')?.textContent).toBe('/ws');
    expect(rows()).toHaveLength(3);
    const [ok, bad] = rows();
    expect(ok!.querySelector('[data-testid="status-badge"]')?.textContent).toBe('completed?');
    expect(ok!.textContent).toContain('0123456');
    expect(ok!.querySelector('.dirty')?.getAttribute('title')).toMatch(/uncommitted changes/i);
    expect(bad!.querySelector('[data-testid="status-badge"]')?.textContent).toBe('failed');
    expect(bad!.querySelector('[data-testid="cell-final-loss"]')?.textContent).toBe('NaN');
    expect(bad!.textContent).toContain('eval/loss 0.41 · eval/accuracy 0.73');
    expect(q('experiment-count')?.textContent).toBe('3');
  });

  it('tells rows apart by folder, marks problems in words and a diverged run (issue 16)', () => {
    const [ok, bad, evil] = rows();
    // The folder is the identity; a different name follows it.
    expect(ok!.querySelector('[data-testid="cell-folder"]')?.textContent).toBe('ok');
    expect(ok!.querySelector('[data-testid="cell-alias"]')).toBeNull();
    expect(evil!.querySelector('[data-testid="cell-folder"]')?.textContent).toBe('evil');
    expect(ok!.querySelector('[data-testid="row-problem"]')).toBeNull();
    const mark = bad!.querySelector('[data-testid="row-problem"]');
    expect(mark?.textContent).toBe('⚠ malformed JSON (+1)');
    expect(mark?.getAttribute('title')).toBe(
      'logs/metrics.jsonl:3: malformed JSON\nconfig.yaml:1: config.yaml is nested deeper than 100 levels (2 times)',
    );
    expect(bad!.querySelector('[data-testid="diverged-mark"]')?.getAttribute('title')).toBe(
      'Diverged: train/loss is NaN at step 40',
    );
    expect(ok!.querySelector('[data-testid="diverged-mark"]')).toBeNull();
  });

  it('shows a failed run in the detail panel with its step and traceback', async () => {
    await act(async () => rows()[1]!.click());
    expect(q('failed-at')?.textContent).toBe('Failed at step 42');
    expect(q('traceback')?.textContent).toContain('RuntimeError: boom');
    expect(q('detail-problems')?.textContent).toContain('logs/metrics.jsonl:3: malformed JSON');
    expect(q('detail-problems')?.textContent).toContain(
      'config.yaml:1: config.yaml is nested deeper than 100 levels (2 times)',
    );
  });

  it('renders untrusted text as text', async () => {
    expect(rows()[2]!.querySelector('[data-testid="cell-alias"]')?.textContent).toBe(EVIL);
    await act(async () => rows()[2]!.click());
    expect(q('detail-name')?.textContent).toBe(EVIL);
    expect(q('detail-metadata')?.textContent).toContain(EVIL);
    expect(container.querySelectorAll('script, img')).toHaveLength(0);
  });

  it('moves with the arrow keys and opens with Enter', async () => {
    const key = (k: string): void => {
      window.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
    };
    await act(async () => {
      key('ArrowDown');
      key('ArrowDown');
    });
    expect(rows()[1]!.getAttribute('aria-selected')).toBe('true');
    await act(async () => key('Enter'));
    expect(q('detail-panel')).not.toBeNull();
    expect(client.calls.at(-1)).toEqual({ name: 'experiment.get', params: { path: '/ws/e/bad' } });
    await act(async () => key('Escape'));
    expect(q('detail-panel')).toBeNull();
  });

  it('shows an error banner when a folder cannot be opened', async () => {
    client.handle('workspace.open', () => {
      throw Object.assign(new Error('no such folder: /nope'), { code: 'not-found' });
    });
    await act(async () => {
      await store.getState().openWorkspace('/nope');
    });
    expect(q('error-banner')?.textContent).toContain('no such folder: /nope');
    expect(rows()).toHaveLength(3);
  });
});
