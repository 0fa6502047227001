/**
 * The fields a summary takes from an experiment's small files, its status
 * file validated here against its schema (zod): what the SSH workspace
 * derives with. The local listing validates only when a folder has a status
 * file, importing the schema then (./small-files.ts).
 */
import { parseStatusFile } from '../workspace/status-file';
import { derivedFrom, NO_STATUS, type Derived, type SmallFilesParsed } from './derive';

/** The fields a summary takes from the small files (pure: local and remote folders share it). */
export function deriveFields(folder: string, files: SmallFilesParsed, hasFinalCheckpoint: boolean): Derived {
  const status = files.statusRaw.value ? parseStatusFile(files.statusRaw.value) : NO_STATUS;
  return derivedFrom(folder, { ...files, status }, hasFinalCheckpoint);
}
