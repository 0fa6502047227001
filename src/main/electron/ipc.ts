/**
 * The one place that touches ipcMain. One invoke channel carries every
 * request of the contract and one event channel carries every event (both
 * named in src/shared/contract.ts); the host validates params and answers.
 * Every message is checked to come from the top frame of one of our windows
 * showing our own page before it reaches the host.
 */
import { ipcMain, type IpcMainInvokeEvent } from 'electron';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../shared/contract';
import type { ExpdeskHost } from '../host/host';
import { errorEnvelope, toEnvelope, type IpcEnvelope } from './ipc-envelope';
import { isTrustedSender, isTrustedSenderUrl } from './origin-policy';
import type { WindowRegistry } from './windows';

/** The host as the IPC layer needs it (a narrower type keeps the wiring testable with a stand-in). */
export type IpcHost = Pick<ExpdeskHost, 'dispatch' | 'onEvent'>;

export function registerIpc(host: IpcHost, windows: WindowRegistry, origins: readonly string[]): () => void {
  ipcMain.handle(
    IPC_INVOKE_CHANNEL,
    (event: IpcMainInvokeEvent, name: unknown, params: unknown): Promise<IpcEnvelope> => {
      if (!isTrustedEvent(event, windows, origins)) {
        return Promise.resolve(
          errorEnvelope('forbidden', 'request refused: it did not come from an Expdesk window'),
        );
      }
      return toEnvelope(host.dispatch(name, params));
    },
  );

  const stopEvents = host.onEvent((name, payload) => {
    for (const win of windows.list()) {
      const contents = win.webContents;
      // A window that navigated away (it cannot, but defence in depth) gets no events.
      if (!contents.isDestroyed() && isTrustedSenderUrl(contents.getURL(), origins)) {
        contents.send(IPC_EVENT_CHANNEL, name, payload);
      }
    }
  });

  return () => {
    ipcMain.removeHandler(IPC_INVOKE_CHANNEL);
    stopEvents();
  };
}

function isTrustedEvent(
  event: IpcMainInvokeEvent,
  windows: WindowRegistry,
  origins: readonly string[],
): boolean {
  const frame = event.senderFrame;
  return isTrustedSender(
    {
      frameUrl: frame?.url,
      isTopFrame: frame !== null && frame.parent === null,
      isOwnWindow: windows.ownsWebContents(event.sender),
    },
    origins,
  );
}
