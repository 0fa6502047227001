/**
 * What travels back over IPC_INVOKE_CHANNEL. Electron serialises an error
 * thrown from an ipcMain.handle handler into a new Error whose message is
 * prefixed with "Error invoking remote method…" and whose other properties
 * (our `code`) are gone, so handlers never throw: they answer this envelope
 * and the preload turns `ok: false` back into a rejection.
 *
 * The preload keeps a structural copy of this type (src/preload/bridge.ts):
 * the layering forbids it to import main code. The round-trip test in
 * tests/unit/electron/ipc-envelope.test.ts keeps the two in step.
 */
import { ApiError, ApiErrorCode } from '../../shared/contract';

export type IpcEnvelope =
  { ok: true; result: unknown } | { ok: false; error: { code: ApiErrorCode; message: string } };

export function errorEnvelope(code: ApiErrorCode, message: string): IpcEnvelope {
  return { ok: false, error: { code, message } };
}

/** Settle `work` into an envelope; never rejects. */
export async function toEnvelope(work: Promise<unknown>): Promise<IpcEnvelope> {
  try {
    return { ok: true, result: await work };
  } catch (err) {
    if (err instanceof ApiError) return errorEnvelope(err.code, err.message);
    // The host only throws ApiError; anything else is a bug, reported rather than fatal.
    const message = err instanceof Error ? err.message : String(err);
    const code = ApiErrorCode.safeParse((err as { code?: unknown } | null)?.code);
    return errorEnvelope(code.success ? code.data : 'internal', message);
  }
}
