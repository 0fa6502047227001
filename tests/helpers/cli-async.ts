/** Run the real `expdesk` command asynchronously, so several can run at once and a hang fails, not blocks. */
import { spawn } from 'node:child_process';
import { EXPDESK_BIN } from './cli';

export interface AsyncCliResult {
  code: number | null;
  /** Set when the command had to be killed after `limitMs` (it hung). */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * `uid` runs it as another user (root reads chmod 000 folders, so permission
 * tests run the CLI as nobody). Killed after a generous `limitMs`.
 */
export function cli(
  args: string[],
  env: NodeJS.ProcessEnv,
  uid?: number,
  limitMs = 90_000,
): Promise<AsyncCliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [EXPDESK_BIN, ...args], {
      env: { ...process.env, ...env },
      ...(uid !== undefined ? { uid, gid: uid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
