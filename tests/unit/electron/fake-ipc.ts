/** Stands in for ipcRenderer in the preload tests: records invokes, lets a test emit events. */
import { IPC_EVENT_CHANNEL } from '../../../src/shared/contract';
import type { IpcTransport } from '../../../src/preload/bridge';

type Handler = (event: unknown, ...args: unknown[]) => void;

export class FakeIpc implements IpcTransport {
  readonly invoked: unknown[][] = [];
  readonly handlers = new Map<string, Set<Handler>>();
  answer: (name: unknown, params: unknown) => Promise<unknown> = () =>
    Promise.resolve({ ok: true, result: null });

  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    this.invoked.push([channel, ...args]);
    return this.answer(args[0], args[1]);
  }
  on(channel: string, listener: Handler): this {
    if (!this.handlers.has(channel)) this.handlers.set(channel, new Set());
    this.handlers.get(channel)!.add(listener);
    return this;
  }
  removeListener(channel: string, listener: Handler): this {
    this.handlers.get(channel)?.delete(listener);
    return this;
  }
  emit(name: string, payload: unknown): void {
    for (const h of [...(this.handlers.get(IPC_EVENT_CHANNEL) ?? [])]) h({ sender: 'fake' }, name, payload);
  }
  listenerCount(channel: string): number {
    return this.handlers.get(channel)?.size ?? 0;
  }
}
