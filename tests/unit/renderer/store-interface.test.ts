/** The store's interface features against a fake client: live updates, table state, compare, launch, notifications. */
import { describe, expect, it } from 'vitest';
import type { CompareResult } from '../../../src/shared/contract';
import type { KeyValueStorage } from '../../../src/renderer/lib/recent';
import type { Notifier } from '../../../src/renderer/lib/notify';
import { createExpdeskStore, selectVisibleExperiments } from '../../../src/renderer/store';
import { detailOf, FakeClient, flush, listing, summary } from './fakes';

const INFO = { version: '1.0.0', mode: 'browser' as const, workspace: '/ws', demoWorkspace: null };

function memoryStorage(): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

function recordingNotifier(): Notifier & { shown: string[][]; asked: number } {
  const n = {
    shown: [] as string[][],
    asked: 0,
    permission: () => 'default' as const,
    request: async () => {
      n.asked++;
      return 'granted' as const;
    },
    show: (title: string, body: string) => void n.shown.push([title, body]),
  };
  return n;
}

function compareOf(paths: string[], configs: Record<string, Record<string, number | string>>): CompareResult {
  const keys = [...new Set(paths.flatMap((p) => Object.keys(configs[p] ?? {})))];
  const configDiff = [];
  const configSame = [];
  for (const key of keys) {
    const values = paths.map((p) => configs[p]?.[key] ?? null);
    const present = paths.map((p) => key in (configs[p] ?? {}));
    if (new Set(values.map((v) => JSON.stringify(v))).size > 1 || present.includes(false))
      configDiff.push({ key, values, present });
    else configSame.push({ key, value: values[0]! });
  }
  return {
    experiments: paths.map((p) => summary({ path: p })),
    configDiff,
    configSame,
    metadataDiff: [],
    metadataSame: [],
  };
}

function setup(paths = ['/ws/experiments/a', '/ws/experiments/b', '/ws/experiments/c']) {
  const storage = memoryStorage();
  const notifier = recordingNotifier();
  const ws = listing('/ws', paths);
  const configs: Record<string, Record<string, number | string>> = {
    '/ws/experiments/a': { 'dpo.beta': 0.1, 'model.name': 'm' },
    '/ws/experiments/b': { 'dpo.beta': 0.05, 'model.name': 'm' },
    '/ws/experiments/c': { 'dpo.beta': 0.2, 'model.name': 'm' },
  };
  const client = new FakeClient()
    .handle('app.info', () => INFO)
    .handle('workspace.list', () => ws)
    .handle('experiment.get', ({ path }) =>
      detailOf(ws.experiments.find((e) => e.path === path) ?? summary({ path })),
    )
    .handle('experiments.watch', () => ({ subscription: 'w1' }))
    .handle('experiments.unwatch', () => ({}))
    .handle('experiments.compare', ({ paths: ps }) => compareOf(ps, configs));
  const store = createExpdeskStore(client, { storage, notifier });
  return { client, store, storage, notifier, ws };
}

