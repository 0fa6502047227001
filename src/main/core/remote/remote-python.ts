/**
 * Calling the remote helper (resources/remote/expdesk_remote.py): it travels
 * with every command, compressed into the command line, so nothing is ever
 * installed on the remote machine. The request is one JSON line on stdin; the
 * answer is zlib-compressed JSON after a marker line (whatever a login script
 * prints before it is skipped). One call is one exec: one round trip.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { packageRoot } from '../app/paths';
import type { ExecOptions, SshConnection } from './connection';
import { ExpdeskError } from '../../../shared/errors';

export const MARKER = Buffer.from('\n--expdesk-remote-1--\n');

/** A failure reported by the helper (missing folder, bad request…), with the core's error codes. */
export class RemoteOpError extends ExpdeskError {
  constructor(
    override readonly code: 'not-found' | 'bad-request' | 'forbidden' | 'internal',
    message: string,
  ) {
    super(code, message);
    this.name = 'RemoteOpError';
  }
}

function helperFile(): string {
  const resourcesPath = (process as NodeJS.Process & { resourcesPath?: string }).resourcesPath;
  const candidates = [path.join(packageRoot(), 'resources', 'remote', 'expdesk_remote.py')];
  if (resourcesPath) candidates.unshift(path.join(resourcesPath, 'remote', 'expdesk_remote.py'));
  return candidates.find((c) => existsSync(c)) ?? candidates[candidates.length - 1]!;
}

let cachedCommand: string | null = null;

/** The remote interpreter: $EXPDESK_REMOTE_PYTHON, else python3. */
export function remotePython(): string {
  return process.env.EXPDESK_REMOTE_PYTHON || 'python3';
}

/**
 * `python3 -c '<loader>'`: one line, only base64 inside quotes, so it reads
 * the same in sh, bash, zsh, fish and csh login shells.
 */
export function helperCommand(): string {
  if (!cachedCommand) {
    const source = readFileSync(helperFile());
    const packed = deflateSync(source, { level: 9 }).toString('base64');
    cachedCommand = `import base64,zlib;exec(zlib.decompress(base64.b64decode("${packed}")))`;
  }
  const py = remotePython();
  if (!/^[A-Za-z0-9_./+-]+$/.test(py))
    throw new Error(`EXPDESK_REMOTE_PYTHON must be a plain path, got ${py}`);
  return `${py} -c '${cachedCommand}'`;
}

/** Find the marker and return what follows it, or null. */
export function afterMarker(stdout: Buffer): Buffer | null {
  const at = stdout.indexOf(MARKER);
  return at < 0 ? null : stdout.subarray(at + MARKER.length);
}

function explainFailure(conn: SshConnection, code: number | null, stderr: string): string {
  const tail = stderr.trim().split('\n').slice(-5).join('\n');
  if (code === 127)
    return `${remotePython()} was not found on ${conn.label}: remote workspaces need Python 3 there (set EXPDESK_REMOTE_PYTHON to its path)`;
  return `the remote helper failed on ${conn.label} (exit ${code ?? '?'})${tail ? `: ${tail}` : ''}`;
}

/** Run one helper operation and return its result. */
export async function callRemote<T>(
  conn: SshConnection,
  request: Record<string, unknown>,
  opts: Omit<ExecOptions, 'stdin'> = {},
): Promise<T> {
  const r = await conn.exec(helperCommand(), { ...opts, stdin: JSON.stringify(request) + '\n' });
  const body = afterMarker(r.stdout);
  if (!body) throw new RemoteOpError('internal', explainFailure(conn, r.code, r.stderr));
  let parsed: { ok?: T; error?: { code: RemoteOpError['code']; message: string } };
  try {
    parsed = JSON.parse(inflateSync(body).toString('utf8')) as typeof parsed;
  } catch (err) {
    throw new RemoteOpError('internal', `unreadable answer from ${conn.label}: ${(err as Error).message}`);
  }
  if (parsed.error) throw new RemoteOpError(parsed.error.code, parsed.error.message);
  return parsed.ok as T;
}
