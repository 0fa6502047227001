/**
 * The experiment table's filter language, as pure functions. One text box
 * takes everything a researcher types without reaching for the mouse:
 *
 *   dpo 7b                 every word must appear in name, folder, algorithm or model
 *   dpo.beta=0.1           a config value (numbers compare as numbers: 0.1 = 1e-1)
 *   training.lr<1e-4       also != > < >= <=, on config values and on metrics (last value)
 *   eval/loss<0.5          a metric's last value
 *   status:failed          a status (also is:running); several statuses are OR-ed
 *   "two words"            a quoted phrase
 *   tag:baseline           a tag (expdesk_notes.json); several tags must all be there
 *   starred                starred runs only
 *   archived               archived runs are shown (hidden unless the filter says so)
 */
import { LISTED_CONFIG_KEYS } from '../../shared/listed-config';
import type { ExperimentState, ExperimentSummary, JsonValue } from '../../shared/model';

export type Op = '=' | '!=' | '>' | '<' | '>=' | '<=';

export interface Condition {
  key: string;
  op: Op;
  value: string;
}

export interface ParsedQuery {
  /** Lower-cased words and phrases that must all match. */
  words: string[];
  conditions: Condition[];
  statuses: ExperimentState[];
  /** tag:NAME — every one must be on the run. */
  tags: string[];
  starred: boolean;
  /** The word `archived`: archived runs are shown (and only they); otherwise they are hidden. */
  archived: boolean;
}

const STATES: readonly ExperimentState[] = ['running', 'completed', 'failed', 'stopped', 'unknown'];

/** Split on spaces, keeping "quoted phrases" together. */
function tokens(input: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(input))) out.push(m[1] ?? m[2]!);
  return out;
}

const CONDITION = /^([A-Za-z_][\w./-]*?)(!=|>=|<=|=|>|<)(.*)$/;

export function parseQuery(input: string): ParsedQuery {
  const q: ParsedQuery = {
    words: [],
    conditions: [],
    statuses: [],
    tags: [],
    starred: false,
    archived: false,
  };
  for (const t of tokens(input)) {
    const tag = /^tag:(\S+)$/i.exec(t);
    if (tag) {
      q.tags.push(tag[1]!);
      continue;
    }
    if (/^(?:is:)?starred$/i.test(t)) {
      q.starred = true;
      continue;
    }
    if (/^(?:is:)?archived$/i.test(t)) {
      q.archived = true;
      continue;
    }
    const status = /^(?:status|is):(\w+)$/i.exec(t);
    if (status) {
      const s = status[1]!.toLowerCase() as ExperimentState;
      if (STATES.includes(s)) q.statuses.push(s);
      continue;
    }
    const c = CONDITION.exec(t);
    if (c && c[3] !== undefined && c[3] !== '') {
      q.conditions.push({ key: c[1]!, op: c[2] as Op, value: c[3] });
      continue;
    }
    q.words.push(t.toLowerCase());
  }
  return q;
}

/** Whether the query needs config values (so the table loads them). */
export function needsConfig(q: ParsedQuery): boolean {
  return q.conditions.length > 0;
}

/** Flat config of one experiment (dotted keys), or undefined while not loaded. */
export type FlatConfig = Record<string, JsonValue>;

const LISTED = new Set(LISTED_CONFIG_KEYS);
const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Whether the listing itself answers config key `key` for `e` (its key hyperparameters), with no config loaded. */
export function listedConfigKnown(e: ExperimentSummary, key: string): boolean {
  return e.params !== undefined && LISTED.has(key);
}

/**
 * One config value of an experiment: from its loaded flat config, else from
 * the key hyperparameters its summary carries; undefined when the config has
 * no such key or it is not known yet (see listedConfigKnown).
 */
export function configValue(
  e: ExperimentSummary,
  key: string,
  config: FlatConfig | undefined,
): JsonValue | undefined {
  if (config) return hasOwn(config, key) ? config[key] : undefined;
  if (e.params && LISTED.has(key) && hasOwn(e.params, key)) return e.params[key];
  return undefined;
}

/**
 * Whether showing, sorting or filtering by these config keys needs the
 * experiments' configs loaded: a key beyond the listed ones, or a summary
 * without them (an older host's).
 */
export function needsConfigLoad(experiments: readonly ExperimentSummary[], keys: readonly string[]): boolean {
  if (keys.length === 0) return false;
  if (keys.some((k) => !LISTED.has(k))) return true;
  return experiments.some((e) => e.params === undefined);
}

function asNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '' && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v.trim()))
    return Number(v);
  return null;
}

function compare(actual: JsonValue | undefined, op: Op, expected: string): boolean {
  if (actual === undefined) return op === '!=';
  const a = asNumber(actual);
  const e = asNumber(expected);
  if (a !== null && e !== null) {
    switch (op) {
      case '=':
        return a === e;
      case '!=':
        return a !== e;
      case '>':
        return a > e;
      case '<':
        return a < e;
      case '>=':
        return a >= e;
      case '<=':
        return a <= e;
    }
  }
  const text = (typeof actual === 'string' ? actual : JSON.stringify(actual)).toLowerCase();
  const want = expected.toLowerCase();
  if (op === '=') return text === want;
  if (op === '!=') return text !== want;
  // Ordering of non-numbers: plain string order, so dates and versions still sort sensibly.
  if (op === '>') return text > want;
  if (op === '<') return text < want;
  if (op === '>=') return text >= want;
  return text <= want;
}

/** The value a condition's key names: a summary field, a metric's last value, or a config value. */
export function lookup(
  e: ExperimentSummary,
  key: string,
  config: FlatConfig | undefined,
): JsonValue | undefined {
  switch (key) {
    case 'name':
      return e.name;
    case 'algorithm':
      return e.algorithm;
    case 'model':
      return e.model;
    case 'steps':
      return e.total_steps;
    case 'git':
      return e.gitHash;
  }
  const m = e.metrics[key];
  if (m) return m.last;
  return configValue(e, key, config);
}

export function matches(e: ExperimentSummary, q: ParsedQuery, config: FlatConfig | undefined): boolean {
  const notes = e.annotations;
  // Archived runs are hidden by default; the word `archived` shows them (and only them).
  if ((notes?.archived ?? false) !== q.archived) return false;
  if (q.starred && !notes?.starred) return false;
  for (const t of q.tags) if (!notes?.tags.includes(t)) return false;
  if (q.statuses.length && !q.statuses.includes(e.status.state)) return false;
  if (q.words.length) {
    const hay = `${e.name}\n${e.folder}\n${e.algorithm ?? ''}\n${e.model ?? ''}`.toLowerCase();
    for (const w of q.words) if (!hay.includes(w)) return false;
  }
  for (const c of q.conditions) if (!compare(lookup(e, c.key, config), c.op, c.value)) return false;
  return true;
}
