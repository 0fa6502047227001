/**
 * The one API contract between the host (Electron main or `expdesk serve`)
 * and its clients (renderer, tests). Nothing declares a channel anywhere
 * else: the IPC bridge, the WebSocket server and both clients are derived
 * from these maps. Every request is validated against `params` where it
 * arrives; results are typed by `result`.
 */
import { z } from 'zod';
import { ExperimentDetail, WorkspaceListing } from './model';

export const AppInfo = z.object({
  version: z.string(),
  mode: z.enum(['electron', 'browser']),
  /** The workspace open at start (the demo workspace when none was given). */
  workspace: z.string().nullable(),
  demoWorkspace: z.string().nullable(),
});
export type AppInfo = z.infer<typeof AppInfo>;

const AbsPath = z.string().min(1).max(4096);

export const requests = {
  'app.info': { params: z.object({}).strict(), result: AppInfo },
  /** List the experiments under a folder (default: the open workspace). Read-only. */
  'workspace.list': {
    params: z.object({ root: AbsPath.optional() }).strict(),
    result: WorkspaceListing,
  },
  /** Make a folder the open workspace and list it. Read-only. */
  'workspace.open': { params: z.object({ root: AbsPath }).strict(), result: WorkspaceListing },
  /** Everything about one experiment folder. Read-only. */
  'experiment.get': { params: z.object({ path: AbsPath }).strict(), result: ExperimentDetail },
} as const;

export const events = {
  /** The open workspace changed (another window or the CLI opened one). */
  'workspace.changed': z.object({ root: z.string() }),
} as const;

export type RequestName = keyof typeof requests;
export type EventName = keyof typeof events;
export type RequestParams<N extends RequestName> = z.input<(typeof requests)[N]['params']>;
export type RequestResult<N extends RequestName> = z.infer<(typeof requests)[N]['result']>;
export type EventPayload<N extends EventName> = z.infer<(typeof events)[N]>;

export const requestNames = Object.keys(requests) as RequestName[];

export function isRequestName(name: unknown): name is RequestName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(requests, name);
}

export const ApiErrorCode = z.enum(['bad-request', 'not-found', 'forbidden', 'internal']);
export type ApiErrorCode = z.infer<typeof ApiErrorCode>;

/** The error every transport answers with; never an exception that kills the host. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  toJSON(): { code: ApiErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Validate a request's params as they arrive from an untrusted transport. */
export function parseParams<N extends RequestName>(
  name: N,
  params: unknown,
): z.infer<(typeof requests)[N]['params']> {
  const parsed = requests[name].params.safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new ApiError('bad-request', `invalid params for ${name}${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data as z.infer<(typeof requests)[N]['params']>;
}

/** The interface both the host implements and every client exposes. */
export type ExpdeskApi = {
  [N in RequestName]: (params: RequestParams<N>) => Promise<RequestResult<N>>;
};

/** The client side additionally receives events. */
export interface ExpdeskClient {
  invoke<N extends RequestName>(name: N, params: RequestParams<N>): Promise<RequestResult<N>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}

/** Wire format of the WebSocket transport (the IPC transport uses Electron's own framing). */
export const WireRequest = z.object({
  id: z.number().int(),
  method: z.string(),
  params: z.unknown(),
});
export type WireMessage =
  | { id: number; result: unknown }
  | { id: number; error: { code: ApiErrorCode; message: string } }
  | { event: EventName; payload: unknown };

/** The IPC channel names: the preload and the Electron shell import these, nothing else. */
export const IPC_INVOKE_CHANNEL = 'expdesk:invoke';
export const IPC_EVENT_CHANNEL = 'expdesk:event';
