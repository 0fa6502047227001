/**
 * Composing a remote project's config here: the interface's config editor
 * and launch on a remote workspace. One helper command brings the text of
 * every config under the project's configs/ (the `configs` op with data);
 * they are written to a private temporary folder with the same relative
 * layout, so the core's composer (defaults, overrides, interpolation, errors
 * at file:line:column) runs on them exactly as on a local project. Paths in
 * its answers are mapped back to the remote ones. Nothing is written on the
 * remote.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SshConnection } from './connection';
import { callRemote } from './remote-python';

export interface RemoteConfigMirror {
  /** The remote project folder. */
  project: string;
  /** The local folder holding the copies: composing is confined to it (no default leads to a local file). */
  localRoot: string;
  /** The local copy of a remote config file, or null when it is not one of the project's configs. */
  localFor(remotePath: string): string | null;
  /** The remote path of a local copy (other paths are returned as they are). */
  remoteFor(localPath: string): string;
  /** A message with every local copy's path replaced by the remote one. */
  remoteText(text: string): string;
  cleanup(): void;
}

export async function mirrorRemoteConfigs(
  conn: SshConnection,
  workspacePath: string,
): Promise<RemoteConfigMirror> {
  const r = await callRemote(conn, { op: 'configs', root: workspacePath, data: true }, { retry: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-remote-configs-'));
  const toLocal = new Map<string, string>();
  try {
    for (const f of r.files) {
      if (f.data === undefined) continue; // a link out of the project: not composed
      const rel = path.posix.normalize(f.rel);
      if (rel.startsWith('../') || path.posix.isAbsolute(rel)) continue;
      const local = path.join(dir, ...rel.split('/'));
      mkdirSync(path.dirname(local), { recursive: true });
      writeFileSync(local, Buffer.from(f.data, 'base64'), { mode: 0o600 });
      toLocal.set(path.posix.normalize(f.path), local);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const project = r.project.replace(/\/+$/, '');
  // The copies keep the project's layout: the remote path is the project plus the same relative path.
  const remoteFor = (localPath: string): string =>
    localPath.startsWith(dir + path.sep)
      ? `${project}/${path.relative(dir, localPath).split(path.sep).join('/')}`
      : localPath;
  return {
    project: r.project,
    localRoot: dir,
    localFor: (remotePath) => toLocal.get(path.posix.normalize(remotePath)) ?? null,
    remoteFor,
    remoteText: (text) => text.split(dir).join(project),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
