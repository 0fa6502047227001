/** The renderer store's actions against a fake client: no DOM, no server. */
import { describe, expect, it } from 'vitest';
import { ClientError } from '../../../src/renderer/api/client';
import { createExpdeskStore, initialData } from '../../../src/renderer/store';
import type { WorkspaceListing } from '../../../src/shared/model';
import { deferred, detailOf, FakeClient, flush, listing, summary } from './fakes';

/** Requests the store makes in the background (live updates, config columns), left out of sequence checks. */
const BACKGROUND = new Set([
  'experiments.watch',
  'experiments.unwatch',
  'experiments.compare',
  'remote.status',
]);
const foreground = (client: FakeClient): string[] =>
  client.calls.map((c) => c.name).filter((n) => !BACKGROUND.has(n));

const INFO = { version: '1.0.0', mode: 'browser' as const, workspace: '/ws', demoWorkspace: '/demo' };

function setup(
  list: WorkspaceListing = listing('/ws', ['/ws/experiments/a', '/ws/experiments/b', '/ws/experiments/c']),
) {
  const client = new FakeClient()
    .handle('app.info', () => INFO)
    .handle('workspace.list', () => list)
    .handle('experiment.get', ({ path }) => detailOf(summary({ path })))
    .handle('experiments.watch', () => ({ subscription: 'w' }))
    .handle('experiments.unwatch', () => ({}));
  const store = createExpdeskStore(client, { storage: null });
  return { client, store };
}

describe('init', () => {
  it('loads app info and the open workspace', async () => {
    const { client, store } = setup();
    await store.getState().init();
    const s = store.getState();
    expect(s.info).toEqual(INFO);
    expect(s.listing?.experiments.map((e) => e.folder)).toEqual(['a', 'b', 'c']);
    expect(s.listingLoading).toBe(false);
    expect(s.listingError).toBeNull();
    // Nothing shown yet: the table's fields first, then the whole listing of the same root.
    expect(foreground(client)).toEqual(['app.info', 'workspace.list', 'workspace.list']);
    expect(client.calls.filter((c) => c.name === 'workspace.list').map((c) => c.params)).toEqual([
      { tableOnly: true, limit: 200 },
      { root: '/ws' },
    ]);
  });

  it('lists nothing when no workspace is open', async () => {
    const { client, store } = setup();
    client.handle('app.info', () => ({ ...INFO, workspace: null }));
    await store.getState().init();
    expect(store.getState().listing).toBeNull();
    expect(foreground(client)).toEqual(['app.info']);
  });

  it('shows a failing listing as an error message', async () => {
    const { client, store } = setup();
    client.handle('workspace.list', () => {
      throw new ClientError('not-found', 'no such folder: /ws');
    });
    await store.getState().init();
    expect(store.getState().listingError).toBe('no such folder: /ws');
    expect(store.getState().listingLoading).toBe(false);
  });

  it('follows workspace.changed from elsewhere, ignores its own, and stops on dispose', async () => {
    const { client, store } = setup();
    await store.getState().init();
    client.handle('workspace.list', () => listing('/other', ['/other/x']));
    client.emit('workspace.changed', { root: '/ws' }); // already shown: nothing to do
    await flush();
    expect(client.calls.filter((c) => c.name === 'workspace.list')).toHaveLength(2); // table, then whole
    client.emit('workspace.changed', { root: '/other' });
    await flush();
    expect(store.getState().listing?.root).toBe('/other');
    expect(store.getState().info?.workspace).toBe('/other');
    store.getState().dispose();
    expect(client.listenerCount()).toBe(0);
  });

  it('tracks the connection and lists again after a reconnect', async () => {
    const { client, store } = setup();
    await store.getState().init();
    client.setConnection('closed');
    expect(store.getState().connection).toBe('closed');
    client.setConnection('connecting');
    client.setConnection('open');
    await flush();
    expect(store.getState().connection).toBe('open');
    // The first load's two phases, then one whole listing (a table is shown: no table-only phase).
    expect(client.calls.filter((c) => c.name === 'workspace.list').map((c) => c.params)).toEqual([
      { tableOnly: true, limit: 200 },
      { root: '/ws' },
      {},
    ]);
  });
});

