/**
 * No stale state (issue 16): the table's filter belongs to its workspace, a
 * config's overrides to that config, the launch form remembers one defined
 * set across a reload, and every event raises one toast however many sources
 * tell it. The store against a fake client.
 */
import { describe, expect, it } from 'vitest';
import type { KeyValueStorage } from '../../../src/renderer/lib/recent';
import { runEventKey } from '../../../src/renderer/state/app';
import { createExpdeskStore, selectVisibleExperiments } from '../../../src/renderer/store';
import type { WorkspaceListing } from '../../../src/shared/model';
import { deferred, detailOf, FakeClient, flush, listing, summary } from './fakes';

function memoryStorage(): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

const WORKSPACES: Record<string, WorkspaceListing> = {
  '/ws': listing('/ws', ['/ws/experiments/a', '/ws/experiments/b']),
  '/other': listing('/other', ['/other/experiments/x']),
};
WORKSPACES['/ws']!.experiments[1]!.status = { state: 'failed', source: 'failed-file', reason: '' };

/** Two workspaces, each a project with two configs; compose echoes the overrides it was given. */
function setup(storage: KeyValueStorage | null = memoryStorage()) {
  let open = '/ws';
  const client = new FakeClient()
    .handle('app.info', () => ({ version: '1', mode: 'browser', workspace: '/ws', demoWorkspace: null }))
    .handle('workspace.list', () => WORKSPACES[open]!)
    .handle('workspace.open', ({ root }) => WORKSPACES[(open = root)]!)
    .handle('experiment.get', ({ path }) => detailOf(summary({ path })))
    .handle('experiments.watch', () => ({ subscription: 'w' }))
    .handle('experiments.unwatch', () => ({}))
    .handle('project.git', () => ({ git: null, checkedAtLaunch: false }))
    .handle('config.list', () => ({
      root: open,
      files: ['a.yaml', 'b.yaml'].map((f) => ({ path: `${open}/configs/${f}`, rel: `configs/${f}` })),
    }))
    .handle('config.read', () => ({ text: 'k: 1\n' }))
    .handle('config.compose', ({ file, overrides }) => ({
      ok: true,
      config: { k: 1 },
      base: null,
      files: [file],
      frozen: `# ${(overrides ?? []).join(' ')}\n`,
      namePreview: 'n',
    }))
    .handle('run.start', ({ configFile }) => ({
      expDir: `${open}/experiments/new_${configFile.split('/').pop()}`,
      name: 'new',
      warnings: [],
      tmuxSession: 't',
      diesWithExpdesk: false,
    }));
  const store = createExpdeskStore(client, { storage });
  return { client, store, s: () => store.getState() };
}

describe('the filter belongs to its workspace', () => {
  it('another workspace shows its own filter (none yet), and the first gets its own back', async () => {
    const { store, s } = setup();
    await s().init();
    s().setQuery('status:failed');
    expect(selectVisibleExperiments(s()).map((e) => e.folder)).toEqual(['b']);

    await s().openWorkspace('/other');
    expect(s().query).toBe('');
    expect(selectVisibleExperiments(s()).map((e) => e.folder)).toEqual(['x']);
    // A run just launched there is shown: no filter of /ws hides it.
    s().applyUpdate(summary({ path: '/other/experiments/just_launched' }));
    expect(selectVisibleExperiments(store.getState()).map((e) => e.folder)).toEqual(['x', 'just_launched']);
    s().setQuery('x');

    await s().openWorkspace('/ws');
    expect(s().query).toBe('status:failed');
    await s().openWorkspace('/other');
    expect(s().query).toBe('x');
  });
});

describe('overrides belong to their config', () => {
  it('switching config shows that config’s own overrides, and launches with them only', async () => {
    const { client, s } = setup();
    await s().init();
    await s().openLaunch();
    expect(s().configFile).toBe('/ws/configs/a.yaml');
    s().setOverrides([{ key: 'training.lr', value: '0.5' }]);
    s().setLaunchField({ sweep: 'seed=1,2' });

    await s().openConfig('/ws/configs/b.yaml');
    expect(s().overrides).toEqual([]);
    expect(s().sweep).toBe('');
    const composeB = client.calls.filter((c) => c.name === 'config.compose').at(-1)!;
    expect(composeB.params).toMatchObject({ file: '/ws/configs/b.yaml', overrides: [] });
    await s().launch(null);
    const start = client.calls.find((c) => c.name === 'run.start')!;
    expect(start.params).toMatchObject({ configFile: '/ws/configs/b.yaml', overrides: [] });

    await s().openLaunch('/ws/configs/a.yaml');
    expect(s().overrides).toEqual([{ key: 'training.lr', value: '0.5' }]);
    expect(s().sweep).toBe('seed=1,2');
  });

  it('keeps them per config for the page’s life without a storage too', async () => {
    const { s } = setup(null);
    await s().init();
    await s().openLaunch();
    s().setOverrides([{ key: 'k', value: '2' }]);
    await s().openConfig('/ws/configs/b.yaml');
    expect(s().overrides).toEqual([]);
    await s().openConfig('/ws/configs/a.yaml');
    expect(s().overrides).toEqual([{ key: 'k', value: '2' }]);
  });
});

