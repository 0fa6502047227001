/**
 * An Expdesk error told in other words (a local copy's path replaced by the
 * location the user gave, the endpoint named): same code, so the faces map it
 * as they map the original; the interface's wording is reworded the same way.
 */
import { ExpdeskError } from '../../../shared/errors';

export class RewordedError extends ExpdeskError {
  constructor(
    private readonly inner: ExpdeskError,
    private readonly reword: (message: string) => string,
  ) {
    super(inner.code, reword(inner.message));
  }

  override get interfaceMessage(): string {
    return this.reword(this.inner.interfaceMessage);
  }
}

/** An Expdesk error reworded; one the rewording leaves as it is, and anything else (a bug), unchanged. */
export function reworded(err: unknown, reword: (message: string) => string): unknown {
  if (!(err instanceof ExpdeskError)) return err;
  if (reword(err.message) === err.message && reword(err.interfaceMessage) === err.interfaceMessage)
    return err;
  return new RewordedError(err, reword);
}
