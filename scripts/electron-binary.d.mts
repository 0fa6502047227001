export interface ElectronBinary {
  /** Where the executable is or would be. */
  path: string;
  available: boolean;
  /** Why it is not available (empty when it is). */
  reason: string;
}

export function findElectronBinary(
  electronPackageDir: string,
  env?: NodeJS.ProcessEnv,
  platform?: NodeJS.Platform,
): ElectronBinary;
