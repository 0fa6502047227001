/**
 * The expdesk://app/ protocol that serves the built renderer. Pages never
 * load from file:// (which would give them the whole disk as their origin);
 * this handler answers only files under the renderer folder, with the CSP
 * header, and nothing else.
 */
import { protocol, type Session } from 'electron';
import { readFile, realpath } from 'node:fs/promises';
import { APP_SCHEME } from './origin-policy';
import { isInside, resolveRendererFile, responseHeadersFor } from './renderer-files';

/** Must run before app 'ready': privileges cannot be granted to a scheme afterwards. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme: APP_SCHEME,
      // standard: relative URLs and a real origin; secure: a secure context like https.
      // corsEnabled is deliberately left off so no other origin can read these files.
      privileges: { standard: true, secure: true, supportFetchAPI: true },
    },
  ]);
}

/** Serve `rendererDir` as expdesk://app/ in `session`. */
export function handleAppProtocol(session: Session, rendererDir: string): void {
  session.protocol.handle(APP_SCHEME, async (request) => {
    const resolved = resolveRendererFile(rendererDir, request.url, request.method);
    if (!resolved.ok)
      return new Response(resolved.reason, { status: resolved.status, headers: responseHeadersFor(null) });
    try {
      // A symlink inside the renderer folder must not lead out of it.
      const [realRoot, realFile] = await Promise.all([realpath(rendererDir), realpath(resolved.file)]);
      if (!isInside(realRoot, realFile)) {
        return new Response('path traversal refused', { status: 403, headers: responseHeadersFor(null) });
      }
      const body = request.method === 'HEAD' ? null : await readFile(realFile);
      return new Response(body, { status: 200, headers: responseHeadersFor(realFile) });
    } catch {
      return new Response('not found', { status: 404, headers: responseHeadersFor(null) });
    }
  });
}