describe('what the launch form remembers across a reload', () => {
  it('command, interpreter, where and SLURM per workspace; overrides and sweep per config; never seed or name', async () => {
    const storage = memoryStorage();
    const first = setup(storage);
    await first.s().init();
    await first.s().openLaunch();
    first.s().setLaunchField({ command: 'python3 run.py {config}', python: '/venv/bin/python', seed: '7' });
    first.s().setLaunchField({ runName: 'mine', refuseDirty: true });
    first.s().setWhere('slurm');
    first.s().setSlurmField({ partition: 'gpu' });
    first.s().setOverrides([{ key: 'training.lr', value: '0.5' }]);

    // A reload: a new store over the same storage.
    const again = setup(storage);
    await again.s().init();
    await again.s().openLaunch();
    expect(again.s()).toMatchObject({
      command: 'python3 run.py {config}',
      python: '/venv/bin/python',
      refuseDirty: true,
      where: 'slurm',
      slurm: { partition: 'gpu' },
      configFile: '/ws/configs/a.yaml',
      overrides: [{ key: 'training.lr', value: '0.5' }],
      seed: '',
      runName: '',
    });
    // The composition the reloaded form shows is made with those overrides.
    expect(again.s().compose).toMatchObject({ frozen: '# training.lr=0.5\n' });

    // Another workspace has its own form and configs: none of this.
    await again.s().openWorkspace('/other');
    expect(again.s().configFile).toBeNull();
    await again.s().openLaunch();
    expect(again.s()).toMatchObject({
      command: 'python3 train.py {config}',
      where: 'local',
      configFile: '/other/configs/a.yaml',
      overrides: [],
    });
  });

  it('takes an older version’s command and "where" as the defaults of a workspace not remembered yet', async () => {
    const storage = memoryStorage();
    storage.setItem('expdesk.launchForm', JSON.stringify({ command: 'bash go.sh {config}' }));
    storage.setItem(
      'expdesk.launchWhere',
      JSON.stringify({ '/ws': { where: 'slurm', slurm: { qos: 'hi' } } }),
    );
    const { s } = setup(storage);
    await s().init();
    await s().openLaunch();
    expect(s()).toMatchObject({ command: 'bash go.sh {config}', where: 'slurm', slurm: { qos: 'hi' } });
  });
});

describe('one toast per event', () => {
  const running = { state: 'running' as const, source: 'status-file' as const, reason: '' };

  it('stopping a run: the answer and the status events raise one toast between them', async () => {
    const { client, s } = setup();
    await s().init();
    client.emit('experiment.updated', { summary: summary({ path: '/ws/experiments/a', status: running }) });
    const answer = deferred<{ state: string; exitCode: number | null; signal: string | null }>();
    client.handle('run.stop', () => answer.promise);
    const stopping = s().stopRun('/ws/experiments/a');
    // The status events arrive before the answer (the usual order over a socket), twice over.
    client.emit('run.status', { expDir: '/ws/experiments/a', state: 'stopped' });
    client.emit('experiment.updated', {
      summary: summary({ path: '/ws/experiments/a', status: { ...running, state: 'stopped' } }),
    });
    answer.resolve({ state: 'stopped', exitCode: null, signal: 'SIGINT' });
    await stopping;
    await flush();
    expect(s().toasts.map((t) => t.text)).toEqual(['a was stopped']);

    // The answer first, then the event (a trailing slash on the path changes nothing).
    client.emit('experiment.updated', { summary: summary({ path: '/ws/experiments/b', status: running }) });
    client.handle('run.stop', () => ({ state: 'stopped', exitCode: null, signal: 'SIGTERM' }));
    await s().stopRun('/ws/experiments/b');
    client.emit('run.status', { expDir: '/ws/experiments/b/', state: 'stopped' });
    expect(s().toasts.map((t) => t.text)).toEqual(['a was stopped', 'Stopped b (stopped, SIGTERM)']);
  });

  it('a run that finishes: its status and the alert for it raise one toast', async () => {
    const { client, s } = setup();
    await s().init();
    client.emit('run.status', { expDir: '/ws/experiments/a', state: 'running' });
    client.emit('run.status', { expDir: '/ws/experiments/a', state: 'completed' });
    // What the alert listener (components/Alerts.tsx) does with `alert.fired`.
    expect(s().toastOnce(runEventKey('/ws/experiments/a', 'completed'), 'success', 'a: completed')).toBe(
      false,
    );
    expect(s().toastOnce(runEventKey('/ws/experiments/a', 'stalled'), 'warning', 'a: stalled')).toBe(true);
    expect(s().toasts.map((t) => t.text)).toEqual(['a finished', 'a: stalled']);
  });
});
