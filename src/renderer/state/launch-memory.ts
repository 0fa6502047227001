/**
 * What the launch form remembers across a reload, in one localStorage entry
 * (PREF.launchMemory), and nothing else:
 *  - per workspace, the form: command, interpreter, "refuse uncommitted
 *    changes", where the run goes and the SLURM fields;
 *  - per workspace and config file, what was made for that config: its
 *    overrides and sweep axes (with the sweep's "at most"), so one config's
 *    overrides are never applied to another.
 * The seed and the run name belong to one launch and are never remembered.
 * Entries of older versions (one command for every workspace, a "where" per
 * workspace) are read as the defaults of a workspace not remembered yet.
 * Without a storage (a sandboxed page, tests) the memory lasts as long as the page.
 */
import { EMPTY_SLURM_FIELDS, type SlurmFields } from '../../shared/slurm-fields';
import { readJson, writeJson, type KeyValueStorage } from '../lib/recent';
import { PREF } from './context';
import type { LaunchForm, OverrideRow } from './types';

/** The form's part remembered per workspace. */
export type RememberedForm = Pick<LaunchForm, 'command' | 'python' | 'refuseDirty' | 'where' | 'slurm'>;
/** The form's part remembered per workspace and config file. */
export interface RememberedConfig {
  overrides: OverrideRow[];
  sweep: string;
  maxParallel: string;
}

export const DEFAULT_COMMAND = 'python3 train.py {config}';
export const EMPTY_CONFIG_MEMORY: RememberedConfig = { overrides: [], sweep: '', maxParallel: '' };
/** Configs remembered per workspace; the least recently changed are forgotten first. */
const MAX_CONFIGS = 200;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);

function slurmOf(v: unknown): SlurmFields {
  const slurm = { ...EMPTY_SLURM_FIELDS };
  if (isObject(v)) for (const k of Object.keys(slurm) as Array<keyof SlurmFields>) slurm[k] = str(v[k]);
  return slurm;
}

/** A remembered form, read defensively (localStorage is the user's to edit); missing fields from `fallback`. */
function formOf(v: Json, fallback: RememberedForm): RememberedForm {
  return {
    command: str(v.command) || fallback.command,
    python: typeof v.python === 'string' ? v.python : fallback.python,
    refuseDirty: typeof v.refuseDirty === 'boolean' ? v.refuseDirty : fallback.refuseDirty,
    where: v.where === 'slurm' ? 'slurm' : v.where === 'local' ? 'local' : fallback.where,
    slurm: 'slurm' in v ? slurmOf(v.slurm) : fallback.slurm,
  };
}

function configOf(v: unknown): RememberedConfig {
  if (!isObject(v)) return EMPTY_CONFIG_MEMORY;
  const rows = Array.isArray(v.overrides) ? v.overrides.filter(isObject) : [];
  return {
    overrides: rows.map((r) => ({ key: str(r.key), value: str(r.value) })),
    sweep: str(v.sweep),
    maxParallel: str(v.maxParallel),
  };
}

export class LaunchMemory {
  /** The memory itself when there is no storage. */
  private page: Json = {};

  constructor(private readonly storage: KeyValueStorage | null) {}

  /** The form of a workspace: as remembered, else the older entries', else the defaults. */
  form(workspace: string): RememberedForm {
    const legacy = formOf(readJson(this.storage, PREF.launch, isObject) ?? {}, {
      command: DEFAULT_COMMAND,
      python: '',
      refuseDirty: false,
      where: 'local',
      slurm: EMPTY_SLURM_FIELDS,
    });
    const legacyWhere = readJson(this.storage, PREF.launchWhere, isObject)?.[workspace];
    const fallback = isObject(legacyWhere) ? formOf(legacyWhere, legacy) : legacy;
    const entry = this.workspace(workspace).form;
    return isObject(entry) ? formOf(entry, fallback) : fallback;
  }

  saveForm(workspace: string, form: RememberedForm): void {
    const { command, python, refuseDirty, where, slurm } = form;
    this.update(workspace, (w) => ({ ...w, form: { command, python, refuseDirty, where, slurm } }));
  }

  /** What was made for a config of a workspace; nothing for one not seen. */
  config(workspace: string, file: string): RememberedConfig {
    const configs = this.workspace(workspace).configs;
    return isObject(configs) ? configOf(configs[file]) : EMPTY_CONFIG_MEMORY;
  }

  saveConfig(workspace: string, file: string, config: RememberedConfig): void {
    this.update(workspace, (w) => {
      const configs = Object.entries(isObject(w.configs) ? w.configs : {}).filter(([f]) => f !== file);
      const empty = config.overrides.length === 0 && !config.sweep && !config.maxParallel;
      // Newest last: the oldest fall off first.
      if (!empty) configs.push([file, config]);
      return { ...w, configs: Object.fromEntries(configs.slice(-MAX_CONFIGS)) };
    });
  }

  private all(): Json {
    return this.storage ? (readJson(this.storage, PREF.launchMemory, isObject) ?? {}) : this.page;
  }

  private workspace(workspace: string): Json {
    const w = this.all()[workspace];
    return isObject(w) ? w : {};
  }

  private update(workspace: string, change: (w: Json) => Json): void {
    // Read again each time: another window may have remembered another workspace meanwhile.
    const all = this.all();
    const next = { ...all, [workspace]: change(isObject(all[workspace]) ? all[workspace] : {}) };
    if (this.storage) writeJson(this.storage, PREF.launchMemory, next);
    else this.page = next;
  }
}
