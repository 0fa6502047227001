/**
 * The CLI's SSH settings (global options) and the closing of its connections
 * at exit. Kept free of ssh2 so commands on local folders do not load it.
 */

export interface CliSshOptions {
  acceptNewHostKey?: boolean;
  knownHosts?: string;
  identity?: string[];
  sshConfig?: string;
}

let options: CliSshOptions = {};
const closers = new Set<() => void>();

export function setCliSshOptions(o: CliSshOptions): void {
  options = { ...o };
}

export function cliSshOptions(): CliSshOptions {
  return options;
}

export function onCliExit(close: () => void): void {
  closers.add(close);
}

/** Close every SSH connection the command opened (an open connection would keep the process alive). */
export function closeCliConnections(): void {
  for (const c of closers) c();
  closers.clear();
}
