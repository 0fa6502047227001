/** For alert tests: a long-running `expdesk watch`, a webhook receiver on 127.0.0.1, and run folders that change. */
import { spawn, type ChildProcess } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EXPDESK_BIN } from './cli';
import { writeExperiment } from './experiments';

/** Wait for a condition (never a fixed sleep): polls every 50 ms, fails with `what` after a generous limit. */
export async function until(cond: () => boolean, what: () => string, limitMs = 90_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Watching {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** The alert lines printed so far. */
  lines(): string[];
  stop(): Promise<void>;
}

/** `expdesk watch` as a user starts it, until stop(). */
export async function startWatch(args: string[], env: NodeJS.ProcessEnv): Promise<Watching> {
  const child = spawn(process.execPath, [EXPDESK_BIN, 'watch', ...args], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const w: Watching = {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    lines: () => stdout.split('\n').filter(Boolean),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('close', () => resolve());
        child.kill('SIGTERM');
      }),
  };
  await until(
    () => /watching \d+ experiment/.test(stderr) || child.exitCode !== null,
    () => `expdesk watch to start: ${stderr}`,
  );
  if (child.exitCode !== null) throw new Error(`expdesk watch exited: ${stderr}`);
  return w;
}

export interface Receiver {
  url: string;
  /** The JSON bodies received and answered 2xx, in order. */
  accepted: unknown[];
  /** Requests answered with an error. */
  refused: number;
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1 that answers 500 to its first `failFirst` posts, then 200. */
export async function webhookReceiver(failFirst = 0): Promise<Receiver> {
  const r: Receiver = { url: '', accepted: [], refused: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (r.refused < failFirst) {
        r.refused++;
        res.writeHead(500).end('down');
        return;
      }
      r.accepted.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  r.close = () => new Promise((resolve) => server.close(() => resolve()));
  return r;
}

/** A run that Expdesk's status file says is running, in a live process (this test's). */
export function runningRun(dir: string, metrics = ''): string {
  return writeExperiment(dir, {
    metrics,
    status: {
      schema: 'expdesk.status/1',
      state: 'running',
      pid: process.pid,
      hostname: os.hostname(),
      started_at: new Date().toISOString().slice(0, 19),
    },
  });
}

/** Record the run's end as its wrapper does (atomically). */
export function endRun(dir: string, state: 'completed' | 'failed', exitCode: number): void {
  const file = path.join(dir, 'expdesk_status.json');
  const now = new Date();
  const local = new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 23);
  writeFileSync(
    `${file}.tmp`,
    JSON.stringify({
      schema: 'expdesk.status/1',
      state,
      pid: process.pid,
      hostname: os.hostname(),
      ended_at: local,
      exit_code: exitCode,
      signal: null,
    }),
  );
  renameSync(`${file}.tmp`, file);
}