describe('openWorkspace', () => {
  it('opens a folder by path and shows its listing', async () => {
    const { client, store } = setup();
    await store.getState().init();
    client.handle('workspace.open', ({ root }) => listing(root, [`${root}/e1`]));
    expect(await store.getState().openWorkspace('  /new  ')).toBe(true);
    expect(client.calls.filter((c) => c.name === 'workspace.open')).toEqual([
      { name: 'workspace.open', params: { root: '/new' } },
    ]);
    expect(store.getState().listing?.root).toBe('/new');
    expect(store.getState().info?.workspace).toBe('/new');
  });

  it('keeps the old listing and shows the error when the folder cannot be opened', async () => {
    const { client, store } = setup();
    await store.getState().init();
    client.handle('workspace.open', () => {
      throw new ClientError('not-found', 'no experiments in /nope');
    });
    expect(await store.getState().openWorkspace('/nope')).toBe(false);
    expect(store.getState().listingError).toBe('no experiments in /nope');
    expect(store.getState().listing?.root).toBe('/ws');
    store.getState().dismissError();
    expect(store.getState().listingError).toBeNull();
  });

  it('refuses an empty path without asking the host', async () => {
    const { client, store } = setup();
    expect(await store.getState().openWorkspace('   ')).toBe(false);
    expect(store.getState().listingError).toMatch(/path/);
    expect(client.calls).toHaveLength(0);
  });

  it('drops the selection and detail of experiments that are gone', async () => {
    const { client, store } = setup();
    await store.getState().init();
    await store.getState().openDetail('/ws/experiments/b');
    client.handle('workspace.open', ({ root }) => listing(root, [`${root}/e1`]));
    await store.getState().openWorkspace('/new');
    const s = store.getState();
    expect(s.selectedPath).toBeNull();
    expect(s.detailPath).toBeNull();
    expect(s.detail).toBeNull();
  });

  it('a slow earlier listing cannot overwrite a later one', async () => {
    const { client, store } = setup();
    await store.getState().init();
    const slow = deferred<WorkspaceListing>();
    client.handle('workspace.open', ({ root }) => (root === '/slow' ? slow.promise : listing(root, [])));
    const first = store.getState().openWorkspace('/slow');
    await store.getState().openWorkspace('/fast');
    slow.resolve(listing('/slow', []));
    await first;
    expect(store.getState().listing?.root).toBe('/fast');
  });
});

describe('selection and detail', () => {
  it('moves the highlight with the keyboard, clamped to the table', async () => {
    const { store } = setup();
    await store.getState().init();
    const s = () => store.getState();
    s().moveSelection(1);
    expect(s().selectedPath).toBe('/ws/experiments/a');
    s().moveSelection(1);
    s().moveSelection(1);
    s().moveSelection(1);
    expect(s().selectedPath).toBe('/ws/experiments/c');
    s().moveSelection(-1);
    expect(s().selectedPath).toBe('/ws/experiments/b');
    s().select(null);
    s().moveSelection(-1);
    expect(s().selectedPath).toBe('/ws/experiments/c');
  });

  it('opens the highlighted experiment (Enter) and shows its detail', async () => {
    const { client, store } = setup();
    await store.getState().init();
    store.getState().moveSelection(1);
    await store.getState().openDetail();
    const s = store.getState();
    expect(client.calls.at(-1)).toEqual({ name: 'experiment.get', params: { path: '/ws/experiments/a' } });
    expect(s.detailPath).toBe('/ws/experiments/a');
    expect(s.detail?.summary.path).toBe('/ws/experiments/a');
    expect(s.detailLoading).toBe(false);
    store.getState().closeDetail();
    expect(store.getState().detail).toBeNull();
  });

  it('shows only the last clicked experiment when answers arrive out of order', async () => {
    const { client, store } = setup();
    await store.getState().init();
    const slow = deferred<ReturnType<typeof detailOf>>();
    client.handle('experiment.get', ({ path }) =>
      path.endsWith('/a') ? slow.promise : detailOf(summary({ path })),
    );
    const first = store.getState().openDetail('/ws/experiments/a');
    await store.getState().openDetail('/ws/experiments/b');
    slow.resolve(detailOf(summary({ path: '/ws/experiments/a' })));
    await first;
    expect(store.getState().detail?.summary.path).toBe('/ws/experiments/b');
    expect(store.getState().selectedPath).toBe('/ws/experiments/b');
  });

  it('shows a detail error in the panel', async () => {
    const { client, store } = setup();
    await store.getState().init();
    client.handle('experiment.get', () => {
      throw new ClientError('not-found', 'gone');
    });
    await store.getState().openDetail('/ws/experiments/a');
    expect(store.getState().detailError).toBe('gone');
    expect(store.getState().detail).toBeNull();
  });

  it('refresh lists again and reloads the open detail', async () => {
    const { client, store } = setup();
    await store.getState().init();
    await store.getState().openDetail('/ws/experiments/c');
    client.calls.length = 0;
    await store.getState().refresh();
    expect(foreground(client)).toEqual(['workspace.list', 'experiment.get']);
    expect(store.getState().detailPath).toBe('/ws/experiments/c');
  });
});

describe('reset', () => {
  it('returns to the initial data', async () => {
    const { store } = setup();
    await store.getState().init();
    await store.getState().openDetail('/ws/experiments/a');
    store.getState().reset();
    const s = store.getState();
    for (const [k, v] of Object.entries(initialData())) expect(s[k as keyof typeof s], k).toEqual(v);
  });
});
