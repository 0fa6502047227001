/**
 * The interface's file views and config editor on a remote workspace, one
 * helper command each, with the local rules applied on the remote itself
 * (where the real paths are): an experiment file only inside its experiment
 * folder, real path included (core/workspace/file-access.ts); config files
 * only .yaml/.yml inside the project, and a save never inside experiments/ or
 * an experiment folder, written atomically there — a temp file in the same
 * folder, then rename (core/configs/config-files.ts).
 */
import type { SshConnection } from './connection';
import { callRemote, type HelperHost } from './remote-python';

export const DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024;

export interface RemoteFileText {
  text: string;
  size: number;
  truncated: boolean;
}

/** A text file of a remote experiment, the start up to `maxBytes`, as UTF-8 with U+FFFD. */
export async function readRemoteExperimentFile(
  conn: HelperHost,
  remotePath: string,
  maxBytes = DEFAULT_MAX_FILE_BYTES,
): Promise<RemoteFileText> {
  const r = await callRemote(conn, { op: 'file', path: remotePath, max: maxBytes }, { retry: true });
  const buf = Buffer.from(r.data, 'base64');
  const truncated = r.size > buf.length;
  // stream: true holds back a character cut at the cap instead of turning it into U+FFFD.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(buf, { stream: truncated });
  return { text, size: r.size, truncated };
}

/** The project of a remote workspace and its config files (remote paths). */
export function listRemoteConfigs(
  conn: HelperHost,
  workspacePath: string,
): Promise<{ project: string; files: Array<{ path: string; rel: string }> }> {
  return callRemote(conn, { op: 'configs', root: workspacePath }, { retry: true });
}

export async function readRemoteConfig(
  conn: SshConnection,
  workspacePath: string,
  file: string,
): Promise<string> {
  const r = await callRemote(conn, { op: 'config_read', root: workspacePath, file }, { retry: true });
  return Buffer.from(r.data, 'base64').toString('utf8');
}

/** Save a config on the remote; returns its real path there. Retried after a dropped link: saving the same text twice is harmless. */
export async function writeRemoteConfig(
  conn: SshConnection,
  workspacePath: string,
  file: string,
  text: string,
): Promise<string> {
  const r = await callRemote(
    conn,
    {
      op: 'config_write',
      root: workspacePath,
      file,
      data: Buffer.from(text, 'utf8').toString('base64'),
    },
    { retry: true },
  );
  return r.path;
}
