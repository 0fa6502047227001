/**
 * Calling the remote helper (resources/remote/expdesk_remote.py): it travels
 * with every command, compressed into the command line, so nothing is ever
 * installed on the remote machine. The request is one JSON line on stdin; the
 * answer is one zlib stream after a marker line (whatever a login script
 * prints before it is skipped), made of frames: first the items an operation
 * sends as soon as it has them (a gather's experiments, `<n> <json>` and n
 * bytes), then the envelope (one line of JSON and the bytes to the end). A
 * frame's `{"$b": [offset, length]}` references point into its bytes (metrics
 * and run files: base64 inside the JSON cost a third more bytes to compress,
 * encode, parse and decode on both ends). The answer is read as it arrives,
 * so a caller works on the first items while the helper still reads the
 * rest. One call is one exec: one round trip.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInflate, deflateSync } from 'node:zlib';
import { packageRoot } from '../app/paths';
import type { ExecOptions, SshConnection } from './connection';
import type { z } from 'zod';
import {
  ANSWERS,
  ErrorCode,
  ITEMS,
  PROTOCOL_VERSION,
  type AnsweredOp,
  type AnsweredRequest,
  type AnswerOf,
  type HelperOp,
  type HelperRequest,
  type ItemOf,
} from './protocol';
import { ExpdeskError } from '../../../shared/errors';

/** A request as it travels: with the protocol version. */
export function wireRequest(request: HelperRequest): string {
  return JSON.stringify({ ...request, v: PROTOCOL_VERSION }) + '\n';
}

export const MARKER = Buffer.from('\n--expdesk-remote-1--\n');

/** Where an answer breaks the schema: the first issue's field path and what was wrong. */
export function describeIssue(error: z.ZodError, within: Array<string | number> = []): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = [...within, ...issue.path];
  const at = path.length ? path.map(String).join('.') : '(the answer itself)';
  return `${at}: ${issue.message}`;
}

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
    // Level 6: a third of level 9's time (~3 ms against ~11 ms, during the handshake) for 1% more bytes.
    const packed = deflateSync(source, { level: 6 }).toString('base64');
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
export type HelperHost = Pick<SshConnection, 'exec' | 'label'>;

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

/** A byte reference resolved to a Buffer (a view of the frame's bytes). */
function resolveRef(v: { $b: unknown }, bytes: Buffer): Buffer {
  const [at, n] = Array.isArray(v.$b) ? (v.$b as unknown[]) : [];
  if (!Number.isSafeInteger(at) || !Number.isSafeInteger(n) || (at as number) < 0 || (n as number) < 0)
    throw new Error('a byte reference is not [offset, length]');
  if ((at as number) + (n as number) > bytes.length)
    throw new Error(`a byte reference points past the answer's ${bytes.length} bytes`);
  return bytes.subarray(at as number, (at as number) + (n as number));
}

/** Replace the byte references inside a parsed value, in place (a walk: a JSON.parse reviver costs a call per value). */
function resolveRefs(v: unknown, bytes: Buffer): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (isByteRef(v)) return resolveRef(v, bytes);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = resolveRefs(v[i], bytes); // an index is never "__proto__"
    return v;
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const r = resolveRefs(o[k], bytes);
    // Defined, not assigned: a key "__proto__" (JSON.parse makes it an own property) stays data.
    if (r !== o[k])
      Object.defineProperty(o, k, { value: r, writable: true, enumerable: true, configurable: true });
  }
  return o;
}

/** One frame's JSON, its byte references resolved to Buffers (views of the frame's bytes). */
function parseFrame(json: Buffer, bytes: Buffer): unknown {
  return resolveRefs(JSON.parse(json.toString('utf8')), bytes);
}

const NEWLINE = 0x0a;
const isDigit = (byte: number): boolean => byte >= 0x30 && byte <= 0x39;

