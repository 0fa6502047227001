/**
 * The CLI's SSH connections: one pool per command, one connection per host,
 * closed when the command ends. Kept apart from ./remote.ts (the remote
 * commands) so a command can start connecting (connectEarly) before the
 * listing machinery loads: this module loads only the connection code (which
 * loads ssh2 on its first connection, its TCP connection already under way).
 */
import path from 'node:path';
import type { RemoteLocation } from '../shared/remote-location';
import type { SshConnection } from '../main/core/remote/connection';
import { RemotePool } from '../main/core/remote/pool';
import { cliEnded, cliSshOptions, onCliExit } from './remote-context';

let pool: RemotePool | null = null;

/** Ask for a key's passphrase on the terminal, without echo; null where there is no terminal. */
export function promptPassphrase(file: string, attempt: number): Promise<string | null> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return Promise.resolve(null);
  return new Promise((resolve) => {
    const again = attempt > 1 ? 'Bad passphrase, try again. ' : '';
    process.stderr.write(`${again}Enter passphrase for key '${file}': `);
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    const onData = (d: Buffer): void => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(value);
        if (ch === '\u0003' || ch === '\u0004') return finish(null); // Ctrl-C, Ctrl-D: skip the key
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const finish = (v: string | null): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      resolve(v);
    };
    stdin.on('data', onData);
  });
}

export function remotes(): RemotePool {
  if (!pool) {
    const o = cliSshOptions();
    pool = new RemotePool({
      acceptNewHostKey: o.acceptNewHostKey || undefined,
      knownHostsFiles: o.knownHosts ? [path.resolve(o.knownHosts)] : undefined,
      identityFiles: o.identity?.length ? o.identity.map((f) => path.resolve(f)) : undefined,
      configFile: o.sshConfig ? path.resolve(o.sshConfig) : undefined,
      passphrase: promptPassphrase,
      onStatus: (s) => {
        if (s.state === 'reconnecting' && s.attempt === 0)
          process.stderr.write(`expdesk: ${s.host}: connection lost; reconnecting\n`);
        else if (s.state === 'reconnecting' && s.retryInMs !== undefined)
          process.stderr.write(
            `expdesk: ${s.host}: connection lost (${s.error ?? 'no answer'}); retrying in ${(s.retryInMs / 1000).toFixed(1)} s\n`,
          );
        else if (s.state === 'connected' && s.attempt > 0)
          process.stderr.write(`expdesk: ${s.host}: reconnected\n`);
      },
    });
    const p = pool;
    onCliExit(() => {
      p.closeAll();
      if (pool === p) pool = null;
    });
  }
  return pool;
}

/**
 * Start the connection to a location's host now (TCP, ssh2's loading, the
 * handshake) while the command loads its other modules (./list-early.ts).
 * The command's own connect() joins this attempt, or starts another if it
 * already failed, and meets and reports the failure itself: this one's is
 * dropped here, never thrown, so the exit code is decided in one place.
 */
export function connectEarly(text: string): void {
  if (cliEnded()) return; // the command is over: nothing to prepare
  try {
    open(text)
      .conn.connect()
      .catch(() => undefined);
  } catch {
    // a malformed location: the command says what is wrong with it
  }
}

export function open(text: string): { loc: RemoteLocation; conn: SshConnection } {
  return remotes().forLocation(text);
}
