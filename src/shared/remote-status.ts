/**
 * A remote host's connection state as the contract carries it (`remote.status`
 * events, `remote.hosts`): a zod schema, kept apart from remote-location.ts so
 * that parsing a location loads no schema library.
 */
import { z } from 'zod';

/** A remote host's connection state, for the interface (`remote.status` events). */
export const RemoteStatusSchema = z.object({
  /** `[user@]host[:port]` as the user wrote it. */
  host: z.string(),
  state: z.enum(['connecting', 'connected', 'reconnecting', 'failed', 'closed']),
  /** Reconnection attempt (1, 2, …); 0 for the first connection or the moment a link is lost. */
  attempt: z.number(),
  error: z.string().optional(),
  /** Milliseconds until the next attempt, while reconnecting. */
  retryInMs: z.number().optional(),
  /** Set when the host key stopped the connection: what to show before `remote.trustHostKey`. */
  hostKey: z
    .object({
      status: z.enum(['unknown', 'changed']),
      keyType: z.string(),
      fingerprint: z.string(),
      knownHostsFile: z.string(),
      line: z.number().optional(),
    })
    .optional(),
});
export type RemoteStatusPayload = z.infer<typeof RemoteStatusSchema>;
