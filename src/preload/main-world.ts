/**
 * Installing window.expdesk. contextBridge copies an Error across worlds with
 * its message only (electron/electron#25596): a `code` set in the preload
 * would never reach the page. So the Error is made in the page's own world:
 * installMainWorldApi runs there through contextBridge.executeInMainWorld,
 * receiving the raw bridge (whose requests answer envelopes) as its argument.
 *
 * executeInMainWorld serialises the function to source text, so it must be
 * self-contained: no imports, no helpers, no names from this module. The unit
 * test rebuilds it from its source text to keep it that way.
 */
import type { ExpdeskBridge, RawBridge } from './bridge';
import { unwrapEnvelope } from './bridge';

export function installMainWorldApi(raw: RawBridge): boolean {
  const api = Object.freeze({
    invoke(name: string, params: unknown): Promise<unknown> {
      return raw.invoke(name, params).then((envelope) => {
        if (envelope && envelope.ok === true) return envelope.result;
        const failure =
          envelope && envelope.ok === false && envelope.error
            ? envelope.error
            : { code: 'internal', message: 'malformed response from the Expdesk host' };
        const error = new Error(String(failure.message));
        error.name = 'ApiError';
        Object.defineProperty(error, 'code', { value: failure.code, enumerable: true });
        throw error;
      });
    },
    on(event: string, listener: (payload: unknown) => void): () => void {
      return raw.on(event, listener);
    },
    pathForFile(file: File): string {
      return raw.pathForFile(file);
    },
  });
  Object.defineProperty(globalThis, 'expdesk', {
    value: api,
    enumerable: true,
    configurable: false,
    writable: false,
  });
  return true;
}

/**
 * The fallback when executeInMainWorld is unavailable or fails: exposed with
 * exposeInMainWorld, it behaves the same except that the page's Error loses
 * `code` on the way (message intact).
 */
export function lossyBridge(raw: RawBridge): ExpdeskBridge {
  return {
    invoke: (name, params) => raw.invoke(name, params).then(unwrapEnvelope),
    on: (event, listener) => raw.on(event, listener),
    pathForFile: (file) => raw.pathForFile(file),
  };
}