/**
 * The frames of an answer's inflated bytes, as they come: each item is handed
 * over once its bytes are in; end() returns the envelope. Bytes are kept as
 * the chunks that came, and copied only where a frame spans chunks (a 16 MB
 * metrics frame is not copied once per chunk).
 */
class AnswerFrames {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes of `chunks` already searched for the line's end. */
  private searched = 0;
  /** The current item's JSON, waiting for its `need` bytes. */
  private line: Buffer | null = null;
  private need = 0;
  /** The envelope's line: everything after it is its bytes. */
  private envelope: Buffer | null = null;
  count = 0;

  constructor(private readonly onItem: (item: unknown, index: number) => void) {}

  push(data: Buffer): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.size += data.length;
    if (this.envelope === null) this.drain();
  }

  /** The first n kept bytes (copied only when they span chunks). */
  private take(n: number): Buffer {
    this.searched = 0;
    this.size -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }

  /** Where the line ends in the kept bytes, or -1. */
  private lineEnd(): number {
    let base = 0;
    for (const c of this.chunks) {
      if (base + c.length > this.searched) {
        const at = c.indexOf(NEWLINE, Math.max(0, this.searched - base));
        if (at >= 0) return base + at;
      }
      base += c.length;
    }
    this.searched = base;
    return -1;
  }

  private drain(): void {
    for (;;) {
      if (this.line === null) {
        if (this.size === 0) return;
        if (!isDigit(this.chunks[0]![0]!)) {
          // The envelope (an item starts with its byte count): its line, then its bytes to the end.
          const end = this.lineEnd();
          if (end < 0) return;
          this.envelope = this.take(end + 1).subarray(0, end);
          return;
        }
        const end = this.lineEnd();
        if (end < 0) return;
        const head = this.take(end + 1).subarray(0, end);
        const space = head.indexOf(0x20);
        const n = space > 0 ? Number(head.subarray(0, space).toString('latin1')) : NaN;
        if (!Number.isSafeInteger(n) || n < 0) throw new Error('an item does not start with its byte count');
        this.line = head.subarray(space + 1);
        this.need = n;
      }
      if (this.size < this.need) return;
      const bytes = this.need > 0 ? this.take(this.need) : Buffer.alloc(0);
      const json = this.line;
      this.line = null;
      this.onItem(parseFrame(json, bytes), this.count++);
    }
  }

  /** The envelope, once every byte is in. */
  end(): unknown {
    if (this.envelope === null) {
      // An envelope without a newline (nothing after it).
      if (this.line === null && this.size > 0 && !isDigit(this.chunks[0]![0]!))
        return parseFrame(this.take(this.size), Buffer.alloc(0));
      throw new Error('the answer ended before its envelope');
    }
    const bytes = this.size > 0 ? this.take(this.size) : Buffer.alloc(0);
    return parseFrame(this.envelope, bytes);
  }
}

/**
 * An answer read as stdout arrives: the bytes before the marker skipped, the
 * rest inflated and split into frames as they come. end() (after the last
 * chunk) resolves to the envelope, or null when no marker came.
 */
export class AnswerReader {
  private before: Buffer | null = Buffer.alloc(0);
  private readonly inflate = createInflate({ chunkSize: 64 * 1024 });
  private failure: Error | null = null;
  private readonly frames: AnswerFrames;
  private readonly done: Promise<void>;

  constructor(onItem: (item: unknown, index: number) => void) {
    this.frames = new AnswerFrames(onItem);
    this.inflate.on('data', (d: Buffer) => {
      if (this.failure) return;
      try {
        this.frames.push(d);
      } catch (err) {
        this.failure = err as Error;
      }
    });
    this.done = new Promise<void>((resolve) => {
      this.inflate.once('end', resolve);
      // Every error is kept (the first one told): a write after a failure errs again.
      this.inflate.on('error', (err) => {
        this.failure ??= err;
        resolve();
      });
    });
  }

