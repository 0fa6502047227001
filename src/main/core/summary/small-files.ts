/**
 * The small files of an experiment a summary is made from (config.yaml,
 * metadata.json, FAILED.txt, the status file, the final checkpoint, the
 * notes), and reading them into the summary's derived fields.
 */
import path from 'node:path';
import { parsePlainYaml } from '../../../shared/plain-yaml';
import {
  failedFromText,
  jsonObjectFromText,
  readSmallFile,
  type JsonObject,
  type Parsed,
  type SmallFileText,
} from '../workspace/small-file-text';
import { LAYOUT } from '../workspace/layout';
import type { StatSig } from '../workspace/fs-batch';
import { derivedFrom, NO_STATUS, type Derived } from './derive';

import { SMALL_FILES, type SmallKey } from './listing-inputs';

export { SMALL_FILES, SMALL_KEYS, type SmallKey } from './listing-inputs';

/** `dir` (resolved) joined with a normalized relative name: path.join's cost, 40,000 times a listing, saved. */
export function inDir(dir: string, name: string): string {
  return dir.endsWith(path.sep) ? dir + name : dir + path.sep + name;
}

/** A path that is absolute and normal already (a listing's 10,000 calls); path.resolve's, otherwise. */
export function resolved(dir: string): string {
  return path.sep === '/' && dir.startsWith('/') && !/\/\/|\/\.\.?(\/|$)|.\/$/.test(dir)
    ? dir
    : path.resolve(dir);
}

/** A small file's text given its fresh signature: a missing file is not opened at all. */
function readKnown(dir: string, key: SmallKey, sig: StatSig | null): Promise<SmallFileText> {
  if (sig === null) return Promise.resolve({ text: null });
  const name = SMALL_FILES[key];
  return readSmallFile(inDir(dir, name), name, sig.size >= 0 ? sig.size : undefined);
}

/** Read the small files whose signatures say they exist (a missing one is never opened). */
export async function readDerived(dir: string, sigs: Record<SmallKey, StatSig | null>): Promise<Derived> {
  const [config, metadata, failed, statusRaw, notes] = await Promise.all([
    readKnown(dir, 'config', sigs.config),
    readKnown(dir, 'metadata', sigs.metadata),
    readKnown(dir, 'failed', sigs.failed),
    readKnown(dir, 'status', sigs.status),
    readKnown(dir, 'annotations', sigs.annotations),
  ]);
  const status = jsonObjectFromText(statusRaw, LAYOUT.status);
  return derivedFrom(
    path.basename(dir),
    {
      config: await configOf(config),
      metadata: jsonObjectFromText(metadata, LAYOUT.metadata),
      failed: failedFromText(failed),
      statusRaw: status,
      // Validated against its schema (zod), loaded only for a folder that has a status file.
      status: status.value
        ? (await import('../workspace/status-file')).parseStatusFile(status.value)
        : NO_STATUS,
      notes: notes.text,
    },
    sigs.final !== null,
  );
}

/**
 * config.yaml as files.ts's configFromText reads it, the `yaml` package (128 kB)
 * loaded only for a config the plain parser cannot decide: a listing of
 * seed-written folders never loads it.
 */
async function configOf({ text, problem }: SmallFileText): Promise<Parsed<JsonObject>> {
  if (text === null) return { value: null, problems: problem ? [problem] : [] };
  const plain = parsePlainYaml(text);
  if (plain) return { value: plain, problems: [] };
  return (await import('../workspace/yaml-document')).parseYamlDocument(text, LAYOUT.config);
}
