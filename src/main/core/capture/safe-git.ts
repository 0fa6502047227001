/**
 * Every git command Expdesk runs goes through here, so that a repository
 * can only be read, never made to run a program. A project comes from
 * anywhere (a colleague's tarball, a shared cluster folder), and its
 * .git/config is as untrusted as its files: settings that make git run a
 * command — core.fsmonitor, core.hooksPath, filter.<driver>.clean / smudge /
 * process named by .gitattributes, diff drivers, a pager — are switched off
 * for each call:
 *
 *  - fixed overrides on the command line (-c core.fsmonitor=false …), which
 *    take precedence over every configuration file and reach the git
 *    processes git itself starts (submodules);
 *  - every filter driver defined outside the user's own global or system
 *    configuration (the repository's config, its worktree config, a file it
 *    includes) gets empty commands and required=false, which git reads as "no
 *    filter" (git cannot be told to ignore .gitattributes, but a driver with
 *    no command runs nothing); drivers the user set up themselves (git-lfs in
 *    ~/.gitconfig) are theirs and stay;
 *  - diff runs with --no-ext-diff and --no-textconv (callers add them: only
 *    diff knows them).
 *
 * The same rules, in Python, guard the remote helper's git calls
 * (resources/remote/expdesk_remote.py, safe_git_argv).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { run, streamCommand, type ExecResult } from './exec';

/** Overrides for every call, whatever the repository. */
export const GIT_SAFE_CONFIG: readonly string[] = [
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'core.untrackedCache=false',
  'core.pager=cat',
  'core.editor=false',
  'core.sshCommand=false',
  'credential.helper=',
  'protocol.ext.allow=never',
  'gc.auto=0',
  'maintenance.auto=false',
  // log/show would verify signatures with the repository's gpg.program (a command it names).
  'log.showSignature=false',
];

/** Environment for every call: no prompts, no pager, nothing asked of a terminal. */
const GIT_SAFE_ENV: Readonly<Record<string, string>> = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_PAGER: 'cat',
  GIT_ASKPASS: 'false',
  SSH_ASKPASS: 'false',
};

const DRIVER_KEY = /^filter\.(.+)\.(clean|smudge|process)$/;
const DRIVER_REGEXP = '^filter\\..*\\.(clean|smudge|process)$';
const TRUSTED_SCOPES = new Set(['global', 'system']);

/**
 * The -c overrides that empty every filter driver the repository defines
 * itself, from `git config --show-scope --get-regexp` output (which runs
 * nothing). Exported for tests.
 */
export function untrustedDriverOverrides(configListing: string, scoped = true): string[] {
  const drivers = new Set<string>();
  for (const line of configListing.split('\n')) {
    let rest = line;
    if (scoped) {
      // "<scope>\t<key> <value>"; a git without --show-scope lists "<key> <value>", and every driver goes.
      const tab = line.indexOf('\t');
      if (tab < 0 || TRUSTED_SCOPES.has(line.slice(0, tab))) continue;
      rest = line.slice(tab + 1);
    }
    const m = DRIVER_KEY.exec(rest.split(' ', 1)[0]!);
    if (m) drivers.add(m[1]!);
  }
  const out: string[] = [];
  for (const name of drivers) {
    // -c splits at the first '=': a driver name holding one cannot be overridden, so it is refused.
    if (name.includes('='))
      throw new Error(
        `the repository defines a git filter named ${JSON.stringify(name)}, which Expdesk cannot switch off; remove it from .git/config`,
      );
    for (const k of ['clean', 'smudge', 'process']) out.push(`filter.${name}.${k}=`);
    out.push(`filter.${name}.required=false`);
  }
  return out;
}

function configArgs(pairs: readonly string[]): string[] {
  return pairs.flatMap((p) => ['-c', p]);
}

export interface SafeGit {
  /** The repository (or any folder inside it) every command runs in. */
  readonly cwd: string;
  /** The same runner (the same overrides) in another folder of the same repository. */
  at(dir: string): SafeGit;
  /**
   * The value of a key asked for with `safeGit(cwd, { read })`, as `git config
   * --get` gives it (the last one set), or null when unset.
   */
  value(key: string): string | null;
  /** Full argv after `git` for these arguments. */
  argv(args: readonly string[]): string[];
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  run(
    args: readonly string[],
    opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number; maxBuffer?: number },
  ): Promise<ExecResult>;
  stream(
    args: readonly string[],
    onData: (chunk: Buffer) => void,
    opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<{ code: number | null; stderr: string; timedOut: boolean }>;
  spawn(
    args: readonly string[],
    opts?: { signal?: AbortSignal; env?: NodeJS.ProcessEnv },
  ): ChildProcessWithoutNullStreams;
}

