/**
 * `expdesk`: the command-line face of the same core the app uses.
 * Errors print one line, `expdesk: <message>`, and exit non-zero.
 */
import { Command, CommanderError } from 'commander';
import { expdeskVersion } from '../main/core/app/paths';
import type { SummaryStore } from '../main/core/summary/summary-store';
import type { SlurmCliOptions } from './slurm';
import type { ExportCliOptions, VerifyCliOptions } from './bundle';
import { ExpdeskError } from '../shared/errors';
import { CliError, cliExitCode } from './errors';
import { closeCliConnections, setCliSshOptions, type CliSshOptions } from './remote-context';
import { lineText, printErr } from './output';
import { registerAnnotateCommands } from './annotate';
import { registerDiffCommand } from './diff';

function print(text: string): void {
  process.stdout.write(lineText(text));
}

/**
 * The analysis commands and the summary store, loaded by the commands that use
 * them: `run`, `stop`, `tail` and `--version` do not load the listing machinery.
 */
const analysis = (): Promise<typeof import('./commands')> => import('./commands');
async function newStore(): Promise<SummaryStore> {
  return new (await import('../main/core/summary/summary-store')).SummaryStore();
}

export function buildProgram(given?: () => SummaryStore): Command {
  const store = async (): Promise<SummaryStore> => (given ? given() : newStore());
  const program = new Command('expdesk')
    .description('Run, watch, compare and reproduce machine-learning experiments from their folders.')
    .version(expdeskVersion())
    .showHelpAfterError('(run `expdesk --help` for usage)')
    // SSH settings for remote workspaces (ssh://[user@]host[:port]/path or host:/path wherever a folder goes).
    .option(
      '--accept-new-host-key',
      "SSH: trust and record the key of a host seen for the first time (OpenSSH's accept-new); a changed key is still refused",
    )
    .option(
      '--known-hosts <FILE>',
      'SSH: known_hosts file to check host keys against (default ~/.ssh/known_hosts)',
    )
    .option(
      '--identity <FILE>',
      'SSH: private key to log in with (repeatable; default: ssh-agent, the config, ~/.ssh/id_*)',
      collect,
      [],
    )
    .option('--ssh-config <FILE>', 'SSH: client config file (default ~/.ssh/config)')
    .hook('preAction', (cmd) => setCliSshOptions(cmd.opts<CliSshOptions>()));

  program
    .command('list')
    .description('every experiment under DIR (an experiments/ folder, a project root, or one experiment)')
    .argument('<DIR>', 'folder to search')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, opts: { json?: boolean }) => {
      // DIR's I/O (a remote handshake, a local folder's stats) runs while the listing's modules load.
      await import('./list-early').then((m) => m.startEarly(dir)).catch(() => undefined);
      const { text, keep } = await (await analysis()).listCommand(dir, opts, await store());
      print(text);
      // The text table, kept for the next `list DIR` while nothing it was made from changes.
      await keep?.().catch(() => undefined);
    });

  program
    .command('show')
    .description('one experiment: config, metadata, status, summary, checkpoints, outputs and problems')
    .argument('<EXP_DIR>', 'experiment folder')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, opts: { json?: boolean }) =>
      print(await (await analysis()).showCommand(dir, opts, await store())),
    );

  program
    .command('summarize')
    .description("a JSON array with the seed's summary of each experiment (name, algorithm, total_steps, …)")
    .argument('<EXP_DIR...>', 'experiment folders')
    .option('--json', 'JSON output (the only format; accepted for symmetry)')
    .option(
      '--group-by <KEY[,KEY…]>',
      'one object per group of runs sharing these config keys: n, names, mean/std/min/max of final_loss and final_eval',
    )
    .action(async (dirs: string[], opts: { groupBy?: string }) =>
      print(await (await analysis()).summarizeCommand(dirs, await store(), opts)),
    );

  program
    .command('compare')
    .description("the seed's comparison table plus every config key whose value differs")
    .argument('<EXP_DIR...>', 'experiment folders')
    .option('--json', 'machine-readable output')
    .option('--csv', 'CSV output, one row per experiment')
    .option(
      '--all-keys',
      'also list the keys that name each run (experiment.name, output_dir…) in the text table',
    )
    .action(async (dirs: string[], opts: { json?: boolean; csv?: boolean; allKeys?: boolean }) => {
      if (opts.json && opts.csv) throw new CliError('choose one of --json and --csv');
      print(await (await analysis()).compareCommand(dirs, opts, await store()));
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
    .option('--detach', 'return once the run is running (needs tmux), or once the SLURM job is submitted')
    .option('--slurm', 'submit the run to SLURM (sbatch) instead of running it here')
    .option(
      '--sbatch <OPTION>',
      'with --slurm: one sbatch option, e.g. --sbatch=--partition=gpu --sbatch=--time=04:00:00 (repeatable)',
      collect,
      [],
    )
    .option(
      '--sweep <KEY=v1,v2,…>',
      'run every combination of these values, one experiment each (repeatable; values are YAML)',
      collect,
      [],
    )
    .option(
      '--max-parallel <N>',
      'with --sweep: how many runs at once (default: one per visible GPU, else 1)',
      parseMaxParallel,
    )
    .option(
      '--system-interval <SECONDS>',
      'seconds between samples of GPU, CPU, memory and disk into logs/system.jsonl (0: none)',
      parseInterval,
    )
    .argument(
      '<COMMAND...>',
      'the command, after --; {config} becomes the frozen config path, {seed} the seed',
    )
    .action(async (command: string[], opts: SlurmCliOptions & { set: string[] } & SweepFlags) => {
      if (opts.sweep.length) {
        if (opts.slurm) {
          const { slurmSweepCommand } = await import('./slurm-sweep');
          process.exitCode = await slurmSweepCommand(command, opts);
          return;
        }
        const { sweepRunCommand } = await import('./sweep');
        process.exitCode = await sweepRunCommand(command, opts);
        return;
      }
      if (opts.maxParallel !== undefined) throw new CliError('--max-parallel goes with --sweep');
      const { runCommand } = await import('./run');
      process.exitCode = await runCommand(command, opts);
    });

  program
    .command('stop')
    .description(
      'stop a running experiment: SIGINT, then SIGTERM, then SIGKILL to its process group (a SLURM job: scancel, gently first)',
    )
    .argument('[EXP_DIR]', 'experiment folder')
    .option('--sweep <SWEEP>', 'stop a whole sweep (its id, or any member folder): queued and running runs')
    .action(async (dir: string | undefined, opts: { sweep?: string }) => {
      if (opts.sweep) {
        if (dir) throw new CliError('give either EXP_DIR or --sweep, not both');
        const { stopSweepCommand } = await import('./sweep');
        print(await stopSweepCommand(opts.sweep));
        return;
      }
      if (!dir) throw new CliError('give the experiment folder to stop (or --sweep SWEEP)');
      const { stopCommand } = await import('./run');
      print(await stopCommand(dir));
    });

  program
    .command('resubmit')
    .description(
      'submit a SLURM experiment again as a new experiment: its frozen config, command, seed and sbatch options',
    )
    .argument('<EXP_DIR>', 'experiment folder submitted with --slurm')
    .option('--sbatch <OPTION>', 'sbatch options instead of the recorded ones (repeatable)', collect, [])
    .option('--detach', 'return once the job is submitted')
    .action(async (dir: string, opts: { detach?: boolean; sbatch: string[] }) => {
      const { resubmitCommand } = await import('./run');
      process.exitCode = await resubmitCommand(dir, opts);
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
    .option(
      '--rank <N>',
      "a multi-task run's rank N: logs/train_rankN.log, else SLURM's slurm-<job>-N.out",
      parseRank,
    )
    .action(async (dir: string, opts: { follow?: boolean; bytes?: number; rank?: number }) => {
      const { tailCommand } = await import('./run');
      process.exitCode = await tailCommand(dir, opts);
    });

  // Reproduction bundles and verification (issue 5): see ./bundle.ts.
  program
    .command('export')
    .description(
      'write a bundle (.zip or .tar.gz) that reproduces the experiment without its repository; prints its path last',
    )
    .argument('<EXP_DIR>', 'experiment folder')
    .option('-o, --output <FILE>', 'bundle file, .zip or .tar.gz (default ./<experiment>-bundle.zip)')
    .option('--with-checkpoint', 'add the final checkpoint')
    .option('--with-logs', 'add every log (metrics.jsonl is always in)')
    .option('--repo <DIR>', 'where the recorded commit is now, if the repository moved')
    .option(
      '--source-file-limit <MB>',
      'leave out (and list) source files larger than this; 0: no limit (default 100)',
    )
    .action(async (dir: string, opts: ExportCliOptions) => {
      const { exportCommand } = await import('./bundle');
      process.exitCode = await exportCommand(dir, opts);
    });

  program
    .command('verify')
    .description(
      "compare two runs' metrics step by step: identical, within tolerance, or diverged (exit 0 only for the first two)",
    )
    .argument('<ORIGINAL_EXP>', 'the original experiment folder (or an unpacked bundle)')
    .argument('<REPRODUCED_EXP>', 'the reproduced experiment folder')
    .option('--rtol <X>', 'relative tolerance (default 1e-5)')
    .option('--atol <X>', 'absolute tolerance (default 1e-8)')
    .option('--ignore <KEY>', 'a record key not to compare, besides timestamp (repeatable)', collect, [])
    .option('--json', 'machine-readable output')
    .action(async (original: string, reproduced: string, opts: VerifyCliOptions) => {
      const { verifyCommand } = await import('./bundle');
      process.exitCode = await verifyCommand(original, reproduced, opts);
    });

  program
    .command('watch')
    .description(
      'print a line when a run fails, turns NaN/Inf, stalls or completes (and POST it to a Slack-compatible webhook)',
    )
    .argument('<DIR>', 'a folder of experiments, a project root, or one experiment')
    .option('--webhook <URL>', 'POST {"text": …} to this URL for each alert (retried with backoff)')
    .option(
      '--stall-after <SECONDS>',
      'a run is stalled after max(this, 10 × its median record interval) without metrics or log output',
      (v) => parsePositive(v, '--stall-after'),
      300,
    )
    .action(async (dir: string, opts: { webhook?: string; stallAfter: number }) => {
      const { watchCommand } = await import('./watch');
      await watchCommand(dir, opts);
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

  registerAnnotateCommands(program, print);
  registerDiffCommand(program, print);

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

function parseInterval(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new CliError(`--system-interval must be 0 (off) or a number of seconds, got ${value}`);
  return n;
}

function parsePositive(value: string, option: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new CliError(`${option} must be a positive number of seconds, got ${value}`);
  return n;
}

interface SweepFlags {
  sweep: string[];
  maxParallel?: number;
}

function parseMaxParallel(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(`--max-parallel must be a positive integer, got ${value}`);
  return n;
}

function parseRank(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new CliError(`--rank must be a rank number (0, 1, …), got ${value}`);
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
    if (err instanceof ExpdeskError) {
      printErr(`expdesk: ${err.message}
`);
      return cliExitCode(err);
    }
    printErr(`expdesk: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    closeCliConnections();
  }
}
