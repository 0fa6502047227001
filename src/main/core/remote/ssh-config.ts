/**
 * The subset of OpenSSH's client configuration (ssh_config(5)) that remote
 * workspaces need: Host blocks with patterns and negations, HostName, User,
 * Port, IdentityFile (several), IdentitiesOnly, ProxyJump, UserKnownHostsFile,
 * ConnectTimeout, ServerAliveInterval/CountMax, StrictHostKeyChecking, and
 * Include (plain paths and `*` globs in the file name).
 *
 * Hand-written because no maintained parser is installed (the `ssh-config`
 * npm package is not a dependency) and this subset is small; what it does not
 * understand (`Match` blocks, other keywords) is skipped, never fatal.
 * OpenSSH's rule holds: for each keyword the first value obtained wins, except
 * IdentityFile, whose values accumulate in order.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface JumpHost {
  user: string | null;
  host: string;
  port: number | null;
}

export interface ResolvedHost {
  /** What the user wrote (the alias). */
  alias: string;
  /** The name or address to connect to (HostName, %h expanded; else the alias). */
  hostName: string;
  user: string | null;
  port: number | null;
  identityFiles: string[];
  identitiesOnly: boolean;
  /** ProxyJump hops, in order; empty for a direct connection. */
  proxyJump: JumpHost[];
  userKnownHostsFiles: string[];
  strictHostKeyChecking: string | null;
  connectTimeoutSec: number | null;
  serverAliveIntervalSec: number | null;
  serverAliveCountMax: number | null;
}

interface Line {
  keyword: string;
  args: string[];
  file: string;
  line: number;
}

/** Split a config line into its keyword and arguments ("Key value", "Key=value", quoted args). */
export function tokenizeLine(text: string): { keyword: string; args: string[] } | null {
  const trimmed = text.trim();
  if (!trimmed || trimmed.startsWith('#')) return null;
  const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(trimmed);
  const keyword = (m ? m[1]! : trimmed).toLowerCase();
  const rest = m ? m[2]! : '';
  const args: string[] = [];
  let cur = '';
  let quoted = false;
  let any = false;
  for (const ch of rest) {
    if (ch === '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (any) args.push(cur);
      cur = '';
      any = false;
    } else if (!quoted && ch === '#' && !any) {
      break; // a trailing comment
    } else {
      cur += ch;
      any = true;
    }
  }
  if (any) args.push(cur);
  return { keyword, args };
}

/** OpenSSH's pattern matching: `*` and `?` wildcards, case-insensitive for host names. */
export function matchPattern(name: string, pattern: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .split('')
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.+()|{}[\]]/g, '\\$&')))
        .join('') +
      '$',
    'i',
  );
  return re.test(name);
}

/** A pattern list (`a,b,!c` or several args): true when some pattern matches and no negated one does. */
export function matchPatternList(name: string, patterns: string[]): boolean {
  let matched = false;
  for (const list of patterns) {
    for (const p of list.split(',')) {
      if (!p) continue;
      if (p.startsWith('!')) {
        if (matchPattern(name, p.slice(1))) return false;
      } else if (matchPattern(name, p)) matched = true;
    }
  }
  return matched;
}

function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

function globFiles(pattern: string): string[] {
  // Only the last component may hold wildcards: enough for `Include config.d/*`.
  const dir = path.dirname(pattern);
  const base = path.basename(pattern);
  if (!/[*?]/.test(base)) return existsSync(pattern) ? [pattern] : [];
  try {
    return readdirSync(dir)
      .filter((n) => matchPattern(n, base))
      .sort()
      .map((n) => path.join(dir, n));
  } catch {
    return [];
  }
}

function readLines(file: string, home: string, depth: number, seen: Set<string>): Line[] {
  if (depth > 16 || seen.has(file)) return []; // OpenSSH stops at 16 levels of Include
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  seen.add(file);
  const out: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const tok = tokenizeLine(raw);
    if (!tok) return;
    if (tok.keyword === 'include') {
      // Relative includes are relative to ~/.ssh (user config), as OpenSSH does.
      for (const arg of tok.args) {
        const p = expandHome(arg, home);
        const abs = path.isAbsolute(p) ? p : path.join(home, '.ssh', p);
        // An Include keeps the Host context it appears in: mark where it sits.
        for (const f of globFiles(abs)) {
          out.push({ keyword: '#include-begin', args: [], file, line: i + 1 });
          out.push(...readLines(f, home, depth + 1, seen));
          out.push({ keyword: '#include-end', args: [], file, line: i + 1 });
        }
      }
      return;
    }
    out.push({ ...tok, file, line: i + 1 });
  });
  return out;
}

