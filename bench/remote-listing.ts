/**
 * Benchmark: listing a remote workspace of 300 seed-written experiments
 * through a link with 50 ms of latency each way (a fault proxy in front of a
 * real sshd on 127.0.0.1), against one bare exec round trip (`true`) through
 * the same link, measured in the same run — so the ratio says how many round
 * trips the listing cost. The target: under 3 s, connection included.
 * `expdesk list ssh://…` runs from its bundle, built first as `npm run build`
 * does (an installed package runs it; a stale bundle would run the sources
 * through tsx, compiling them on every start).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SshConnection } from '../src/main/core/remote/connection';
import { RemoteWorkspace } from '../src/main/core/remote/remote-workspace';
import { SummaryStore } from '../src/main/core/summary/summary-store';
import { parseRemoteLocation } from '../src/shared/remote-location';
import { FaultProxy } from '../tests/helpers/fault-proxy';
import { startSshd } from '../tests/helpers/sshd';
import { median, type BenchResult } from './report';
import { makeSeedWorkspace } from './seed-workspace';

const REPO = path.resolve(import.meta.dirname, '..');
const EXPERIMENTS = 300;
const ONE_WAY_MS = 50;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** The CLI's runs: at least 5, their median the figure (one run swings by ±0.1 s on a shared 2-core machine). */
const CLI_RUNS = Math.max(RUNS, 5);

function cliList(url: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(REPO, 'bin/expdesk.mjs'), 'list', url], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(err))));
  });
}

