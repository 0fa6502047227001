/**
 * Calling the remote helper (resources/remote/expdesk_remote.py): it travels
 * with every command, compressed into the command line, so nothing is ever
 * installed on the remote machine. The request is one JSON line on stdin; the
 * answer is zlib-compressed after a marker line (whatever a login script
 * prints before it is skipped): one line of JSON, then the raw bytes its
 * `{"$b": [offset, length]}` references point into (metrics and run files:
 * base64 inside the JSON cost a third more bytes to compress, encode, parse
 * and decode on both ends). One call is one exec: one round trip.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { packageRoot } from '../app/paths';
import type { ExecOptions, SshConnection } from './connection';
import {
  ANSWERS,
  describeIssue,
  ErrorCode,
  PROTOCOL_VERSION,
  wireRequest,
  type AnsweredOp,
  type AnsweredRequest,
  type AnswerOf,
  type HelperOp,
} from './protocol';
import { ExpdeskError } from '../../../shared/errors';

export const MARKER = Buffer.from('\n--expdesk-remote-1--\n');

/** A failure reported by the helper (missing folder, bad request…), with the core's error codes. */
export class RemoteOpError extends ExpdeskError {
  constructor(
    override readonly code: ErrorCode,
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
 * `python3 -S -c '<loader>'`: one line, only base64 inside quotes, so it reads
 * the same in sh, bash, zsh, fish and csh login shells. `-S` skips `site`:
 * the helper needs the standard library only, and site-packages' `.pth`
 * files can cost more than the helper's own work (40 ms for one importing
 * certifi on the bench machine); the run wrapper it starts runs without it.
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
  return `${py} -S -c '${cachedCommand}'`;
}

/** Find the marker and return what follows it, or null. */
export function afterMarker(stdout: Buffer): Buffer | null {
  const at = stdout.indexOf(MARKER);
  return at < 0 ? null : stdout.subarray(at + MARKER.length);
}

function explainFailure(conn: HelperHost, code: number | null, stderr: string): string {
  const tail = stderr.trim().split('\n').slice(-5).join('\n');
  if (code === 127)
    return `${remotePython()} was not found on ${conn.label}: remote workspaces need Python 3 there (set EXPDESK_REMOTE_PYTHON to its path)`;
  return `the remote helper failed on ${conn.label} (exit ${code ?? '?'})${tail ? `: ${tail}` : ''}`;
}

/** What runs the helper: an SSH connection (connect: started early, beside local work), or (in tests) a local shell. */
export type HelperHost = Pick<SshConnection, 'exec' | 'label'> & Partial<Pick<SshConnection, 'connect'>>;

/** An answer that does not follow the protocol: names the operation and the field. */
export class RemoteProtocolError extends RemoteOpError {
  constructor(message: string) {
    super('internal', message);
    this.name = 'RemoteProtocolError';
  }
}

/** A helper speaking another protocol version than this Expdesk (a stale or foreign copy). */
export function checkVersion(host: string, op: string, v: unknown): void {
  if (v === PROTOCOL_VERSION) return;
  throw new RemoteProtocolError(
    `the remote helper on ${host} speaks protocol version ${typeof v === 'number' ? v : 'unknown (1 or older)'}, this Expdesk speaks ${PROTOCOL_VERSION} (op ${op}): a stale helper answered`,
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The envelope of one decoded answer body: `{v, ok}` or `{v, error}`. Checks
 * the version, throws the helper's error, returns what `ok` holds (unchecked).
 */
export function openEnvelope(host: string, op: HelperOp, body: unknown): unknown {
  if (!isObject(body))
    throw new RemoteProtocolError(
      `malformed answer to ${op} from ${host}: (the answer itself): expected an object`,
    );
  checkVersion(host, op, body.v);
  if (body.error !== undefined) {
    const e = body.error;
    const code = ErrorCode.safeParse(isObject(e) ? e.code : undefined);
    if (!isObject(e) || !code.success || typeof e.message !== 'string')
      throw new RemoteProtocolError(
        `malformed answer to ${op} from ${host}: error: expected {code, message}`,
      );
    throw new RemoteOpError(code.data, e.message);
  }
  if (!('ok' in body)) throw new RemoteProtocolError(`malformed answer to ${op} from ${host}: ok: missing`);
  return body.ok;
}

/** Check one decoded answer body against the protocol; returns the typed answer. */
export function checkAnswer<Op extends AnsweredOp>(host: string, op: Op, body: unknown): AnswerOf<Op> {
  const ok = openEnvelope(host, op, body);
  const parsed = ANSWERS[op].safeParse(ok);
  if (!parsed.success)
    throw new RemoteProtocolError(`malformed answer to ${op} from ${host}: ${describeIssue(parsed.error)}`);
  return parsed.data as AnswerOf<Op>;
}

function isByteRef(v: unknown): v is { $b: unknown } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && '$b' in v;
}

/** An answer's body after the marker: its JSON, byte references resolved to Buffers (views of the bytes after it). */
export function decodeAnswer(packed: Buffer): unknown {
  const raw = inflateSync(packed);
  const nl = raw.indexOf(0x0a);
  const bytes = nl < 0 ? Buffer.alloc(0) : raw.subarray(nl + 1);
  return JSON.parse((nl < 0 ? raw : raw.subarray(0, nl)).toString('utf8'), (_key, v: unknown) => {
    if (!isByteRef(v)) return v;
    const [at, n] = Array.isArray(v.$b) ? (v.$b as unknown[]) : [];
    if (!Number.isSafeInteger(at) || !Number.isSafeInteger(n) || (at as number) < 0 || (n as number) < 0)
      throw new Error('a byte reference is not [offset, length]');
    if ((at as number) + (n as number) > bytes.length)
      throw new Error(`a byte reference points past the answer's ${bytes.length} bytes`);
    return bytes.subarray(at as number, (at as number) + (n as number));
  });
}

/** Run one helper operation and return its answer, checked against the protocol. */
export async function callRemote<R extends AnsweredRequest>(
  conn: HelperHost,
  request: R,
  opts: Omit<ExecOptions, 'stdin'> = {},
): Promise<AnswerOf<R['op']>> {
  const r = await conn.exec(helperCommand(), { ...opts, stdin: wireRequest(request) });
  const body = afterMarker(r.stdout);
  if (!body) throw new RemoteOpError('internal', explainFailure(conn, r.code, r.stderr));
  let parsed: unknown;
  try {
    parsed = decodeAnswer(body);
  } catch (err) {
    throw new RemoteOpError('internal', `unreadable answer from ${conn.label}: ${(err as Error).message}`);
  }
  return checkAnswer(conn.label, request.op as R['op'], parsed);
}
