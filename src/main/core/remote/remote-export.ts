/**
 * Bringing a remote experiment here for a bundle (`expdesk export ssh://…`):
 * one remote command streams a tar of what a bundle takes from the folder
 * (the top-level records, logs/metrics.jsonl, logs/ with withLogs, the final
 * checkpoint with withCheckpoint) followed by a git pack of the recorded
 * commit's objects (the commit, its tree and blobs — not the history). Here
 * the pack goes into a throwaway repository marked shallow at that commit,
 * so the local export (bundle/export.ts) finds the source exactly as it
 * would in the original repository. Nothing is written on the remote.
 * Only regular files travel; what the helper left out (a link leading out,
 * a FIFO …) comes as a list, and the export names it as it would locally.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { inflateSync } from 'node:zlib';
import { x as extractTar } from 'tar';
import { remoteBasename } from '../../../shared/remote-location';
import type { SshConnection } from './connection';
import { callRemote, helperCommand, MARKER, openEnvelope, RemoteOpError, wireRequest } from './remote-python';

export interface FetchedExperiment {
  /** The local copy of the experiment folder. */
  expDir: string;
  /** A local repository holding the recorded commit, or null when the remote had none. */
  repository: string | null;
  /** Entries the remote helper left out (links leading out, links to folders, FIFOs …), with why. */
  leftOut: Array<{ path: string; reason: string }>;
  cleanup(): void;
}

const PACK_NAME = '.expdesk-commit.pack';
/** Beside the copy (not in it: the experiment cannot plant it), what the helper left out. */
const LEFT_OUT_NAME = '.expdesk-left-out.json';

function readLeftOut(file: string): Array<{ path: string; reason: string }> {
  if (!existsSync(file)) return [];
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((e: unknown) => {
    const o = e as { path?: unknown; reason?: unknown } | null;
    return o && typeof o.path === 'string' && typeof o.reason === 'string'
      ? [{ path: o.path, reason: o.reason }]
      : [];
  });
}

/** A zlib stream starts with 0x78 and a check byte; a tar stream starts with a file name. */
function looksLikeZlib(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x78 && [0x01, 0x5e, 0x9c, 0xda].includes(b[1]!);
}

export async function fetchRemoteExperiment(
  conn: SshConnection,
  remotePath: string,
  opts: { withLogs?: boolean; withCheckpoint?: boolean },
): Promise<FetchedExperiment> {
  // The metadata says which commit to pack, and where the repository is. Read confined to the
  // experiment (the `file` op, file.read's rules): a metadata.json linked out of it is not read.
  const meta = await callRemote(
    conn,
    { op: 'file', path: `${remotePath.replace(/\/+$/, '')}/metadata.json`, max: 16 * 1024 * 1024 },
    { retry: true },
  ).catch((err: unknown) => {
    if (err instanceof RemoteOpError && err.code !== 'internal') return null;
    throw err;
  });
  let gitHash: unknown = null;
  let gitRoot: unknown = null;
  if (meta) {
    try {
      const m = JSON.parse(Buffer.from(meta.data, 'base64').toString('utf8')) as Record<string, unknown>;
      gitHash = m.git_hash;
      gitRoot = m.git_root;
    } catch {
      // a damaged metadata.json: the export reports it from the copy
    }
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'expdesk-remote-export-'));
  const cleanup = (): void => rmSync(tmp, { recursive: true, force: true });
  try {
    const channel = await conn.openStream(
      helperCommand(),
      wireRequest({
        op: 'pack',
        exp_dir: remotePath,
        with_logs: Boolean(opts.withLogs),
        with_checkpoint: Boolean(opts.withCheckpoint),
        git_hash: typeof gitHash === 'string' ? gitHash : null,
        git_root: typeof gitRoot === 'string' ? gitRoot : null,
      }),
    );
    channel.end();
    const tarStream = new PassThrough();
    const extracted = new Promise<void>((resolve, reject) => {
      tarStream
        .pipe(extractTar({ cwd: tmp, strict: true }))
        .on('finish', () => resolve())
        .on('error', reject);
    });
    let head = Buffer.alloc(0);
    let mode: 'head' | 'tar' | 'error' = 'head';
    const errorParts: Buffer[] = [];
    let stderr = '';
    const done = new Promise<number | null>((resolve, reject) => {
      let code: number | null = null;
      channel.on('data', (d: Buffer) => {
        if (mode === 'tar') return void tarStream.write(d);
        if (mode === 'error') return void errorParts.push(d);
        head = Buffer.concat([head, d]);
        const at = head.indexOf(MARKER);
        if (at < 0 || head.length < at + MARKER.length + 2) return;
        const rest = head.subarray(at + MARKER.length);
        mode = looksLikeZlib(rest) ? 'error' : 'tar';
        if (mode === 'tar') tarStream.write(rest);
        else errorParts.push(rest);
      });
      channel.stderr.on('data', (d: Buffer) => {
        if (stderr.length < 16 * 1024) stderr += d.toString('utf8');
      });
      channel.on('exit', (c: number | null) => (code = c));
      channel.on('close', () => {
        tarStream.end();
        resolve(code);
      });
      channel.on('error', reject);
    });
    const code = await done;
    // Set in the channel's callbacks, which TypeScript's narrowing does not see.
    const ended = mode as 'head' | 'tar' | 'error';
    if (ended === 'error') {
      // A JSON body instead of the tar: an error (or a helper of another version).
      const body: unknown = JSON.parse(inflateSync(Buffer.concat(errorParts)).toString('utf8'));
      openEnvelope(conn.label, 'pack', body);
      throw new RemoteOpError('internal', 'the remote export failed');
    }
    if (mode === 'head')
      throw new RemoteOpError('internal', `the remote export failed on ${conn.label}: ${stderr.trim()}`);
    await extracted;
    if (code !== 0)
      throw new RemoteOpError('internal', `the remote export failed on ${conn.label}: ${stderr.trim()}`);

    const expDir = path.join(tmp, remoteBasename(remotePath));
    const pack = path.join(tmp, PACK_NAME);
    let repository: string | null = null;
    if (existsSync(pack) && typeof gitHash === 'string') {
      const repo = path.join(tmp, 'source-repository');
      const git = (cwd: string, args: string[], input?: Buffer): void => {
        const r = spawnSync('git', args, { cwd, input, stdio: ['pipe', 'ignore', 'pipe'] });
        if (r.status !== 0)
          throw new Error(`git ${args[0]}: ${r.error?.message ?? r.stderr?.toString().trim()}`);
      };
      git(tmp, ['init', '-q', repo]);
      git(repo, ['index-pack', '--stdin'], readFileSync(pack));
      // Only this commit's objects came: mark it shallow so git never looks for its parents.
      writeFileSync(path.join(repo, '.git', 'shallow'), `${gitHash}\n`);
      repository = repo;
      rmSync(pack);
    }
    const leftOut = readLeftOut(path.join(tmp, LEFT_OUT_NAME));
    return { expDir, repository, leftOut, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}
