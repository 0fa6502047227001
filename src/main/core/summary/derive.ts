/**
 * The fields of a summary that come from an experiment's small files
 * (config.yaml, metadata.json, FAILED.txt, the status file, the notes file):
 * pure, so local and remote folders share it (core/remote/remote-workspace.ts).
 */
import { flattenConfig } from '../../../shared/config-diff';
import { LISTED_CONFIG_KEYS } from '../../../shared/listed-config';
import type { Annotations } from '../../../shared/annotations';
import type { JsonValue, Problem } from '../../../shared/model';
import { annotationsFromText } from '../workspace/annotations';
import type { FailedInfo, JsonObject, Parsed } from '../workspace/small-file-text';
import type { StatusFile } from '../workspace/status-file';

/** What a summary needs from the small files; cached until one of them changes. */
export interface Derived {
  name: string;
  algorithm: string | null;
  model: string | null;
  startedAt: string | null;
  gitHash: string | null;
  gitDirty: boolean | null;
  failed: FailedInfo | null;
  statusFile: StatusFile | null;
  hasFinalCheckpoint: boolean;
  problems: Problem[];
  /** The config's LISTED_CONFIG_KEYS values (absent in entries written by older versions). */
  params?: Record<string, JsonValue>;
  /** Notes, tags, star, archive (expdesk_notes.json), when the folder has them. */
  annotations?: Annotations;
}

function getPath(obj: JsonObject | null, ...keys: string[]): JsonValue | undefined {
  let cur: JsonValue | undefined = obj ?? undefined;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function str(v: JsonValue | undefined): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/** The small files as parsed, before the status file is validated. */
export interface SmallFilesParsed {
  config: Parsed<JsonObject>;
  metadata: Parsed<JsonObject>;
  failed: Parsed<FailedInfo>;
  statusRaw: Parsed<JsonObject>;
  /** expdesk_notes.json's text (null: none), where it was read. */
  notes?: string | null;
}

/** No status file: nothing to validate. */
export const NO_STATUS: Parsed<StatusFile> = { value: null, problems: [] };

/**
 * The fields a summary takes from the small files, the status file already
 * validated (../workspace/status-file.ts; ./derive-fields.ts does both). Pure,
 * and free of the schema library, so a listing loads zod only for a folder
 * that has a status file.
 */
export function derivedFrom(
  folder: string,
  files: SmallFilesParsed & { status: Parsed<StatusFile> },
  hasFinalCheckpoint: boolean,
): Derived {
  const { config, metadata, failed, statusRaw, status } = files;
  const c = config.value;
  const m = metadata.value;
  const dirty = getPath(m, 'git_dirty');
  const flat = c ? flattenConfig(c) : {};
  const params: Record<string, JsonValue> = {};
  for (const k of LISTED_CONFIG_KEYS) if (Object.prototype.hasOwnProperty.call(flat, k)) params[k] = flat[k]!;
  return {
    name: str(getPath(c, 'experiment', 'name')) ?? str(getPath(m, 'name')) ?? folder,
    algorithm: str(getPath(c, 'algorithm', 'name')),
    model: str(getPath(c, 'model', 'name')),
    startedAt: str(getPath(m, 'started_at')),
    gitHash: str(getPath(m, 'git_hash')),
    gitDirty: typeof dirty === 'boolean' ? dirty : null,
    failed: failed.value,
    statusFile: status.value,
    hasFinalCheckpoint,
    params,
    ...(files.notes ? { annotations: annotationsFromText(files.notes) } : {}),
    problems: [
      ...config.problems,
      ...metadata.problems,
      ...failed.problems,
      ...statusRaw.problems,
      ...status.problems,
    ],
  };
}
