/**
 * Composing a run's config from YAML files, the way the seed's users (and
 * Hydra's) expect:
 *   - `defaults:` lists other files (relative to the file, `.yaml` optional),
 *     merged in order, then the file's own keys on top; defaults nest.
 *   - maps merge deeply; lists and scalars are replaced.
 *   - overrides KEY=VALUE (YAML-typed) apply last; a key no config defines is
 *     an error naming its nearest neighbours unless written +KEY=VALUE
 *     (++KEY=VALUE sets whether or not it exists).
 *   - `${dotted.path}` interpolation, also inside strings.
 * Every error names the file, line and column (ConfigError).
 *
 * Confined when given the project (`root`): the file and every default must
 * resolve (realpath) inside it, so neither a request for /etc/shadow nor a
 * `defaults:` entry (or a link among the configs) leading out of the project
 * reads a file outside; a default that does is an error at its line.
 */
import fs, { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfinementError, resolveInsideSync } from '../fs/confine';
import {
  isMap as isYamlMap,
  isScalar,
  isSeq,
  LineCounter,
  parse as parseYaml,
  parseDocument,
  type Node as YamlNode,
} from 'yaml';
import { yamlTooDeep } from '../../../shared/nesting';
import { readRegularFileSync } from '../fs/safe-read';
import type { JsonValue } from '../../../shared/model';
import { emitYaml } from '../../../shared/config/emit';
import { resolveInterpolations, InterpolationError } from '../../../shared/config/interpolate';
import {
  allPaths,
  deepMerge,
  getPath,
  isMap,
  nearestKeys,
  setPath,
  type ConfigMap,
} from '../../../shared/config/tree';
import { ExpdeskError } from '../../../shared/errors';

/** YAML aliases allowed per file: plenty for real configs, too few for an alias bomb. */
const MAX_ALIASES = 100;
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export interface SourcePos {
  file: string;
  line: number;
  column: number;
}

export class ConfigError extends ExpdeskError {
  constructor(
    readonly pos: SourcePos | null,
    readonly detail: string,
  ) {
    super('bad-request', pos ? `${pos.file}:${pos.line}:${pos.column}: ${detail}` : detail);
    this.name = 'ConfigError';
  }
}

/** Where each dotted key was last set: a file position or an override. */
export type Origins = Map<string, SourcePos | { override: string }>;

export interface ComposedConfig {
  /** The fully resolved config: merged, overridden, interpolated. */
  config: ConfigMap;
  /**
   * The config composed from the defaults only (before the file's own keys and overrides), for "diff from base";
   * null when the file has no `defaults:` list (or an empty one): it has no base, and nothing changed from one.
   */
  base: ConfigMap | null;
  /**
   * The config as the files compose it, before the overrides (interpolated where that resolves without
   * them), for "changes made by overrides"; null when no override was given.
   */
  beforeOverrides: ConfigMap | null;
  origins: Origins;
  /** Dotted paths of numbers written as floats (3.0), so the frozen file keeps them floats. */
  floatPaths: Set<string>;
  /** Every file read, in merge order, the top file last. */
  files: string[];
}

interface LoadedFile {
  own: ConfigMap;
  defaults: Array<{ spec: string; pos: SourcePos }>;
  origins: Origins;
  floatPaths: Set<string>;
}

function posAt(file: string, lc: LineCounter, offset: number): SourcePos {
  const { line, col } = lc.linePos(offset);
  return { file, line, column: col };
}

/** Record the position of every key and which numbers were written as floats. */
function walk(
  node: YamlNode | null | undefined,
  prefix: string,
  file: string,
  lc: LineCounter,
  out: LoadedFile,
): void {
  if (isYamlMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const p = prefix ? `${prefix}.${key}` : key;
      const keyNode = pair.key as YamlNode | null;
      if (keyNode?.range) out.origins.set(p, posAt(file, lc, keyNode.range[0]));
      walk(pair.value as YamlNode | null, p, file, lc, out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(item as YamlNode, `${prefix}.${i}`, file, lc, out));
  } else if (isScalar(node) && typeof node.value === 'number' && Number.isInteger(node.value)) {
    const src = node.source ?? '';
    if (/[.eE]/.test(src) && !/^0x/i.test(src)) out.floatPaths.add(prefix);
  }
}

