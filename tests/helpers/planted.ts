/**
 * What the security tests plant and check: a secret outside every folder, a
 * status file naming whatever processes it likes, and whether a process still
 * runs (issue 15).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { EventName, EventPayload } from '../../src/shared/contract';
import { ExpdeskHost } from '../../src/main/host/host';
import { tmpDir } from './tmp';

/** The text no request, command or bundle may ever give back. */
export const SECRET = 'SECRET-7f3a: the private key of someone else';

/** A file outside every project and experiment holding SECRET, YAML-shaped so a composer that read it would answer its lines as keys. */
export function secretFile(): string {
  const file = path.join(tmpDir('expdesk-secret-'), 'shadow.yaml');
  writeFileSync(file, `secret: ${SECRET}\n`);
  return file;
}

/** A folder that looks like a run Expdesk started, with a status file naming whatever it likes. */
export function plantedRun(fields: Record<string, unknown>): string {
  const dir = path.join(tmpDir('expdesk-planted-'), 'exp001_planted');
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  writeFileSync(path.join(dir, 'config.yaml'), 'training:\n  lr: 0.1\n');
  writeFileSync(path.join(dir, 'metadata.json'), '{"name": "exp001_planted"}\n');
  writeFileSync(
    path.join(dir, 'expdesk_status.json'),
    JSON.stringify({ schema: 'expdesk.status/1', state: 'running', pid: null, hostname: null, ...fields }),
  );
  return dir;
}

/** Alive and not a zombie: /proc says so. */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Poll `cond` (exceptions count as "not yet") until it holds; fails naming `what` after timeoutMs. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (cond()) return;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A browser-mode host on `workspace` (an empty cache of its own) that records every event it emits. */
export function recordingHost(workspace: string): {
  host: ExpdeskHost;
  events: Array<{ event: EventName; payload: unknown }>;
} {
  const host = new ExpdeskHost({
    mode: 'browser',
    version: 't',
    workspace,
    demoWorkspace: null,
    cacheDir: tmpDir('expdesk-planted-cache-'),
  });
  const events: Array<{ event: EventName; payload: unknown }> = [];
  host.onEvent((event, payload) => events.push({ event, payload }));
  return { host, events };
}

/** Everything the recorded `log.data` events streamed, as text: SECRET must never be in it. */
export function streamed(events: Array<{ event: EventName; payload: unknown }>): string {
  return events
    .filter((e) => e.event === 'log.data')
    .map((e) => Buffer.from((e.payload as EventPayload<'log.data'>).data, 'base64').toString('utf8'))
    .join('');
}
