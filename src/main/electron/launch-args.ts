/**
 * Which workspace the command line asks for. Electron's argv mixes our
 * arguments with Chromium switches (--remote-debugging-port=0, --inspect=0,
 * --no-sandbox…) and, when run unpackaged (`electron out/main/index.js`),
 * the app entry itself; only `--workspace DIR`, `--workspace=DIR` or the
 * first remaining positional argument name a workspace.
 */
import path from 'node:path';

export interface LaunchArgs {
  /** Absolute path of the folder to open, or null to open the default (the demo). */
  workspace: string | null;
}

export interface LaunchContext {
  /** process.defaultApp: true when run as `electron <entry>`, so argv carries the entry. */
  defaultApp: boolean;
  /** Directory relative paths are resolved against (the second instance's own cwd). */
  cwd: string;
}

/** `argv` is the full process.argv (executable first). */
export function parseLaunchArgs(argv: readonly string[], context: LaunchContext): LaunchArgs {
  let workspace: string | null = null;
  let entrySkipped = !context.defaultApp;
  let onlyPositionals = false;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!onlyPositionals) {
      if (arg === '--') {
        onlyPositionals = true;
        continue;
      }
      if (arg === '--workspace') {
        const value = argv[i + 1];
        i++;
        if (value !== undefined && value !== '') workspace = value;
        continue;
      }
      if (arg.startsWith('--workspace=')) {
        const value = arg.slice('--workspace='.length);
        if (value !== '') workspace = value;
        continue;
      }
      // Chromium/Electron switches and macOS's -psn_… argument.
      if (arg.startsWith('-')) continue;
    }
    if (!entrySkipped) {
      entrySkipped = true;
      continue;
    }
    if (workspace === null) workspace = arg;
  }
  return { workspace: workspace === null ? null : path.resolve(context.cwd, workspace) };
}
