/**
 * The one error base of Expdesk. Every error the core raises on purpose (a
 * bad config, a missing experiment, a refused host key…) is an ExpdeskError
 * with a code and a message written for the user; the faces map the code
 * once each: the host to the contract's ApiError (src/main/host/errors.ts,
 * used by `dispatch`), the CLI to an exit code (src/cli/errors.ts, used by
 * main.ts). Anything else thrown is a bug and reported as `internal` / 1.
 */
export const ERROR_CODES = [
  /** The request or its input is wrong (bad config, bad option, not an experiment). */
  'bad-request',
  /** A named path, experiment, commit or file does not exist. */
  'not-found',
  /** Refused on purpose (outside the project, a path escaping its folder). */
  'forbidden',
  /** Something failed that the user did not cause. */
  'internal',
  /** Stopped by the user (Ctrl-C, an abort signal). */
  'aborted',
  /** An SSH host refused us: unknown or changed host key, failed authentication. */
  'ssh-refused',
  /** An SSH host could not be reached, or the link was lost. */
  'ssh-unreachable',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class ExpdeskError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  /**
   * The message for the graphical interface where it must differ from the
   * CLI's (a CLI message may name a command-line flag); by default the same.
   */
  get interfaceMessage(): string {
    return this.message;
  }
}
