/**
 * The one place that touches ipcMain. One invoke channel carries every
 * request of the contract and one event channel carries every event (both
 * named in src/shared/contract.ts); the host validates params and answers.
 * Every message is checked to come from the top frame of one of our windows
 * showing our own page before it reaches the host. Each window's page has its
 * own host session (host/session.ts): the subscriptions it opens end when the
 * window is destroyed or its page is replaced (a reload), so a closed window
 * leaves no log follow, watch or poller behind.
 */
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../shared/contract';
import type { ExpdeskHost } from '../host/host';
import { openSession, type HostSession } from '../host/session';
import { errorEnvelope, toEnvelope, type IpcEnvelope } from './ipc-envelope';
import { isTrustedSender, isTrustedSenderUrl } from './origin-policy';
import type { WindowRegistry } from './windows';

/** The host as the IPC layer needs it (a narrower type keeps the wiring testable with a stand-in). */
export type IpcHost = Pick<ExpdeskHost, 'dispatch' | 'onEvent'>;

export function registerIpc(host: IpcHost, windows: WindowRegistry, origins: readonly string[]): () => void {
  const sessions = new Map<WebContents, HostSession>();
  const followed = new WeakSet<WebContents>();
  const endSession = (contents: WebContents): void => {
    const session = sessions.get(contents);
    sessions.delete(contents);
    void session?.dispose();
  };
  const sessionOf = (contents: WebContents): HostSession => {
    let session = sessions.get(contents);
    if (!session) {
      session = openSession(host);
      sessions.set(contents, session);
      if (!followed.has(contents)) {
        followed.add(contents);
        contents.once('destroyed', () => endSession(contents));
        // A reload replaces the page (a committed main-frame navigation; a refused one never
        // commits): what the old page subscribed to ends with it.
        contents.on('did-navigate', () => endSession(contents));
      }
    }
    return session;
  };

  ipcMain.handle(
    IPC_INVOKE_CHANNEL,
    (event: IpcMainInvokeEvent, name: unknown, params: unknown): Promise<IpcEnvelope> => {
      if (!isTrustedEvent(event, windows, origins)) {
        return Promise.resolve(
          errorEnvelope('forbidden', 'request refused: it did not come from an Expdesk window'),
        );
      }
      return toEnvelope(sessionOf(event.sender).dispatch(name, params));
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
    for (const contents of [...sessions.keys()]) endSession(contents);
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