function loadFile(file: string, draft?: string): LoadedFile {
  let text: string;
  try {
    if (draft !== undefined) {
      if (Buffer.byteLength(draft) > MAX_CONFIG_BYTES)
        throw new ConfigError({ file, line: 1, column: 1 }, 'file too large for a config');
      text = draft;
    } else if (statSync(file).size > MAX_CONFIG_BYTES)
      throw new ConfigError({ file, line: 1, column: 1 }, 'file too large for a config');
    // Only a regular file, opened without blocking (a FIFO would block this thread), bounded.
    else text = readRegularFileSync(fs, file, MAX_CONFIG_BYTES, path.basename(file)).toString('utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError({ file, line: 1, column: 1 }, `cannot read: ${(err as Error).message}`);
  }
  const deep = yamlTooDeep(text); // before parsing: deep nesting exhausts the parser's memory
  if (deep) throw new ConfigError({ file, line: deep.line, column: deep.column }, deep.message);
  const lc = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter: lc });
  const first = doc.errors[0];
  if (first) {
    throw new ConfigError(posAt(file, lc, first.pos[0]), first.message.split('\n')[0] ?? first.message);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    throw new ConfigError({ file, line: 1, column: 1 }, (err as Error).message);
  }
  if (value === null || value === undefined) value = {};
  if (!isMap(value))
    throw new ConfigError({ file, line: 1, column: 1 }, 'a config must be a mapping of keys');
  const out: LoadedFile = { own: { ...value }, defaults: [], origins: new Map(), floatPaths: new Set() };
  walk(doc.contents, '', file, lc, out);

  const rawDefaults = value.defaults;
  if (rawDefaults !== undefined) {
    delete out.own.defaults;
    for (const k of [...out.origins.keys()])
      if (k === 'defaults' || k.startsWith('defaults.')) out.origins.delete(k);
    const defaultsNode = isYamlMap(doc.contents) ? doc.contents.get('defaults', true) : null;
    const items = Array.isArray(rawDefaults) ? rawDefaults : [rawDefaults];
    const itemNodes = isSeq(defaultsNode) ? defaultsNode.items : [defaultsNode];
    items.forEach((spec, i) => {
      const n = itemNodes[i] as YamlNode | null | undefined;
      const pos = n?.range ? posAt(file, lc, n.range[0]) : { file, line: 1, column: 1 };
      if (typeof spec !== 'string') throw new ConfigError(pos, 'each entry of defaults must be a file name');
      out.defaults.push({ spec, pos });
    });
  }
  return out;
}

function resolveDefault(fromFile: string, spec: string, pos: SourcePos, root: string | undefined): string {
  const base = path.resolve(path.dirname(fromFile), spec);
  const candidates = /\.ya?ml$/.test(spec) ? [base] : [`${base}.yaml`, `${base}.yml`, base];
  const found = candidates.find((c) => existsSync(c) && statSync(c).isFile());
  if (!found) throw new ConfigError(pos, `default '${spec}' not found (looked for ${candidates.join(', ')})`);
  if (root !== undefined) {
    try {
      resolveInsideSync(root, found, 'the project');
    } catch (err) {
      if (!(err instanceof ConfinementError)) throw err;
      throw new ConfigError(pos, `default '${spec}' is refused: ${err.message}`);
    }
  }
  return found;
}

interface Merged {
  config: ConfigMap;
  base: ConfigMap | null;
  origins: Origins;
  floatPaths: Set<string>;
  files: string[];
}

/** `drafts`: unsaved editor text to read in place of a file's content on disk. */
function compose(
  file: string,
  chain: string[],
  drafts: ReadonlyMap<string, string>,
  root: string | undefined,
): Merged {
  const loaded = loadFile(file, drafts.get(file));
  let config: ConfigMap = {};
  const origins: Origins = new Map();
  const floatPaths = new Set<string>();
  const files: string[] = [];
  for (const { spec, pos } of loaded.defaults) {
    const target = resolveDefault(file, spec, pos, root);
    if (chain.includes(target) || target === file) {
      const cycle = [...chain, file, target].map((f) => path.basename(f)).join(' → ');
      throw new ConfigError(pos, `cycle in defaults: ${cycle}`);
    }
    const sub = compose(target, [...chain, file], drafts, root);
    config = deepMerge(config, sub.config);
    sub.origins.forEach((v, k) => origins.set(k, v));
    sub.floatPaths.forEach((p) => floatPaths.add(p));
    for (const f of sub.files) if (!files.includes(f)) files.push(f);
  }
  const base = loaded.defaults.length > 0 ? config : null;
  config = deepMerge(config, loaded.own);
  loaded.origins.forEach((v, k) => origins.set(k, v));
  // A key set by this file replaces float-ness decided by its defaults.
  for (const p of [...floatPaths]) if (loaded.origins.has(p)) floatPaths.delete(p);
  loaded.floatPaths.forEach((p) => floatPaths.add(p));
  files.push(file);
  return { config, base, origins, floatPaths, files };
}

export interface Override {
  key: string;
  value: JsonValue;
  mode: 'override' | 'add' | 'force';
  text: string;
}

