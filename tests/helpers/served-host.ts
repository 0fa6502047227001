/** A real host behind a real `expdesk serve` server on a free port, with a stand-in page. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ExpdeskHost } from '../../src/main/host/host';
import { startServer, type RunningServer } from '../../src/main/server/server';
import { tmpDir } from './tmp';

export interface ServedHost {
  host: ExpdeskHost;
  server: RunningServer;
  close(): Promise<void>;
}

export async function serveHost(workspace: string | null): Promise<ServedHost> {
  const host = new ExpdeskHost({
    mode: 'browser',
    version: 'test',
    workspace,
    demoWorkspace: null,
    cacheDir: tmpDir('expdesk-served-cache-'),
  });
  const rendererDir = tmpDir('expdesk-served-renderer-');
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>t</title>');
  const server = await startServer({ host, port: 0, rendererDir, log: () => undefined });
  return {
    host,
    server,
    close: async () => {
      await server.close();
      host.dispose();
    },
  };
}
