/**
 * The one translation of errors into the contract's ApiError, used by the
 * host's `dispatch` (and by the remote service where it relabels a message):
 * an ExpdeskError keeps its message and has its code mapped; anything else is
 * a bug, reported as `internal` rather than thrown through a transport.
 */
import { ApiError, type ApiErrorCode } from '../../shared/contract';
import { ExpdeskError, type ErrorCode } from '../../shared/errors';

const API_CODE: Record<ErrorCode, ApiErrorCode> = {
  'bad-request': 'bad-request',
  'not-found': 'not-found',
  forbidden: 'forbidden',
  internal: 'internal',
  aborted: 'internal',
  'ssh-refused': 'forbidden',
  'ssh-unreachable': 'internal',
};

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ExpdeskError) return new ApiError(API_CODE[err.code], err.interfaceMessage);
  return new ApiError('internal', err instanceof Error ? err.message : String(err));
}
