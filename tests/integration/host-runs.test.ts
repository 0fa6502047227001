/**
 * Runs through the API contract, as the interface drives them: compose with
 * live errors, launch, follow the log by byte offset (every byte once, also
 * across a re-subscription from an offset), and see the status events.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventName, EventPayload } from '../../src/shared/contract';
import { ExpdeskHost } from '../../src/main/host/host';
import { tmpDir } from '../helpers/tmp';
import { demoProject, usePrivateTmux } from '../helpers/demo-project';

// Runs go to a private tmux server (privateTmux sets TMUX_TMPDIR for this process).
usePrivateTmux();

const project = (): string => demoProject('expdesk-hostproj-', null);

// Launches spawn tmux and Python: on a loaded two-core machine they take longer than the default 30 s.
describe('runs through the host', { timeout: 120_000 }, () => {
  it('config.compose answers resolved values, or the error at its line', async () => {
    const proj = project();
    const host = new ExpdeskHost({
      mode: 'browser',
      version: 't',
      workspace: proj,
      demoWorkspace: null,
      cacheDir: tmpDir(),
    });
    const ok = await host.dispatch('config.compose', {
      file: path.join(proj, 'configs', 'dpo_beta0.05.yaml'),
      overrides: ['training.lr=0.5'],
    });
    expect(ok).toMatchObject({ ok: true, config: { dpo: { beta: 0.05 }, training: { lr: 0.5 } } });
    expect((ok as { namePreview: string }).namePreview).toMatch(/^dpo_tiny-llama-1m_beta0\.05_\d{4}_\d{4}$/);
    // Its base is the defaults' composition, and the overrides' "before" is the files' own config.
    expect(ok).toMatchObject({
      base: { dpo: { beta: 0.1 } },
      beforeOverrides: { dpo: { beta: 0.05 }, training: { lr: 5e-5 } },
    });
    // base.yaml pulls in no defaults: no base at all (nothing "changed from base"); without overrides, no "before".
    const plain = await host.dispatch('config.compose', { file: path.join(proj, 'configs', 'base.yaml') });
    expect(plain).toMatchObject({
      ok: true,
      base: null,
      beforeOverrides: null,
      config: { dpo: { beta: 0.1 } },
    });
    writeFileSync(path.join(proj, 'configs', 'bad.yaml'), 'defaults: [base]\nx: ${training.nope}\n');
    const bad = await host.dispatch('config.compose', { file: path.join(proj, 'configs', 'bad.yaml') });
    expect(bad).toMatchObject({
      ok: false,
      error: { file: path.join(proj, 'configs', 'bad.yaml'), line: 2, column: 1 },
    });
    // The editor's unsaved text is composed in place of the file: the error moves with it,
    // and the file on disk is left as it was.
    const file = path.join(proj, 'configs', 'dpo_beta0.05.yaml');
    const saved = readFileSync(file, 'utf8');
    const draft = await host.dispatch('config.compose', {
      file,
      text: `${saved}\n\nnote: \${training.nope}\n`,
    });
    expect(draft).toMatchObject({
      ok: false,
      error: { file, line: saved.split('\n').length + 2, column: 1 },
    });
    const fixed = await host.dispatch('config.compose', { file, text: saved.replace('0.05', '0.3') });
    expect(fixed).toMatchObject({ ok: true, config: { dpo: { beta: 0.3 } } });
    expect(readFileSync(file, 'utf8')).toBe(saved);
    // The launch form's dirty-tree warning: what a launch now would record, experiments/ left out.
    expect(await host.dispatch('project.git', {})).toMatchObject({
      git: { changed: 1, changes: ['?? configs/bad.yaml'] },
    });
    mkdirSync(path.join(proj, 'experiments', 'exp001_x'), { recursive: true });
    writeFileSync(path.join(proj, 'experiments', 'exp001_x', 'metadata.json'), '{}\n');
    expect(await host.dispatch('project.git', {})).toMatchObject({ git: { changed: 1 } });
    writeFileSync(path.join(proj, 'new_module.py'), 'X = 1\n');
    expect(await host.dispatch('project.git', {})).toMatchObject({
      git: { root: realpathSync(proj), changed: 2, changes: ['?? configs/bad.yaml', '?? new_module.py'] },
    });
    expect(await host.dispatch('project.git', { root: tmpDir() })).toEqual({
      git: null,
      checkedAtLaunch: false,
    });
    await expect(host.dispatch('run.start', { configFile: 'x', command: [] })).rejects.toMatchObject({
      code: 'bad-request',
    });
    host.dispose();
  });

  it('launches, streams every byte of the log with offsets, and reports the end', async () => {
    const proj = project();
    const host = new ExpdeskHost({
      mode: 'browser',
      version: 't',
      workspace: proj,
      demoWorkspace: null,
      cacheDir: tmpDir(),
    });
    const events: Array<{ event: EventName; payload: unknown }> = [];
    host.onEvent((event, payload) => events.push({ event, payload }));
    const started = (await host.dispatch('run.start', {
      configFile: path.join(proj, 'configs', 'base.yaml'),
      overrides: ['training.max_steps=40'],
      command: ['python3', 'train.py', '{config}', '--step-delay', '0.03'],
    })) as { expDir: string; tmuxSession: string | null };
    expect(started.tmuxSession).toMatch(/^expdesk-exp001_/);
    // Started means its log exists: the subscription follows train.log, never the script's train_rank0.log.
    expect(existsSync(path.join(started.expDir, 'logs', 'train.log'))).toBe(true);
    const sub = (await host.dispatch('log.subscribe', { expDir: started.expDir })) as {
      subscription: string;
      offset: number;
      file: string;
    };
    expect(sub).toMatchObject({ offset: 0, file: 'train.log' });

    const deadline = Date.now() + 30_000;
    while (
      !events.some(
        (e) => e.event === 'run.status' && (e.payload as EventPayload<'run.status'>).state === 'completed',
      )
    ) {
      if (Date.now() > deadline) throw new Error('run did not complete');
      await new Promise((r) => setTimeout(r, 100));
    }
    // The last chunks may still be on their way (the follower polls): wait for the file's length.
    const logFile = path.join(started.expDir, 'logs', 'train.log');
    const streamed = (): EventPayload<'log.data'>[] =>
      events.filter((e) => e.event === 'log.data').map((e) => e.payload as EventPayload<'log.data'>);
    const streamedBytes = (): number =>
      streamed().reduce((n, c) => n + Buffer.from(c.data, 'base64').length, 0);
    while (streamedBytes() < statSync(logFile).size && Date.now() < deadline + 10_000) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const chunks = streamed();
    let expectedOffset = 0;
    const parts: Buffer[] = [];
    for (const c of chunks) {
      expect(c.offset).toBe(expectedOffset);
      const b = Buffer.from(c.data, 'base64');
      parts.push(b);
      expectedOffset += b.length;
    }
    const log = readFileSync(logFile);
    expect(Buffer.concat(parts).equals(log)).toBe(true);
    const states = events
      .filter((e) => e.event === 'run.status')
      .map((e) => (e.payload as EventPayload<'run.status'>).state);
    expect(states).toEqual(['running', 'completed']);

    // A client that reconnects from an offset gets exactly the rest.
    events.length = 0;
    const resumed = (await host.dispatch('log.subscribe', { expDir: started.expDir, fromOffset: 100 })) as {
      subscription: string;
    };
    await new Promise((r) => setTimeout(r, 600));
    const rest = Buffer.concat(
      events
        .filter(
          (e) =>
            e.event === 'log.data' &&
            (e.payload as EventPayload<'log.data'>).subscription === resumed.subscription,
        )
        .map((e) => Buffer.from((e.payload as EventPayload<'log.data'>).data, 'base64')),
    );
    expect(rest.equals(log.subarray(100))).toBe(true);
    host.dispose();
  });

  it('a new host re-attaches to a run still alive and sees it end', async () => {
    const proj = project();
    const first = new ExpdeskHost({
      mode: 'browser',
      version: 't',
      workspace: proj,
      demoWorkspace: null,
      cacheDir: tmpDir(),
    });
    const started = (await first.dispatch('run.start', {
      configFile: path.join(proj, 'configs', 'base.yaml'),
      overrides: ['training.max_steps=40'],
      command: ['python3', 'train.py', '{config}', '--step-delay', '0.05'],
    })) as { expDir: string };
    first.dispose(); // the window closed: only the tmux client goes

    const second = new ExpdeskHost({
      mode: 'browser',
      version: 't',
      workspace: proj,
      demoWorkspace: null,
      cacheDir: tmpDir(),
    });
    const states: string[] = [];
    second.onEvent((event, payload) => {
      if (event === 'run.status') states.push((payload as EventPayload<'run.status'>).state);
    });
    const listing = (await second.dispatch('workspace.list', {})) as {
      experiments: Array<{ path: string; status: { state: string } }>;
    };
    expect(listing.experiments.find((e) => e.path === started.expDir)!.status.state).toBe('running');
    const deadline = Date.now() + 30_000;
    while (!states.includes('completed')) {
      if (Date.now() > deadline) throw new Error(`no completion seen: ${states.join(',')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(states).toEqual(['running', 'completed']);
    second.dispose();
  });
});