/**
 * A git runner for the repository around `cwd`: reads which filter drivers
 * the repository defines (one `git config` call, which runs nothing) and
 * switches them off, with the fixed overrides, in every command it runs.
 * `read` names plain keys (`remote.origin.url`) the same call reads too, so a
 * caller that needs them spends no second git process (`value(key)`).
 */
export async function safeGit(cwd: string, options: { read?: readonly string[] } = {}): Promise<SafeGit> {
  const keys = (options.read ?? []).map((k) => `|^${k.replace(/[.\\[\]()*+?^$|{}]/g, '\\$&')}$`).join('');
  const list = (scope: string[]): Promise<ExecResult> =>
    run(
      'git',
      [...configArgs(GIT_SAFE_CONFIG), 'config', ...scope, '--get-regexp', `${DRIVER_REGEXP}${keys}`],
      {
        cwd,
        timeoutMs: 10_000,
        env: { ...process.env, ...GIT_SAFE_ENV },
      },
    );
  let listing = await list(['--show-scope']);
  let scoped = true;
  if (!listing.ok && listing.stderr.includes('show-scope')) {
    // git before 2.26: no scopes to tell the user's drivers from the repository's.
    listing = await list([]);
    scoped = false;
  }
  // Exit 1 is "no such key"; a folder outside any repository lists the user's own only.
  const text = listing.ok ? listing.stdout : '';
  const drivers = untrustedDriverOverrides(text, scoped);
  const values = configValues(text, scoped, options.read ?? []);
  return runnerAt(cwd, configArgs([...GIT_SAFE_CONFIG, ...drivers]), values);
}

/** The last value of each of `keys` in a `--get-regexp` listing (git prints keys in lower case but subsections). */
function configValues(listing: string, scoped: boolean, keys: readonly string[]): Map<string, string> {
  const wanted = new Map(keys.map((k) => [canonicalKey(k), k]));
  const out = new Map<string, string>();
  for (const line of listing.split('\n')) {
    const rest = scoped ? line.slice(line.indexOf('\t') + 1) : line;
    const space = rest.indexOf(' ');
    const key = wanted.get(space < 0 ? rest : rest.slice(0, space));
    if (key !== undefined) out.set(key, space < 0 ? '' : rest.slice(space + 1));
  }
  return out;
}

/** `section.sub.name` as git lists it: section and name in lower case, the subsection as written. */
function canonicalKey(key: string): string {
  const first = key.indexOf('.');
  const last = key.lastIndexOf('.');
  if (first < 0) return key.toLowerCase();
  return `${key.slice(0, first).toLowerCase()}${key.slice(first, last)}${key.slice(last).toLowerCase()}`;
}

function runnerAt(cwd: string, prefix: string[], values: ReadonlyMap<string, string>): SafeGit {
  const env = (extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
    ...process.env,
    ...extra,
    ...GIT_SAFE_ENV,
  });
  const argv = (args: readonly string[]): string[] => [...prefix, ...args];
  return {
    cwd,
    at: (dir) => runnerAt(dir, prefix, values),
    value: (key) => values.get(key) ?? null,
    argv,
    env,
    run: (args, opts = {}) => run('git', argv(args), { ...opts, cwd, env: env(opts.env) }),
    stream: (args, onData, opts = {}) =>
      streamCommand('git', argv(args), onData, { ...opts, cwd, env: env(opts.env) }),
    spawn: (args, opts = {}) =>
      spawn('git', argv(args), {
        cwd,
        env: env(opts.env),
        stdio: ['pipe', 'pipe', 'pipe'],
        signal: opts.signal,
      }),
  };
}

/**
 * `git rev-parse ARGS` with the fixed overrides only, so that it can run
 * beside safeGit's own config call instead of after it: rev-parse reads refs
 * and paths, never a file's content, so no filter driver can run in it.
 */
export function revParse(cwd: string, args: readonly string[]): Promise<ExecResult> {
  return run('git', [...configArgs(GIT_SAFE_CONFIG), 'rev-parse', ...args], {
    cwd,
    timeoutMs: 10_000,
    env: { ...process.env, ...GIT_SAFE_ENV },
  });
}
