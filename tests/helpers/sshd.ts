/**
 * A real OpenSSH server for tests: started on 127.0.0.1 on a free port with a
 * generated host key and a generated user key, its own authorized_keys and
 * known_hosts, so tests never touch ~/.ssh or the machine's sshd. Sessions
 * get a private TMUX_TMPDIR, so remote runs' tmux sessions stay the test's.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SSHD = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find((p) => existsSync(p)) ?? 'sshd';

export interface TestSshd {
  port: number;
  user: string;
  dir: string;
  /** The user's private key (no passphrase). */
  identity: string;
  /** known_hosts holding this server's key, as `[127.0.0.1]:PORT ssh-ed25519 …`. */
  knownHosts: string;
  /** The host key's public line (`ssh-ed25519 AAAA…`). */
  hostKeyPub: string;
  /** An empty ssh_config, so ~/.ssh/config never applies. */
  sshConfig: string;
  /** The sessions' TMUX_TMPDIR. */
  tmuxDir: string;
  /** Environment for the expdesk CLI: this server's identity, known_hosts and config; no agent. */
  env: Record<string, string>;
  /** `ssh://user@127.0.0.1:PORT/abs/path` (another port: through a proxy). */
  url(p: string, port?: number): string;
  stop(): Promise<void>;
  /** The sshd process's output (for failing tests). */
  log(): string;
  /** Record this server's key for another port too (a proxy in front of it). */
  trustPort(port: number): void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export function keygen(file: string, passphrase = '', type = 'ed25519'): string {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', passphrase, '-C', 'expdesk-test', '-f', file], {
    stdio: 'ignore',
  });
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

function waitForBanner(port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const sock = net.connect(port, '127.0.0.1');
      let got = '';
      sock.on('data', (d) => {
        got += d.toString();
        if (got.startsWith('SSH-')) {
          sock.destroy();
          resolve();
        }
      });
      sock.on('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`sshd did not start on port ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export async function startSshd(
  options: { setEnv?: Record<string, string>; hostKeyType?: string; extraConfig?: string[] } = {},
): Promise<TestSshd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-sshd-'));
  const user = os.userInfo().username;
  const hostKey = path.join(dir, 'host_key');
  const hostKeyPub = keygen(hostKey, '', options.hostKeyType ?? 'ed25519');
  const identity = path.join(dir, 'id_ed25519');
  const userPub = keygen(identity);
  writeFileSync(path.join(dir, 'authorized_keys'), `${userPub}\n`, { mode: 0o600 });
  const tmuxDir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-rtmux-'));
  const port = await freePort();
  const setEnv = { TMUX_TMPDIR: tmuxDir, ...options.setEnv };
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'PidFile none',
    'UsePAM no',
    'StrictModes no',
    `PermitRootLogin ${user === 'root' ? 'prohibit-password' : 'no'}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'AllowTcpForwarding yes',
    'MaxSessions 64',
    'MaxStartups 100',
    'LogLevel ERROR',
    `SetEnv ${Object.entries(setEnv)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
    ...(options.extraConfig ?? []),
  ].join('\n');
  const configFile = path.join(dir, 'sshd_config');
  writeFileSync(configFile, `${config}\n`);
  // sshd refuses to start without its privilege separation folder.
  if (process.getuid?.() === 0 && !existsSync('/run/sshd'))
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  // A test process that dies without its afterAll must not leave an sshd behind.
  const killOnExit = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.on('exit', () => {
    exited = true;
    process.off('exit', killOnExit);
  });
  try {
    await waitForBanner(port, Date.now() + 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}: ${output}`);
  }
  const knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKeyPub.split(' ').slice(0, 2).join(' ')}\n`);
  const sshConfig = path.join(dir, 'ssh_config');
  writeFileSync(sshConfig, '');
  return {
    port,
    user,
    dir,
    identity,
    knownHosts,
    hostKeyPub: hostKeyPub.split(' ').slice(0, 2).join(' '),
    sshConfig,
    tmuxDir,
    env: {
      EXPDESK_KNOWN_HOSTS: knownHosts,
      EXPDESK_SSH_IDENTITY: identity,
      EXPDESK_SSH_CONFIG: sshConfig,
      SSH_AUTH_SOCK: '',
    },
    url: (p, viaPort = port) => `ssh://${user}@127.0.0.1:${viaPort}${p}`,
    log: () => output,
    trustPort: (p) =>
      appendFileSync(knownHosts, `[127.0.0.1]:${p} ${hostKeyPub.split(' ').slice(0, 2).join(' ')}\n`),
    stop: async () => {
      try {
        execFileSync('tmux', ['kill-server'], {
          env: { ...process.env, TMUX_TMPDIR: tmuxDir },
          stdio: 'ignore',
        });
      } catch {
        // no tmux server was started
      }
      if (!exited) {
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
        if (!exited) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
      rmSync(tmuxDir, { recursive: true, force: true });
    },
  };
}
