/** Process entry of the `expdesk` command. */
import { startEarlyFromArgv } from './list-early';

// Before the command's modules load (commander and the rest, imported below): a listing's stats,
// and the text table kept for an unchanged folder, printed as `list` prints (cli/list-snapshot.ts).
const kept = await startEarlyFromArgv(process.argv.slice(2));
if (kept !== null) process.stdout.write((await import('./output')).lineText(kept));
else await runCommand();

async function runCommand(): Promise<void> {
  const [{ settleCaptures }, { runExitTasks }, { main }, { printErr }] = await Promise.all([
    import('../main/core/runs/pending-captures'),
    import('../main/core/app/exit-tasks'),
    import('./main'),
    import('./output'),
  ]);

  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // serve keeps running on its own handles; everything else exits now, even
      // if a library left a handle open (a run's tmux client, a timer).
      // Summaries reach the disk cache after the listing that read them: write what is left first;
      // a run's environment capture (pip freeze, …) lands in its folder before this process goes.
      void Promise.all([runExitTasks(), settleCaptures()]).finally(() => {
        if (!process.argv.slice(2).includes('serve')) process.stdout.write('', () => process.exit(code));
      });
    },
    (err: unknown) => {
      printErr(`expdesk: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
