/**
 * Following a sweep to its end in the terminal, wherever its members run (a
 * local queue: ./sweep.ts; a SLURM job array, here or through SSH:
 * ./slurm-sweep.ts): one line per member state change on stderr, Ctrl-C
 * stops the sweep, a second Ctrl-C leaves it running. Exit status 0 when
 * every member completed, 1 when any did not, 130 when detached.
 */
import { escapeControls } from '../shared/terminal-text';
import { printErr } from './output';

/** One member as its sweep's poll sees it. */
export interface SweepMemberState {
  name: string;
  /** What is printed when it changes ("running", "queued: Priority", "failed"). */
  line: string;
  ended: boolean;
  completed: boolean;
}

export interface SweepFollow {
  id: string;
  /** Every member's state now, in order; a failed poll is said once and retried. */
  poll(): Promise<SweepMemberState[]>;
  /** Stop the whole sweep (the first Ctrl-C). */
  stop(): Promise<unknown>;
  /** Between polls. */
  intervalMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function followSweep(f: SweepFollow): Promise<number> {
  let interrupts = 0;
  let stopping: Promise<unknown> | null = null;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) {
      printErr('\nexpdesk: stopping the sweep (Ctrl-C again to leave it running)\n');
      stopping = f.stop().catch((err: Error) => printErr(`expdesk: ${err.message}\n`));
    }
  };
  process.on('SIGINT', onSigint);
  const seen = new Map<number, string>();
  let lastError = '';
  try {
    for (;;) {
      let states: SweepMemberState[] | null = null;
      try {
        states = await f.poll();
        lastError = '';
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (message !== lastError)
          printErr(`expdesk: cannot read the sweep's state (retrying): ${message}\n`);
        lastError = message;
      }
      if (states) {
        states.forEach((m, i) => {
          if (seen.get(i) === m.line) return;
          seen.set(i, m.line);
          printErr(`expdesk: ${escapeControls(m.name)}: ${escapeControls(m.line)}\n`);
        });
        if (states.every((m) => m.ended)) {
          await stopping;
          const done = states.filter((m) => m.completed).length;
          printErr(`expdesk: sweep ${f.id} ended: ${done} of ${states.length} completed\n`);
          return done === states.length ? 0 : 1;
        }
      }
      if (interrupts > 1) {
        printErr(`expdesk: detached; the sweep goes on (expdesk stop --sweep ${f.id})\n`);
        return 130;
      }
      await sleep(f.intervalMs);
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}
