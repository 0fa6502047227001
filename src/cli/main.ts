/**
 * `expdesk`: the command-line face of the same core the app uses.
 * Errors print one line, `expdesk: <message>`, and exit non-zero.
 */
import { Command, CommanderError } from 'commander';
import { expdeskVersion } from '../main/core/app/paths';
import { SummaryStore } from '../main/core/summary/summary-store';
import type { RunCliOptions } from './run';
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
    .command('run')
    .description(
      'launch a run: compose and freeze the config, capture code and environment, run COMMAND in a pty',
    )
    .option(
      '--workspace <DIR>',
      'where experiments go: a project root (its experiments/) or an experiments folder',
      process.cwd(),
    )
    .requiredOption('--config <FILE>', 'config file to compose (defaults:, overrides, ${…} interpolation)')
    .option('--set <KEY=VALUE>', 'override a config key (repeatable; +KEY=VALUE adds a new key)', collect, [])
    .option('--name <NAME>', 'experiment folder name instead of expNNN_<algorithm>_<model>_<hp>_<MMDD_HHMM>')
    .option(
      '--seed <N>',
      "random seed (default: the config's, else a random one); recorded and passed as EXPDESK_SEED",
      parseSeed,
    )
    .option('--python <PATH>', "the interpreter the run uses (default: the command's python, else python3)")
    .option('--cwd <DIR>', 'folder the command runs in (default: the project folder)')
    .option('--refuse-dirty', 'refuse to launch when the git working tree has uncommitted changes')
    .option('--detach', 'return once the run is running (needs tmux)')
    .argument(
      '<COMMAND...>',
      'the command, after --; {config} becomes the frozen config path, {seed} the seed',
    )
    .action(async (command: string[], opts: RunCliOptions & { set: string[] }) => {
      const { runCommand } = await import('./run');
      process.exitCode = await runCommand(command, opts);
    });

  program
    .command('stop')
    .description('stop a running experiment: SIGINT, then SIGTERM, then SIGKILL to its process group')
    .argument('<EXP_DIR>', 'experiment folder')
    .action(async (dir: string) => {
      const { stopCommand } = await import('./run');
      print(await stopCommand(dir));
    });

  program
    .command('attach')
    .description("re-attach to a running experiment's terminal (its tmux session), or follow its log")
    .argument('<EXP_DIR>', 'experiment folder')
    .action(async (dir: string) => {
      const { attachCommand } = await import('./run');
      process.exitCode = await attachCommand(dir);
    });

  program
    .command('tail')
    .description("print the end of an experiment's log; with --follow, follow it until the run ends")
    .argument('<EXP_DIR>', 'experiment folder')
    .option('-f, --follow', 'keep printing what is appended until the run ends')
    .option('--bytes <N>', 'how much of the end to print first (default 65536)', (v) => Number(v))
    .action(async (dir: string, opts: { follow?: boolean; bytes?: number }) => {
      const { tailCommand } = await import('./run');
      process.exitCode = await tailCommand(dir, opts);
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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new CliError(`--seed must be a non-negative integer, got ${value}`);
  return n;
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
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
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