describe('live updates', () => {
  it('watches the listed experiments, replaces an updated row and adds a new run', async () => {
    const { client, store } = setup();
    await store.getState().init();
    await flush();
    const watch = client.calls.find((c) => c.name === 'experiments.watch');
    expect((watch!.params as { paths: string[] }).paths).toHaveLength(3);

    const before = store.getState().listing!.experiments;
    client.emit('experiment.updated', { summary: summary({ path: '/ws/experiments/b', total_steps: 99 }) });
    const after = store.getState().listing!.experiments;
    expect(after[1]!.total_steps).toBe(99);
    expect(after[0]).toBe(before[0]); // other rows keep their identity: memoised rows do not re-render

    client.emit('experiment.updated', { summary: summary({ path: '/ws/experiments/d' }) });
    expect(store.getState().listing!.experiments.map((e) => e.folder)).toEqual(['a', 'b', 'c', 'd']);
    client.emit('experiment.updated', { summary: summary({ path: '/elsewhere/x' }) });
    expect(store.getState().listing!.experiments).toHaveLength(4);
  });

  it('keeps the open detail in step with its row', async () => {
    const { client, store } = setup();
    await store.getState().init();
    await store.getState().openDetail('/ws/experiments/a');
    client.emit('experiment.updated', { summary: summary({ path: '/ws/experiments/a', records: 123 }) });
    expect(store.getState().detail!.summary.records).toBe(123);
  });

  it('drops its watches when another workspace opens, and when disposed', async () => {
    const { client, store } = setup();
    await store.getState().init();
    await flush();
    client.handle('workspace.open', ({ root }) => listing(root, [`${root}/x`]));
    await store.getState().openWorkspace('/other');
    await flush();
    expect(client.calls.filter((c) => c.name === 'experiments.unwatch')).toHaveLength(1);
    store.getState().dispose();
    expect(client.calls.filter((c) => c.name === 'experiments.unwatch')).toHaveLength(2);
  });

  it('keeps working when the host cannot watch', async () => {
    const { client, store } = setup();
    client.handle('experiments.watch', () => {
      throw new Error('not available');
    });
    await store.getState().init();
    await flush();
    expect(store.getState().listing!.experiments).toHaveLength(3);
    expect(store.getState().listingError).toBeNull();
  });
});

describe('table state', () => {
  it('filters and sorts the visible rows; the keyboard moves in that order', async () => {
    const { store } = setup();
    await store.getState().init();
    await flush();
    const s = () => store.getState();
    await s().loadConfigValues();
    expect(s().configIndex['/ws/experiments/b']).toEqual({ 'dpo.beta': 0.05, 'model.name': 'm' });
    expect(s().varyingConfigKeys).toEqual(['dpo.beta']);

    s().cycleSort('cfg:dpo.beta');
    expect(selectVisibleExperiments(s()).map((e) => e.folder)).toEqual(['b', 'a', 'c']);
    s().moveSelection(1);
    expect(s().selectedPath).toBe('/ws/experiments/b');
    s().moveSelection(1);
    expect(s().selectedPath).toBe('/ws/experiments/a');

    s().setQuery('dpo.beta>0.07');
    expect(selectVisibleExperiments(s()).map((e) => e.folder)).toEqual(['a', 'c']);
    expect(selectVisibleExperiments(s())).toBe(selectVisibleExperiments(s())); // memoised
  });

  it('shows, sorts and filters by the key hyperparameters a listing carries without loading configs', async () => {
    const { client, store, ws } = setup();
    const betas = [0.1, 0.05, 0.2];
    ws.experiments.forEach((e, i) => (e.params = { 'dpo.beta': betas[i]!, 'training.lr': 1e-5 }));
    await store.getState().init();
    await flush();
    const s = () => store.getState();
    const compares = () => client.calls.filter((c) => c.name === 'experiments.compare').length;
    // The default columns (cfg:dpo.beta, cfg:training.lr) need nothing more than the listing.
    expect(s().columns).toContain('cfg:dpo.beta');
    s().cycleSort('cfg:dpo.beta');
    expect(selectVisibleExperiments(s()).map((e) => e.folder)).toEqual(['b', 'a', 'c']);
    s().setQuery('dpo.beta>0.07');
    expect(selectVisibleExperiments(s()).map((e) => e.folder)).toEqual(['a', 'c']);
    s().setQuery('training.seed=1'); // a listed key the configs lack: no row, still no load
    expect(selectVisibleExperiments(s())).toEqual([]);
    await flush();
    expect(compares()).toBe(0);
    // Any other key loads the configs.
    s().setQuery('model.name=m');
    await flush();
    expect(compares()).toBe(1);
    expect(selectVisibleExperiments(s()).map((e) => e.folder)).toEqual(['b', 'a', 'c']); // still by beta
  });

  it('persists the chosen columns, always keeping status and name', async () => {
    const { store, storage } = setup();
    store.getState().setColumns(['git', 'cfg:training.lr']);
    expect(store.getState().columns).toEqual(['status', 'name', 'git', 'cfg:training.lr']);
    expect(JSON.parse(storage.data.get('expdesk.tableColumns')!)).toEqual(store.getState().columns);
    store.getState().toggleColumn('git');
    expect(store.getState().columns).toEqual(['status', 'name', 'cfg:training.lr']);
    const again = createExpdeskStore(new FakeClient(), { storage });
    expect(again.getState().columns).toEqual(['status', 'name', 'cfg:training.lr']);
  });

  it('remembers opened workspaces, newest first', async () => {
    const { client, store, storage } = setup();
    client.handle('workspace.open', ({ root }) => listing(root, []));
    await store.getState().openWorkspace('/one');
    await store.getState().openWorkspace('/two');
    await store.getState().openWorkspace('/one');
    expect(store.getState().recent).toEqual(['/one', '/two']);
    store.getState().forgetRecent('/two');
    expect(JSON.parse(storage.data.get('expdesk.recentWorkspaces')!)).toEqual(['/one']);
  });
});

