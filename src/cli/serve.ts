/**
 * `expdesk serve`: open a workspace in a host and serve the interface to a
 * browser until SIGINT/SIGTERM. Prints the URL with its token on a line of its
 * own (users copy it, tests grep it).
 */
import { demoWorkspaceDir, expdeskVersion, rendererDir } from '../main/core/app/paths';
import { ExpdeskHost } from '../main/host/host';
import { startServer, type RunningServer } from '../main/server/server';
import { isLoopback } from '../main/server/security';
import { normalizeLocation } from '../main/core/backend/resolve';

/** Tried first when no --port is given, so the URL is stable between runs; busy means ephemeral. */
export const DEFAULT_PORT = 7770;

export interface ServeOptions {
  workspace?: string;
  /** 0 picks a free port; default DEFAULT_PORT, or a free one when that is taken. */
  port?: number;
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Reserved: opening a browser is not implemented (headless nodes are the main use). */
  open?: boolean;
}

export async function runServe(opts: ServeOptions): Promise<void> {
  const demo = demoWorkspaceDir();
  // A remote workspace (ssh://…, host:/path) is kept as written; a local one is made absolute.
  const workspace = opts.workspace ? normalizeLocation(opts.workspace) : demo;
  const bindAddress = opts.host ?? '127.0.0.1';
  if (!isLoopback(bindAddress)) {
    process.stderr.write(
      `expdesk: WARNING: binding to ${bindAddress}, not a loopback address: anyone who can reach ` +
        `this machine and learns the token can read the workspace. Prefer an SSH tunnel ` +
        `(ssh -L 7770:127.0.0.1:7770 host).\n`,
    );
  }
  const host = new ExpdeskHost({
    mode: 'browser',
    version: expdeskVersion(),
    workspace,
    demoWorkspace: demo,
  });

  let server: RunningServer;
  const base = { host, bindAddress, rendererDir: rendererDir() };
  if (opts.port !== undefined) {
    server = await startServer({ ...base, port: opts.port });
  } else {
    try {
      server = await startServer({ ...base, port: DEFAULT_PORT });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      process.stderr.write(`expdesk: port ${DEFAULT_PORT} is busy; using a free one\n`);
      server = await startServer({ ...base, port: 0 });
    }
  }

  process.stdout.write(`Expdesk is serving ${workspace ?? '(no workspace)'} — open this URL:\n`);
  process.stdout.write(`${server.urlWithToken}\n`);
  if (opts.open) process.stdout.write('(--open is not supported yet: open the URL above in a browser)\n');

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stderr.write(`expdesk: ${signal}, stopping\n`);
      server.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