export async function benchRemoteListing(): Promise<BenchResult[]> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-bench-remote-'));
  const sshd = await startSshd();
  const proxy = new FaultProxy(sshd.port, { latencyMs: ONE_WAY_MS });
  try {
    process.stderr.write(`writing ${EXPERIMENTS} seed-written experiments…\n`);
    // Dated a day back, as past runs are (fresh copies would look like runs still writing).
    const ws = makeSeedWorkspace(root, EXPERIMENTS, { writtenAgoMs: 24 * 3600_000 });
    sshd.trustPort(await proxy.listen());
    const url = sshd.url(ws, proxy.port);
    const newConn = (): SshConnection =>
      new SshConnection(
        { host: '127.0.0.1', user: sshd.user, port: proxy.port },
        {
          configFile: sshd.sshConfig,
          knownHostsFiles: [sshd.knownHosts],
          identityFiles: [sshd.identity],
          agent: null,
        },
      );

    // Baseline: one bare exec round trip through the same link, on an open connection.
    const base = newConn();
    await base.connect();
    const rtts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await base.exec('true');
      rtts.push(performance.now() - t0);
    }
    base.close();
    const rtt = median(rtts);
    // The floor of any remote command from a new process's view: a new connection plus one command.
    const floors: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const c = newConn();
      const t0 = performance.now();
      await c.connect();
      await c.exec('true');
      floors.push(performance.now() - t0);
      c.close();
    }
    const floor = median(floors);

    const stores: SummaryStore[] = [];
    const cold: Array<{ ms: number; connectMs: number; execs: number; kb: number; count: number }> = [];
    const warm: Array<{ ms: number; execs: number; kb: number }> = [];
    for (let i = 0; i < RUNS; i++) {
      // Cold: a new process's view — new connection, empty summary cache.
      const store = new SummaryStore({ cacheDir: mkdtempSync(path.join(root, 'cache-')) });
      stores.push(store);
      const conn = newConn();
      const t0 = performance.now();
      await conn.connect();
      const connectMs = performance.now() - t0;
      const listing = await new RemoteWorkspace(conn, parseRemoteLocation(url)!, store).list(ws);
      cold.push({
        ms: performance.now() - t0,
        connectMs,
        execs: conn.stats.execs,
        kb: conn.stats.bytesIn / 1024,
        count: listing.experiments.length,
      });
      if (listing.experiments.length !== EXPERIMENTS)
        throw new Error(`listed ${listing.experiments.length} experiments, expected ${EXPERIMENTS}`);
      // Warm: the same again (a refresh): only what changed travels.
      const execs0 = conn.stats.execs;
      const bytes0 = conn.stats.bytesIn;
      const t1 = performance.now();
      await new RemoteWorkspace(conn, parseRemoteLocation(url)!, store).list(ws);
      warm.push({
        ms: performance.now() - t1,
        execs: conn.stats.execs - execs0,
        kb: (conn.stats.bytesIn - bytes0) / 1024,
      });
      conn.close();
      // Its cache writes (due in the background) done now, not during the next run's timing.
      await store.flush();
    }
    const c = cold.sort((a, b) => a.ms - b.ms)[Math.floor(cold.length / 2)]!;
    const w = warm.sort((a, b) => a.ms - b.ms)[Math.floor(warm.length / 2)]!;
    // The proxy (the link) runs in this process: the in-process listings' cache writes, due in
    // the background, are done first, so that they do not hold up its forwarding while the CLI runs.
    await Promise.all(stores.map((s) => s.flush()));
    execFileSync(process.execPath, [path.join(REPO, 'scripts/build-cli.mjs')], { stdio: 'ignore' });
    const cliRuns = await (async () => {
      const out: number[] = [];
      for (let i = 0; i < CLI_RUNS; i++)
        out.push(
          await cliList(url, {
            ...sshd.env,
            EXPDESK_CACHE_DIR: mkdtempSync(path.join(root, 'cli-cache-')),
          }),
        );
      return out;
    })();
    const cliMs = median(cliRuns);
    // The same listing again from a cache a listing filled: the helper finds nothing changed and
    // answers so; the CLI prints the table it kept (src/cli/kept-table.ts).
    const keptCache = mkdtempSync(path.join(root, 'cli-kept-'));
    await cliList(url, { ...sshd.env, EXPDESK_CACHE_DIR: keptCache });
    const keptRuns: number[] = [];
    for (let i = 0; i < CLI_RUNS; i++)
      keptRuns.push(await cliList(url, { ...sshd.env, EXPDESK_CACHE_DIR: keptCache }));
    const keptMs = median(keptRuns);
    const baseline = `one exec round trip ('true') through the same link: ${rtt.toFixed(0)} ms`;
    return [
      {
        name: `remote listing, ${EXPERIMENTS} experiments, ${ONE_WAY_MS} ms each way, cold (connect + list, empty cache)`,
        figure: `${c.ms.toFixed(0)} ms (connect ${c.connectMs.toFixed(0)} ms), ${c.execs} remote command(s), ${c.kb.toFixed(0)} kB`,
        baseline,
        ratio: c.ms / rtt,
        target: 3000 / rtt,
        targetText: 'under 3 s',
      },
      {
        name: `remote listing refresh (same connection, cached summaries)`,
        figure: `${w.ms.toFixed(0)} ms, ${w.execs} remote command(s), ${w.kb.toFixed(0)} kB`,
        baseline,
        ratio: w.ms / rtt,
        target: null,
      },
      {
        name: '`expdesk list ssh://…` end to end (process start, connect, list, print; empty cache)',
        figure: `${cliMs.toFixed(0)} ms (median of ${cliRuns.map((ms) => ms.toFixed(0)).join(', ')})`,
        baseline: `an SSH handshake plus one command ('true') through the same link: ${floor.toFixed(0)} ms`,
        ratio: cliMs / floor,
        target: 1500 / floor,
        targetText: 'under 1.5 s',
      },
      {
        name: '`expdesk list ssh://…` end to end, again, nothing changed (the kept table)',
        figure: `${keptMs.toFixed(0)} ms (median of ${keptRuns.map((ms) => ms.toFixed(0)).join(', ')})`,
        baseline: `an SSH handshake plus one command ('true') through the same link: ${floor.toFixed(0)} ms`,
        ratio: keptMs / floor,
        target: 1500 / floor,
        targetText: 'under 1.5 s',
      },
    ];
  } finally {
    await proxy.close();
    await sshd.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
