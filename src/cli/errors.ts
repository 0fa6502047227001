/**
 * The CLI's errors and its one mapping of errors to exit codes (used by
 * main.ts): 2 for bad usage or input, 3 for a missing path or experiment,
 * 4 for an SSH host that refused us or could not be reached, 130 for an
 * interruption, 1 for anything else.
 */
import { ExpdeskError, type ErrorCode } from '../shared/errors';

/** Exit code of a remote (SSH) failure: host key, authentication, unreachable, link lost. */
export const EXIT_REMOTE = 4;

/** A CLI-level failure with its own exit code (bad usage by default). */
export class CliError extends ExpdeskError {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super('bad-request', message);
  }
}

const EXIT_CODE: Record<ErrorCode, number> = {
  'bad-request': 2,
  'not-found': 3,
  forbidden: 2,
  internal: 1,
  aborted: 130,
  'ssh-refused': EXIT_REMOTE,
  'ssh-unreachable': EXIT_REMOTE,
};

export function cliExitCode(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ExpdeskError) return EXIT_CODE[err.code];
  return 1;
}
