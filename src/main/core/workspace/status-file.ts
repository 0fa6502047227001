/**
 * expdesk_status.json (format in docs/status-file.md) as read from a folder:
 * untrusted, so validated against this schema before ./status.ts judges a
 * status from it.
 */
import { z } from 'zod';
import { SweepTag, type Problem } from '../../../shared/model';
import { LAYOUT } from './layout';

export const StatusFile = z.object({
  schema: z.literal('expdesk.status/1'),
  /** 'queued': a SLURM job submitted, or a sweep member waiting for its turn (written by Expdesk, replaced by the wrapper's 'running'). */
  state: z.enum(['running', 'completed', 'failed', 'stopped', 'queued']),
  started_at: z.string().nullable().optional(),
  ended_at: z.string().nullable().optional(),
  exit_code: z.number().int().nullable().optional(),
  signal: z.string().nullable().optional(),
  pid: z.number().int().nullable().optional(),
  hostname: z.string().nullable().optional(),
  tmux_session: z.string().nullable().optional(),
  stop_requested_at: z.string().nullable().optional(),
  updated_at: z.string().nullable().optional(),
  /** A batch scheduler's job id (SLURM), written with state "queued" at submission. */
  job_id: z.string().nullable().optional(),
  /** The sweep this run belongs to (core/runs/sweep.ts), kept by the wrapper from its spec. */
  sweep: SweepTag.optional(),
});
export type StatusFile = z.infer<typeof StatusFile>;

export function parseStatusFile(value: unknown): { value: StatusFile | null; problems: Problem[] } {
  const parsed = StatusFile.safeParse(value);
  if (parsed.success) return { value: parsed.data, problems: [] };
  const issue = parsed.error.issues[0];
  return {
    value: null,
    problems: [
      {
        file: LAYOUT.status,
        message: `not an Expdesk status file: ${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`,
      },
    ],
  };
}
