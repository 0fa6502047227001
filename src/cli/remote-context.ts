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
/** The command has ended: connections opened from now on are closed at once. */
let ended = false;

/** A command starts (its preAction hook): its settings. */
export function setCliSshOptions(o: CliSshOptions): void {
  options = { ...o };
  ended = false;
}

export function cliSshOptions(): CliSshOptions {
  return options;
}

/** Run `close` when the command ends (at once if it already has: nothing opened late outlives it). */
export function onCliExit(close: () => void): void {
  if (ended) close();
  else closers.add(close);
}

export function cliEnded(): boolean {
  return ended;
}

/** Close every SSH connection the command opened (an open connection would keep the process alive). */
export function closeCliConnections(): void {
  ended = true;
  for (const c of closers) c();
  closers.clear();
}
