/**
 * `expdesk`: the command-line face of the same core the app uses.
 * Errors print one line, `expdesk: <message>`, and exit non-zero.
 */
import { Command, CommanderError } from 'commander';
import { expdeskVersion } from '../main/core/app/paths';
import { SummaryStore } from '../main/core/summary/summary-store';
import { CliError, compareCommand, listCommand, showCommand, summarizeCommand } from './commands';

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function buildProgram(store: () => SummaryStore = () => new SummaryStore()): Command {
  const program = new Command('expdesk')
    .description('Run, watch, compare and reproduce machine-learning experiments from their folders.')
    .version(expdeskVersion())
    .showHelpAfterError('(run `expdesk --help` for usage)');

  program
    .command('list')
    .description('every experiment under DIR (an experiments/ folder, a project root, or one experiment)')
    .argument('<DIR>', 'folder to search')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, opts: { json?: boolean }) => print(await listCommand(dir, opts, store())));

  program
    .command('show')
    .description('one experiment: config, metadata, status, summary, checkpoints, outputs and problems')
    .argument('<EXP_DIR>', 'experiment folder')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, opts: { json?: boolean }) => print(await showCommand(dir, opts, store())));

  program
    .command('summarize')
    .description("a JSON array with the seed's summary of each experiment (name, algorithm, total_steps, …)")
    .argument('<EXP_DIR...>', 'experiment folders')
    .option('--json', 'JSON output (the only format; accepted for symmetry)')
    .action(async (dirs: string[]) => print(await summarizeCommand(dirs, store())));

  program
    .command('compare')
    .description("the seed's comparison table plus every config key whose value differs")
    .argument('<EXP_DIR...>', 'experiment folders')
    .option('--json', 'machine-readable output')
    .option('--csv', 'CSV output, one row per experiment')
    .action(async (dirs: string[], opts: { json?: boolean; csv?: boolean }) => {
      if (opts.json && opts.csv) throw new CliError('choose one of --json and --csv');
      print(await compareCommand(dirs, opts, store()));
    });

  program
    .command('serve')
    .description('serve the Expdesk interface to a browser (browser mode)')
    .option('--workspace <DIR>', 'workspace to open (default: the bundled demo)')
    .option('--port <N>', 'port to listen on (0 picks a free one)', (v) => parsePort(v))
    .option('--host <ADDR>', 'address to bind (default 127.0.0.1; anything else exposes your files)')
    .action(async (opts: { workspace?: string; port?: number; host?: string }) => {
      const { runServe } = await import('./serve');
      await runServe(opts);
    });

  return program;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`--port must be 0-65535, got ${value}`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return err.exitCode;
    }
    if (err instanceof CliError) {
      process.stderr.write(`expdesk: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`expdesk: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
