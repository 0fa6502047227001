/** Run the real `expdesk` command (bin/expdesk.mjs) as a user would. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '../..');
export const EXPDESK_BIN = path.join(REPO, 'bin', 'expdesk.mjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [EXPDESK_BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `expdesk run --workspace PROJ --config PROJ/configs/base.yaml -- COMMAND…` (a demo project's layout). */
export function runInDemoProject(proj: string, command: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const config = path.join(proj, 'configs', 'base.yaml');
  return runCli(['run', '--workspace', proj, '--config', config, '--', ...command], env);
}
