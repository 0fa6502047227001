/**
 * The first listing of a workspace in two phases (issue 14): the table's fields first
 * (workspace.list with tableOnly), the whole listing right after, filling the other columns.
 */
import { describe, expect, it } from 'vitest';
import { createExpdeskStore } from '../../../src/renderer/store';
import type { WorkspaceListing } from '../../../src/shared/model';
import { deferred, FakeClient, flush, listing } from './fakes';

const INFO = { version: '1.0.0', mode: 'browser' as const, workspace: '/ws', demoWorkspace: '/demo' };
const PATHS = ['/ws/experiments/a', '/ws/experiments/b'];

/** The whole listing: what a table-only one leaves at its defaults, filled in. */
function whole(root: string, paths: string[]): WorkspaceListing {
  const l = listing(root, paths);
  return {
    ...l,
    experiments: l.experiments.map((e) => ({
      ...e,
      gitHash: 'abc1234',
      startedAt: '2026-12-01T10:00:00Z',
      metrics: {
        'train/loss': {
          ...{ last: 0.5, lastStep: 10, min: 0.4, max: 2, best: 0.4, bestStep: 9 },
          ...{ direction: 'min' as const, count: 10, nonFinite: 0 },
        },
      },
    })),
  };
}

function setup(rest: Promise<WorkspaceListing>) {
  const client = new FakeClient()
    .handle('app.info', () => INFO)
    .handle('workspace.list', (p) =>
      (p as { tableOnly?: boolean }).tableOnly ? listing('/ws', PATHS) : rest,
    )
    .handle('workspace.open', ({ root }) => whole(root, [`${root}/x`]))
    .handle('experiments.watch', () => ({ subscription: 'w' }))
    .handle('experiments.unwatch', () => ({}));
  return { client, store: createExpdeskStore(client, { storage: null }) };
}

describe('two-phase first listing', () => {
  it('shows the table-only rows first, then the whole listing fills their columns', async () => {
    const rest = deferred<WorkspaceListing>();
    const { store } = setup(rest.promise);
    await store.getState().init();
    // The rows are there (the table shows them) while the rest is still on its way.
    let s = store.getState();
    expect(s.listing?.experiments.map((e) => e.folder)).toEqual(['a', 'b']);
    expect(s.listingLoading).toBe(false);
    expect(s.listing?.experiments.map((e) => e.gitHash)).toEqual([null, null]);
    rest.resolve(whole('/ws', PATHS));
    await flush();
    s = store.getState();
    expect(s.listing?.experiments.map((e) => e.gitHash)).toEqual(['abc1234', 'abc1234']);
    expect(s.listing?.experiments[0]?.metrics['train/loss']?.last).toBe(0.5);
    expect(s.listingError).toBeNull();
  });

  it('never installs the first workspace’s rest over a workspace opened meanwhile', async () => {
    const rest = deferred<WorkspaceListing>();
    const { store } = setup(rest.promise);
    await store.getState().init();
    expect(await store.getState().openWorkspace('/other')).toBe(true);
    expect(store.getState().listing?.root).toBe('/other');
    rest.resolve(whole('/ws', PATHS)); // the first workspace's whole listing arrives late
    await flush();
    const s = store.getState();
    expect(s.listing?.root).toBe('/other');
    expect(s.listing?.experiments.map((e) => e.path)).toEqual(['/other/x']);
  });

  it('asks for a first screenful only when the table shows the listing’s order unfiltered', async () => {
    const rest = deferred<WorkspaceListing>();
    const plain = setup(rest.promise);
    await plain.store.getState().init();
    expect(plain.client.calls.find((c) => c.name === 'workspace.list')?.params).toEqual({
      tableOnly: true,
      limit: 200,
    });
    // A filter typed before the workspace was listed: its matches may lie anywhere, so every row.
    const filtered = setup(rest.promise);
    filtered.store.getState().setQuery('dpo');
    await filtered.store.getState().init();
    expect(filtered.client.calls.find((c) => c.name === 'workspace.list')?.params).toEqual({
      tableOnly: true,
    });
  });

  it('a failing second phase keeps the rows and says why', async () => {
    const rest = deferred<WorkspaceListing>();
    const { store } = setup(rest.promise);
    await store.getState().init();
    rest.reject(new Error('the listing cache is unreadable'));
    await flush();
    const s = store.getState();
    expect(s.listing?.experiments.map((e) => e.folder)).toEqual(['a', 'b']);
    expect(s.listingError).toContain('the listing cache is unreadable');
  });

  it('a config column shown: the rows of the whole listing get their config values too', async () => {
    const rest = deferred<WorkspaceListing>();
    const { client, store } = setup(rest.promise);
    const asked: string[] = [];
    client.handle('experiments.compare', ({ paths }) => {
      asked.push(...paths);
      return {
        experiments: [],
        configSame: [{ key: 'dpo.beta', value: 0.1 }],
        configDiff: [],
        metadataSame: [],
        metadataDiff: [],
      } as never;
    });
    client.handle('workspace.list', (p) =>
      (p as { tableOnly?: boolean }).tableOnly ? listing('/ws', PATHS.slice(0, 1)) : rest.promise,
    );
    await store.getState().init();
    store.getState().setColumns(['cfg:dpo.beta']);
    await flush();
    expect(asked).toEqual(['/ws/experiments/a']);
    rest.resolve(whole('/ws', PATHS));
    await flush();
    expect(asked).toEqual(['/ws/experiments/a', '/ws/experiments/b']);
    expect(store.getState().configIndex['/ws/experiments/b']).toEqual({ 'dpo.beta': 0.1 });
  });
});
