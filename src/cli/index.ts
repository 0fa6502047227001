/** Process entry of the `expdesk` command. */
import { main } from './main';

main(process.argv.slice(2)).then(
  (code) => {
    // Let a long-running command (serve) keep the process alive; others exit now.
    if (code !== 0 || !process.argv.slice(2).includes('serve')) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`expdesk: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