export function parseJumpList(value: string): JumpHost[] {
  if (value.toLowerCase() === 'none') return [];
  return value.split(',').map((hop) => {
    let text = hop.trim();
    if (/^ssh:\/\//i.test(text)) text = text.slice(6).replace(/\/.*$/, '');
    const at = text.lastIndexOf('@');
    const user = at >= 0 ? text.slice(0, at) : null;
    let hostPort = at >= 0 ? text.slice(at + 1) : text;
    let port: number | null = null;
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
    if (v6) {
      hostPort = v6[1]!;
      port = v6[2] ? Number(v6[2]) : null;
    } else {
      const m = /^([^:]+):(\d+)$/.exec(hostPort);
      if (m) {
        hostPort = m[1]!;
        port = Number(m[2]);
      }
    }
    return { user, host: hostPort, port };
  });
}

export interface SshConfigOptions {
  /** The config file (default ~/.ssh/config); a missing file means no configuration. */
  file?: string;
  home?: string;
  localUser?: string;
}

/** The default config file: $EXPDESK_SSH_CONFIG, else ~/.ssh/config. */
export function defaultSshConfigFile(home = os.homedir()): string {
  return process.env.EXPDESK_SSH_CONFIG || path.join(home, '.ssh', 'config');
}

/** Resolve a host alias through the config, as `ssh -G alias` would for these keywords. */
export function resolveHost(alias: string, options: SshConfigOptions = {}): ResolvedHost {
  const home = options.home ?? os.homedir();
  const file = options.file ?? defaultSshConfigFile(home);
  const lines = readLines(file, home, 0, new Set());
  const values = new Map<string, string[]>();
  const identityFiles: string[] = [];
  const knownHosts: string[] = [];
  // A stack of "is this block active": Include keeps the Host context of its line,
  // and a Host line inside an included file starts a block only inside that file.
  const stack: boolean[] = [true];
  for (const l of lines) {
    if (l.keyword === '#include-begin') {
      stack.push(stack[stack.length - 1]!);
      continue;
    }
    if (l.keyword === '#include-end') {
      stack.pop();
      continue;
    }
    if (l.keyword === 'host') {
      stack[stack.length - 1] = matchPatternList(alias, l.args);
      continue;
    }
    if (l.keyword === 'match') {
      // Match blocks need the full criteria language; their options are skipped.
      stack[stack.length - 1] = false;
      continue;
    }
    if (!stack[stack.length - 1]) continue;
    if (l.keyword === 'identityfile') {
      identityFiles.push(...l.args);
      continue;
    }
    if (l.keyword === 'userknownhostsfile') {
      if (!values.has(l.keyword)) knownHosts.push(...l.args);
    }
    if (!values.has(l.keyword)) values.set(l.keyword, l.args);
  }
  const first = (k: string): string | null => values.get(k)?.[0] ?? null;
  const localUser = options.localUser ?? safeUser();
  const hostName = (first('hostname') ?? alias).replace(/%h/g, alias).replace(/%%/g, '%');
  const user = first('user');
  const portText = first('port');
  const port = portText && /^\d+$/.test(portText) ? Number(portText) : null;
  const expand = (p: string): string =>
    expandHome(
      p.replace(/%(.)/g, (_m, c: string) =>
        c === 'd'
          ? home
          : c === 'u'
            ? localUser
            : c === 'h'
              ? hostName
              : c === 'r'
                ? (user ?? localUser)
                : c === 'n'
                  ? alias
                  : c === 'p'
                    ? String(port ?? 22)
                    : c === '%'
                      ? '%'
                      : `%${c}`,
      ),
      home,
    );
  const num = (k: string): number | null => {
    const v = first(k);
    return v && /^\d+$/.test(v) ? Number(v) : null;
  };
  const jump = first('proxyjump');
  return {
    alias,
    hostName,
    user,
    port,
    identityFiles: identityFiles.map(expand),
    identitiesOnly: (first('identitiesonly') ?? 'no').toLowerCase() === 'yes',
    proxyJump: jump ? parseJumpList(jump) : [],
    userKnownHostsFiles: knownHosts.filter((f) => f.toLowerCase() !== 'none').map(expand),
    strictHostKeyChecking: first('stricthostkeychecking'),
    connectTimeoutSec: num('connecttimeout'),
    serverAliveIntervalSec: num('serveraliveinterval'),
    serverAliveCountMax: num('serveralivecountmax'),
  };
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

export { safeUser as localUserName };