describe('compare', () => {
  it('compares the checked experiments and shows the Compare view', async () => {
    const { client, store } = setup();
    await store.getState().init();
    store.getState().toggleChecked('/ws/experiments/a');
    await store.getState().openCompare();
    expect(store.getState().view).toBe('experiments'); // one is not a comparison
    expect(store.getState().toasts.at(-1)!.text).toMatch(/two or more/);
    store.getState().toggleChecked('/ws/experiments/c');
    await store.getState().openCompare();
    expect(store.getState().view).toBe('compare');
    expect(client.calls.at(-1)).toEqual({
      name: 'experiments.compare',
      params: { paths: ['/ws/experiments/a', '/ws/experiments/c'] },
    });
    expect(store.getState().compare!.configDiff.map((r) => r.key)).toEqual(['dpo.beta']);
  });
});

describe('launch', () => {
  function launchable() {
    const ctx = setup();
    const files: Record<string, string> = { '/ws/configs/base.yaml': 'a: 1\n' };
    ctx.client
      .handle('config.list', () => ({
        root: '/ws',
        files: [{ path: '/ws/configs/base.yaml', rel: 'configs/base.yaml' }],
      }))
      .handle('config.read', ({ file }) => ({ text: files[file]! }))
      .handle('config.write', ({ file, text }) => {
        files[file] = text;
        return {};
      })
      .handle('config.compose', ({ file, overrides, text }) =>
        (text ?? files[file]!).includes('${')
          ? { ok: false, error: { file, line: 2, column: 4, message: 'no key nope in the config' } }
          : {
              ok: true,
              config: { a: 1 },
              base: {},
              files: [file],
              frozen: 'a: 1\n',
              namePreview: `dpo_m_${(overrides ?? []).join('_')}`,
            },
      )
      .handle('run.start', () => ({
        expDir: '/ws/experiments/exp009',
        name: 'exp009',
        warnings: ['the working tree has uncommitted changes'],
        tmuxSession: 'expdesk-9',
        diesWithExpdesk: false,
      }));
    return { ...ctx, files };
  }

  it('opens the first config and composes it; saving composes again and marks errors', async () => {
    const { store, files } = launchable();
    await store.getState().init();
    await store.getState().openLaunch();
    const s = () => store.getState();
    expect(s().view).toBe('launch');
    expect(s().configFile).toBe('/ws/configs/base.yaml');
    expect(s().configText).toBe('a: 1\n');
    expect(s().compose).toMatchObject({ ok: true });
    s().setConfigDirty(true);
    expect(await s().saveConfig('a: 1\nb: ${nope}\n')).toBe(true);
    expect(files['/ws/configs/base.yaml']).toBe('a: 1\nb: ${nope}\n');
    expect(s().configDirty).toBe(false);
    expect(s().compose).toMatchObject({ ok: false, error: { line: 2 } });
  });

  it('launches with the form, asks for notifications, shows the live log with its warnings', async () => {
    const { client, store, notifier } = launchable();
    await store.getState().init();
    await store.getState().openLaunch();
    const s = () => store.getState();
    s().setOverrides([
      { key: 'training.max_steps', value: '60' },
      { key: '', value: 'ignored' },
    ]);
    s().setLaunchField({ command: `python3 train.py {config} --tag 'a b'`, seed: '7' });
    await s().launch(null);
    expect(notifier.asked).toBe(1);
    const start = client.calls.find((c) => c.name === 'run.start');
    expect(start!.params).toEqual({
      configFile: '/ws/configs/base.yaml',
      command: ['python3', 'train.py', '{config}', '--tag', 'a b'],
      overrides: ['training.max_steps=60'],
      seed: 7,
    });
    expect(s().view).toBe('experiments');
    expect(s().detailPath).toBe('/ws/experiments/exp009');
    expect(s().tab).toBe('log');
    expect(s().launchNotes!.warnings).toEqual(['the working tree has uncommitted changes']);
    expect(s().listing!.experiments.some((e) => e.path === '/ws/experiments/exp009')).toBe(true);
  });

  it("submits to SLURM with the form's fields as sbatch options, remembered for this workspace only", async () => {
    const { client, store, storage } = launchable();
    await store.getState().init();
    await store.getState().openLaunch();
    const s = () => store.getState();
    expect(s().where).toBe('local');
    s().setWhere('slurm');
    s().setSlurmField({
      partition: 'gpu',
      gpusPerNode: '4',
      time: '04:00:00',
      extra: "--gres=gpu:4 --comment='a b'",
    });
    await s().launch(null);
    const start = client.calls.find((c) => c.name === 'run.start');
    expect(start!.params).toMatchObject({
      slurm: {
        sbatch: ['--partition=gpu', '--gpus-per-node=4', '--time=04:00:00', '--gres=gpu:4', '--comment=a b'],
      },
    });
    // Remembered per workspace (across a reload): the same workspace gets it back, another starts on this machine.
    const reloaded = createExpdeskStore(client, { storage });
    await reloaded.getState().init();
    reloaded.getState().restoreForm();
    expect(reloaded.getState().where).toBe('slurm');
    expect(reloaded.getState().slurm.partition).toBe('gpu');
    const saved = JSON.parse(storage.data.get('expdesk.launchMemory')!) as Record<string, unknown>;
    storage.setItem('expdesk.launchMemory', JSON.stringify({ '/other': saved['/ws'] }));
    reloaded.getState().restoreForm();
    expect(reloaded.getState().where).toBe('local');
  });

  it('a sweep with where SLURM goes to the host as one sweep with its sbatch options (a job array there)', async () => {
    const { client, store } = launchable();
    client.handle('run.sweep', () => ({
      sweepId: 'sweep_20261201_120000_abcdef',
      maxParallel: 2,
      members: [0, 1, 2].map((i) => ({ expDir: `/ws/experiments/exp01${i}`, name: `exp01${i}` })),
      warnings: [],
    }));
    await store.getState().init();
    await store.getState().openLaunch();
    const s = () => store.getState();
    s().setWhere('slurm');
    s().setSlurmField({ partition: 'gpu' });
    s().setLaunchField({ sweep: 'dpo.beta=0.1,0.2,0.3\n', maxParallel: '2' });
    await s().launch(null);
    expect(s().launchError).toBeNull();
    expect(client.calls.find((c) => c.name === 'run.start')).toBeUndefined();
    expect(client.calls.find((c) => c.name === 'run.sweep')!.params).toMatchObject({
      sweep: ['dpo.beta=0.1,0.2,0.3'],
      maxParallel: 2,
      slurm: { sbatch: ['--partition=gpu'] },
    });
    expect(s().view).toBe('experiments');
  });

  it('composes the unsaved text while typing, and marks only answers about that text', async () => {
    const { client, store } = launchable();
    await store.getState().openLaunch();
    const s = () => store.getState();
    s().setConfigDirty(true);
    s().setConfigDraft('a: 1\nb: ${nope}\n');
    await new Promise((r) => setTimeout(r, 400)); // the typing pause
    const composed = client.calls.filter((c) => c.name === 'config.compose').pop();
    expect(composed!.params).toMatchObject({ text: 'a: 1\nb: ${nope}\n' });
    expect(s().compose).toMatchObject({ ok: false, error: { line: 2 } });
    expect(s().composedDraft).toBe('a: 1\nb: ${nope}\n');
    // Back to the saved text: no draft is sent, and the answer is about the file.
    s().setConfigDraft('a: 1\n');
    await new Promise((r) => setTimeout(r, 400));
    expect(client.calls.filter((c) => c.name === 'config.compose').pop()!.params).not.toHaveProperty('text');
    expect(s().compose).toMatchObject({ ok: true });
    expect(s().composedDraft).toBeNull();
  });

  it('shows the dirty tree before launching, and refuses it when asked to', async () => {
    const { client, store } = launchable();
    client.handle('project.git', () => ({
      git: { root: '/ws', hash: 'abc', branch: 'main', changes: [' M train.py'], changed: 1 },
      checkedAtLaunch: false,
    }));
    await store.getState().openLaunch();
    await new Promise((r) => setTimeout(r, 0));
    expect(store.getState().gitState).toMatchObject({ changed: 1, changes: [' M train.py'] });
    store.getState().setLaunchField({ refuseDirty: true });
    await store.getState().launch(null);
    expect(store.getState().launchError).toMatch(/1 uncommitted change/);
    expect(client.calls.some((c) => c.name === 'run.start')).toBe(false);
  });

  it('refuses a bad command or seed without asking the host', async () => {
    const { client, store } = launchable();
    await store.getState().openLaunch();
    store.getState().setLaunchField({ command: `python3 "oops` });
    await store.getState().launch(null);
    expect(store.getState().launchError).toMatch(/unclosed/);
    store.getState().setLaunchField({ command: 'python3 train.py', seed: 'x' });
    await store.getState().launch(null);
    expect(store.getState().launchError).toMatch(/Seed/);
    expect(client.calls.some((c) => c.name === 'run.start')).toBe(false);
  });
});

