/**
 * What `expdesk run` and `expdesk tail` do while a run is followed in this
 * terminal, here or on a remote: Ctrl-C handling and what is said, and
 * returned, when the run has ended. Shared by run.ts and remote.ts.
 */
import os from 'node:os';
import { CliError } from './errors';

/** Run `body` with `onSigint` called on each Ctrl-C instead of the default exit; removed after. */
export async function onCtrlC<T>(onSigint: () => void, body: () => Promise<T>): Promise<T> {
  process.on('SIGINT', onSigint);
  try {
    return await body();
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/**
 * Follow a run while the first Ctrl-C stops it (`cancel`) and a second detaches,
 * leaving it running; `follow` is told whether the user detached.
 */
export function followStoppable<T>(
  cancel: () => Promise<unknown>,
  follow: (detached: () => boolean) => Promise<T>,
): Promise<T> {
  let interrupts = 0;
  let detached = false;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\nexpdesk: stopping the run (Ctrl-C again to detach and leave it running)\n');
      cancel().catch((err: Error) => process.stderr.write(`expdesk: ${err.message}\n`));
    } else detached = true;
  };
  return onCtrlC(onSigint, () => follow(() => detached));
}

/** Why Expdesk recorded a run's end, on stderr; the folder's text reaches a terminal: no control characters. */
export function printFailure(failure: string): void {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  process.stderr.write(`expdesk: ${failure.replace(/[\x00-\x1f\x7f]/g, '?')}\n`);
}

/**
 * The end of a followed run: say it failed (pointing at `failedFile`) or was
 * stopped, and return its exit code (128 + the signal's number when killed).
 */
export function endedRunExit(
  status: { state: string; exit_code?: number | null; signal?: string | null },
  failedFile: string,
): number {
  if (status.state === 'failed') process.stderr.write(`expdesk: the run failed; see ${failedFile}\n`);
  if (status.state === 'stopped') process.stderr.write('expdesk: the run was stopped\n');
  return status.exit_code ?? (status.signal ? 128 + signalNumber(status.signal) : 1);
}

function signalNumber(name: string): number {
  const n = os.constants.signals[name as NodeJS.Signals];
  return typeof n === 'number' ? n : 1;
}

/**
 * `expdesk attach`, here or on a remote: a folder without a status file was not
 * started by Expdesk; an ended run shows the end of its log (`tail`); a running
 * one is handed to `attachRunning` (its tmux session, or its log followed).
 */
export function attachTo<S extends { state: string }>(
  dir: string,
  status: S | null,
  tail: (opts: { follow?: boolean }) => Promise<number>,
  attachRunning: (status: S) => Promise<number>,
): Promise<number> {
  if (!status)
    throw new CliError(
      `${dir} was not started by Expdesk: there is no terminal to attach to (try expdesk tail --follow)`,
    );
  if (status.state !== 'running') {
    process.stderr.write(`expdesk: the run is ${status.state}; showing the end of its log\n`);
    return tail({});
  }
  return attachRunning(status);
}