  push(chunk: Buffer): void {
    if (this.failure) return;
    if (this.before === null) {
      this.inflate.write(chunk);
      return;
    }
    // The marker may be split between chunks: search the bytes before it with this chunk.
    const seen = this.before.length > 0 ? Buffer.concat([this.before, chunk]) : chunk;
    const at = seen.indexOf(MARKER);
    if (at < 0) {
      this.before = seen;
      return;
    }
    this.before = null;
    this.inflate.write(seen.subarray(at + MARKER.length));
  }

  async end(): Promise<{ body: unknown } | null> {
    if (this.before !== null) return null;
    this.inflate.end();
    await this.done;
    if (this.failure) throw this.failure;
    return { body: this.frames.end() };
  }
}

let primed = false;

/**
 * Set up the item checks ahead of a process's first answer (a schema's first
 * check builds its fast path, ~10 ms): called while the remote still starts,
 * so the first items are checked at full speed.
 */
export function primeItemChecks(): void {
  if (primed) return;
  primed = true;
  const sig = [1, 1, 1];
  ITEMS.gather.schema.safeParse({
    path: '/',
    rel: ['x'],
    sigs: { config: sig, metadata: sig, failed: null, status: null, final: null, metrics: sig, system: null },
    texts: { config: { data: '' }, metadata: { data: '' }, failed: null, status: null, annotations: null },
    last_write_ms: 1,
    pid_alive: null,
    metrics: { start: 0, reset: false, size: 0, more: false, data: Buffer.alloc(0) },
  });
}

export interface CallOptions<Op extends AnsweredOp> extends Omit<ExecOptions, 'stdin' | 'onStdout'> {
  /** Each item (a gather's experiment) as soon as it arrives, checked, before the call returns. */
  onItem?: (item: ItemOf<Op>, index: number) => void;
}

/**
 * Run one helper operation and return its answer, checked against the
 * protocol. Items come to `onItem` as they arrive, and make their field of
 * the answer (a gather's `experiments`).
 */
export async function callRemote<R extends AnsweredRequest>(
  conn: HelperHost,
  request: R,
  opts: CallOptions<R['op']> = {},
): Promise<AnswerOf<R['op']>> {
  const op = request.op as R['op'];
  const itemSpec = (ITEMS as Partial<Record<AnsweredOp, (typeof ITEMS)[keyof typeof ITEMS]>>)[op];
  const items: unknown[] = [];
  let bad: string | null = null;
  const reader = new AnswerReader((raw, index) => {
    if (bad !== null) return;
    if (!itemSpec) {
      bad = `malformed answer to ${op} from ${conn.label}: items: ${op} sends none`;
      return;
    }
    const parsed = itemSpec.schema.safeParse(raw);
    if (!parsed.success) {
      bad = `malformed answer to ${op} from ${conn.label}: ${describeIssue(parsed.error, [itemSpec.field, index])}`;
      return;
    }
    items.push(parsed.data);
    opts.onItem?.(parsed.data as ItemOf<R['op']>, index);
  });
  const { onItem: _onItem, ...execOpts } = opts;
  const r = await conn.exec(helperCommand(), {
    ...execOpts,
    stdin: wireRequest(request),
    onStdout: (chunk) => reader.push(chunk),
  });
  // A host that does not stream (a test's stand-in) returns stdout whole.
  if (r.stdout.length > 0) reader.push(r.stdout);
  let got: { body: unknown } | null;
  try {
    got = await reader.end();
  } catch (err) {
    throw new RemoteOpError('internal', `unreadable answer from ${conn.label}: ${(err as Error).message}`);
  }
  if (!got) throw new RemoteOpError('internal', explainFailure(conn, r.code, r.stderr));
  const answer = checkAnswer(conn.label, op, got.body);
  if (bad !== null) throw new RemoteProtocolError(bad);
  if (itemSpec) (answer as Record<string, unknown>)[itemSpec.field] = items;
  return answer;
}