describe('run notifications', () => {
  it('announces a run that ends or fails, once', async () => {
    const { client, store, notifier } = setup();
    await store.getState().init();
    client.emit('run.status', { expDir: '/ws/experiments/a', state: 'running' });
    client.emit('run.status', { expDir: '/ws/experiments/a', state: 'failed' });
    client.emit('experiment.updated', {
      summary: summary({
        path: '/ws/experiments/a',
        status: { state: 'failed', source: 'failed-file', reason: '' },
      }),
    });
    expect(notifier.shown).toEqual([['Run failed', 'a']]);
    expect(store.getState().toasts.at(-1)).toMatchObject({ kind: 'error', text: 'a failed' });
    // A run seen only as finished (never running here) is not news.
    client.emit('run.status', { expDir: '/ws/experiments/b', state: 'completed' });
    expect(notifier.shown).toHaveLength(1);
  });

  it('announces a run that finishes as seen through experiment.updated too', async () => {
    const { client, store, notifier } = setup();
    await store.getState().init();
    const running = { state: 'running' as const, source: 'status-file' as const, reason: '' };
    client.emit('experiment.updated', { summary: summary({ path: '/ws/experiments/c', status: running }) });
    client.emit('experiment.updated', {
      summary: summary({ path: '/ws/experiments/c', status: { ...running, state: 'completed' } }),
    });
    expect(notifier.shown).toEqual([['Run finished', 'c']]);
  });
});
