/**
 * Browser mode's bundle downloads (issue 16): a bundle exported through
 * `expdesk serve`'s WebSocket is offered at `download/<id>`, to a request
 * holding the page's token only, and only for ids this server made; the
 * default folder app.info names is where an export without a path goes.
 * A real host and server, a real export, the zip unpacked as a receiver would.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../../src/main/server/server';
import { cookieName } from '../../src/main/server/security';
import { checkManifest, unpackBundle } from '../helpers/bundle-unpack';
import { metricsLines, writeExperiment } from '../helpers/experiments';
import { serveHost as serve } from '../helpers/served-host';
import { tmpDir } from '../helpers/tmp';

const HOME = process.env.HOME;
afterEach(() => {
  process.env.HOME = HOME;
});

/** One request over the page's WebSocket (with the token cookie), as the page makes it. */
function ask<T>(server: RunningServer, method: string, params: unknown): Promise<T> {
  const at = `127.0.0.1:${server.port}`;
  const ws = new WebSocket(`ws://${at}/api`, {
    headers: { cookie: `${cookieName(server.port)}=${server.token}`, origin: `http://${at}` },
  });
  return new Promise<T>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ id: 1, method, params })));
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { id?: number; result?: T; error?: { message: string } };
      if (msg.id !== 1) return;
      ws.close();
      if (msg.error) reject(new Error(msg.error.message));
      else resolve(msg.result as T);
    });
  });
}

function get(server: RunningServer, target: string, cookie?: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${server.port}${target}`, {
    headers: cookie === undefined ? {} : { cookie: `${cookieName(server.port)}=${cookie}` },
    redirect: 'manual',
  });
}

function project(): { root: string; run: string } {
  const root = tmpDir('expdesk-dl-project-');
  const run = writeExperiment(path.join(root, 'experiments', 'exp001_dpo_tiny "quoted" ü'), {
    metrics: metricsLines([{ step: 1, prefix: 'train', timestamp: 0, 'train/loss': 1 }]),
    final: true,
  });
  return { root, run };
}

describe('bundle downloads in browser mode', { timeout: 120_000 }, () => {
  it('serves what this server exported, with the token only, as an attachment', async () => {
    const { root, run } = project();
    const out = path.join(tmpDir('expdesk-dl-out-'), 'run.zip');
    const served = await serve(root);
    try {
      const { server } = served;
      const r = await ask<{ path: string; download?: string }>(served.server, 'bundle.export', {
        expDir: run,
        withLogs: true,
        withCheckpoint: false,
        out,
      });
      expect(r.path).toBe(out);
      expect(r.download).toMatch(/^download\/[0-9a-f]{24}$/);
      const target = `/${r.download!}`;

      // No token, a wrong token (cookie or query): refused, nothing of the file sent.
      for (const res of [
        await get(server, target),
        await get(server, target, 'not-the-token'),
        await get(server, `${target}?token=not-the-token`),
      ]) {
        expect(res.status).toBe(403);
        expect(await res.text()).toContain('forbidden');
      }
      // With the token: ids this server never made, and paths, are not found.
      for (const bad of [
        '/download/0123456789abcdef01234567',
        `/download/${encodeURIComponent(out)}`,
        '/download/..%2F..%2Fetc%2Fpasswd',
        '/download/',
      ]) {
        const res = await get(server, bad, server.token);
        expect(res.status, bad).toBe(404);
        expect(await res.text()).toContain('no such download');
      }

      const res = await get(server, target, server.token);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/zip');
      expect(res.headers.get('content-disposition')).toBe(
        `attachment; filename="run.zip"; filename*=UTF-8''run.zip`,
      );
      const saved = path.join(tmpDir('expdesk-dl-saved-'), 'downloaded.zip');
      writeFileSync(saved, Buffer.from(await res.arrayBuffer()));
      const bundle = await unpackBundle(saved, tmpDir('expdesk-dl-unpacked-'));
      expect(checkManifest(bundle)).toEqual(
        expect.arrayContaining(['config.yaml', 'logs/metrics.jsonl', 'reproduce.sh']),
      );
    } finally {
      await served.close();
    }
  });

  it('the default folder app.info names is where an export without a path goes', async () => {
    const { root, run } = project();
    for (const withDownloads of [true, false]) {
      const home = tmpDir('expdesk-dl-home-');
      if (withDownloads) mkdirSync(path.join(home, 'Downloads'));
      process.env.HOME = home;
      const served = await serve(root);
      try {
        const info = await ask<{ bundleDir: string }>(served.server, 'app.info', {});
        expect(info.bundleDir).toBe(withDownloads ? path.join(home, 'Downloads') : home);
        const r = await ask<{ path: string; download: string }>(served.server, 'bundle.export', {
          expDir: run,
          withLogs: false,
          withCheckpoint: false,
        });
        expect(path.dirname(r.path)).toBe(info.bundleDir);
        expect(existsSync(r.path)).toBe(true);
        // A folder name with quotes and non-ASCII: a plain fallback name and the exact one, encoded.
        const res = await get(served.server, `/${r.download}`, served.server.token);
        expect(res.headers.get('content-disposition')).toBe(
          `attachment; filename="exp001_dpo_tiny _quoted_ _-bundle.zip"; ` +
            `filename*=UTF-8''${encodeURIComponent(path.basename(r.path))}`,
        );
        await res.arrayBuffer();
      } finally {
        await served.close();
      }
    }
  });
});
