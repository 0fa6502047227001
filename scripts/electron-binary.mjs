// Plain JS so that `npm start` needs no TypeScript loader.
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Where the Electron binary is, without `require('electron')`: since
 * Electron 45 that starts a download when the binary is missing (and throws
 * when the download fails), so this mirrors its lookup (path.txt,
 * ELECTRON_OVERRIDE_DIST_PATH) read-only. Used by `npm start` and by the
 * Electron smoke test; types in electron-binary.d.mts.
 */
export function findElectronBinary(electronPackageDir, env = process.env, platform = process.platform) {
  const pathFile = path.join(electronPackageDir, 'path.txt');
  const recorded = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : '';
  const override = env.ELECTRON_OVERRIDE_DIST_PATH;
  const fallback =
    platform === 'darwin'
      ? 'Electron.app/Contents/MacOS/Electron'
      : platform === 'win32'
        ? 'electron.exe'
        : 'electron';
  const binary = override
    ? path.join(override, recorded || 'electron')
    : path.join(electronPackageDir, 'dist', recorded || fallback);
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