export function parseOverride(text: string): Override {
  const eq = text.indexOf('=');
  if (eq <= 0)
    throw new ConfigError(null, `override '${text}' must look like KEY=VALUE (or +KEY=VALUE to add a key)`);
  let key = text.slice(0, eq).trim();
  let mode: Override['mode'] = 'override';
  if (key.startsWith('++')) {
    mode = 'force';
    key = key.slice(2);
  } else if (key.startsWith('+')) {
    mode = 'add';
    key = key.slice(1);
  }
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(key)) {
    throw new ConfigError(null, `override '${text}': '${key}' is not a dotted key like training.lr`);
  }
  const raw = text.slice(eq + 1);
  let value: JsonValue;
  try {
    value = raw === '' ? '' : (parseYaml(raw, { maxAliasCount: 0 }) as JsonValue);
  } catch (err) {
    throw new ConfigError(
      null,
      `override '${text}': the value is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  if (value === undefined) value = null;
  return { key, value, mode, text };
}

function applyOverride(config: ConfigMap, o: Override, origins: Origins, floatPaths: Set<string>): void {
  const exists = getPath(config, o.key) !== undefined;
  if (!exists && o.mode === 'override') {
    const near = nearestKeys(o.key, allPaths(config));
    throw new ConfigError(
      null,
      `override ${o.text}: no config defines '${o.key}'${near.length ? ` (nearest: ${near.join(', ')})` : ''}; write +${o.text} to add a new key`,
    );
  }
  if (exists && o.mode === 'add') {
    throw new ConfigError(
      null,
      `override ${o.text}: '${o.key}' is already defined; write ${o.text.slice(1)} to change it`,
    );
  }
  if (!setPath(config, o.key, o.value)) {
    throw new ConfigError(null, `override ${o.text}: a part of '${o.key}' is not a map`);
  }
  origins.set(o.key, { override: o.text });
  floatPaths.delete(o.key);
  const src = o.text.slice(o.text.indexOf('=') + 1);
  if (typeof o.value === 'number' && Number.isInteger(o.value) && /[.eE]/.test(src)) floatPaths.add(o.key);
}

export interface ComposeOptions {
  overrides?: string[];
  /**
   * The config editor's unsaved text of `file`, composed in place of what is
   * on disk so that errors show while typing. Defaults it pulls in are read
   * from disk as usual.
   */
  text?: string;
  /**
   * The open project: the file and every default must resolve (realpath)
   * inside it. Unset for a file the user named on the command line.
   */
  root?: string;
}

/** The files' config without the overrides; left uninterpolated where only an override lets it resolve. */
function beforeOverrides(config: ConfigMap): ConfigMap {
  try {
    return resolveInterpolations(config);
  } catch {
    return config;
  }
}

/** Compose, override and interpolate a config file. Throws ConfigError with file:line:column. */
export function composeConfig(file: string, options: ComposeOptions = {}): ComposedConfig {
  const top = path.resolve(file);
  if (!existsSync(top)) throw new ConfigError(null, `config file not found: ${top}`);
  if (options.root !== undefined) {
    try {
      resolveInsideSync(options.root, top, `the open project (${options.root})`);
    } catch (err) {
      if (!(err instanceof ConfinementError)) throw err;
      throw new ConfigError(null, err.message);
    }
  }
  const drafts = new Map(options.text === undefined ? [] : [[top, options.text]]);
  const merged = compose(top, [], drafts, options.root);
  const config = structuredClone(merged.config);
  for (const text of options.overrides ?? [])
    applyOverride(config, parseOverride(text), merged.origins, merged.floatPaths);
  let resolved: ConfigMap;
  try {
    resolved = resolveInterpolations(config);
  } catch (err) {
    if (err instanceof InterpolationError) {
      let at = err.at;
      while (at.includes('.') && !merged.origins.has(at)) at = at.slice(0, at.lastIndexOf('.'));
      const origin = merged.origins.get(at);
      if (origin && 'file' in origin) throw new ConfigError(origin, err.message);
      throw new ConfigError(null, origin ? `${err.message} (from override ${origin.override})` : err.message);
    }
    throw err;
  }
  return {
    config: resolved,
    base: merged.base,
    beforeOverrides: options.overrides?.length ? beforeOverrides(merged.config) : null,
    origins: merged.origins,
    floatPaths: merged.floatPaths,
    files: merged.files,
  };
}

/**
 * The frozen config.yaml of a run: complete and plain (no defaults, no
 * interpolation), with experiment.name and experiment.output_dir set to the
 * run's folder, in YAML that yaml.safe_load reads back to exactly these values.
 */
export function freezeConfig(
  composed: ComposedConfig,
  run: { name: string; outputDir: string },
): { config: ConfigMap; text: string } {
  const config = structuredClone(composed.config);
  const experiment = isMap(config.experiment) ? config.experiment : (config.experiment = {});
  experiment.name = run.name;
  experiment.output_dir = run.outputDir;
  const text = emitYaml(config, { floatPaths: composed.floatPaths });
  return { config, text };
}
