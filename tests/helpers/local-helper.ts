/**
 * The remote helper without SSH: the far end of an SSH exec is a shell running
 * the command with the request on stdin, so a local `sh -c` is all a test
 * needs to run resources/remote/expdesk_remote.py exactly as a remote does.
 */
import { spawn } from 'node:child_process';
import type { ExecResult } from '../../src/main/core/remote/connection';
import type { HelperHost } from '../../src/main/core/remote/remote-python';

export function localHelper(label: string): HelperHost {
  return {
    label,
    exec: (command, opts = {}) =>
      new Promise<ExecResult>((resolve, reject) => {
        const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        let stderr = '';
        // Streamed as SSH hands it on, when asked (ExecOptions.onStdout).
        child.stdout.on('data', (d: Buffer) => (opts.onStdout ? opts.onStdout(d) : out.push(d)));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr }));
        child.stdin.end(opts.stdin ?? '');
      }),
  };
}
