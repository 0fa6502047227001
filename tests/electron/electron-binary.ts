/**
 * Where the Electron binary is, without downloading it. `require('electron')`
 * cannot be used to ask: since Electron 45 it starts a download when the
 * binary is missing (and throws when that fails), so this mirrors its lookup
 * (path.txt, ELECTRON_OVERRIDE_DIST_PATH) read-only. scripts/start.mjs has
 * the same logic in plain JS; tests/unit/electron/electron-binary.test.ts
 * holds both to the same cases.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface ElectronBinary {
  /** Where the executable is or would be. */
  path: string;
  available: boolean;
  /** Why it is not available (empty when it is). */
  reason: string;
}

function defaultExecutable(platform: NodeJS.Platform): string {
  if (platform === 'darwin') return 'Electron.app/Contents/MacOS/Electron';
  return platform === 'win32' ? 'electron.exe' : 'electron';
}

export function findElectronBinary(
  electronPackageDir: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): ElectronBinary {
  const pathFile = path.join(electronPackageDir, 'path.txt');
  const recorded = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : '';
  const override = env.ELECTRON_OVERRIDE_DIST_PATH;
  const binary = override
    ? path.join(override, recorded || 'electron')
    : path.join(electronPackageDir, 'dist', recorded || defaultExecutable(platform));
  if (!override && !recorded) {
    return {
      path: binary,
      available: false,
      reason: `${pathFile} is missing: the Electron binary was never downloaded`,
    };
  }
  if (!existsSync(binary)) return { path: binary, available: false, reason: `${binary} does not exist` };
  if (!statSync(binary).isFile())
    return { path: binary, available: false, reason: `${binary} is not a file` };
  if (platform !== 'win32') {
    try {
      accessSync(binary, constants.X_OK);
    } catch {
      return { path: binary, available: false, reason: `${binary} is not executable` };
    }
  }
  return { path: binary, available: true, reason: '' };
}
