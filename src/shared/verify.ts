/**
 * Comparing two runs' metrics step by step: did the reproduction give the
 * same numbers? Pure (no Node): the host, the CLI and the interface share it.
 *
 * Records are matched by (prefix, step, occurrence): the n-th record with a
 * given prefix and step in one file is compared with the n-th in the other,
 * so multi-rank files (every step written once per rank) and repeated steps
 * after a resume line up. `timestamp` is never compared (wall-clock time
 * always differs); every other key except `step` and `prefix` is a metric.
 *
 * Verdict: identical (every value equal; NaN equals NaN), within tolerance
 * (every number within atol + rtol * max(|a|, |b|), the largest difference
 * reported), or diverged (the first step and metric that differ — a record
 * or a metric present in one run only counts as a difference).
 */
import { z } from 'zod';

/** numpy.isclose's defaults: familiar to ML users, loose enough for float32 noise of summation order. */
export const DEFAULT_TOLERANCE = { rtol: 1e-5, atol: 1e-8 } as const;

/** Keys that describe a record rather than measure the run. */
export const DEFAULT_IGNORED_KEYS = ['timestamp'] as const;

/**
 * A metric value as it crosses the contract: JSON numbers stay numbers; NaN
 * and ±Infinity (which Python's json.dumps writes and JSON cannot carry)
 * become the strings "NaN", "Infinity", "-Infinity"; absent is null.
 */
const ShownValue = z.union([
  z.number(),
  z.string(),
  z.boolean(),
  z.null(),
  z.array(z.unknown()),
  z.record(z.string(), z.unknown()),
]);

export const DivergenceReason = z.enum([
  /** Both runs have the metric at this record, with values that differ beyond the tolerance. */
  'value',
  /** The record exists in both runs but the reproduced one lacks this metric. */
  'metric-missing-in-reproduced',
  'metric-missing-in-original',
  /** The original has this record (prefix, step, occurrence); the reproduced run does not. */
  'record-missing-in-reproduced',
  'record-missing-in-original',
]);
export type DivergenceReason = z.infer<typeof DivergenceReason>;

export const ValueDifference = z.object({
  prefix: z.string(),
  step: z.number().nullable(),
  /** 0 for the first record with this prefix and step, 1 for the second (another rank) … */
  occurrence: z.number(),
  /** The metric key; null when a whole record is missing. */
  metric: z.string().nullable(),
  original: ShownValue,
  reproduced: ShownValue,
  /** |original − reproduced| for two finite numbers, else null. */
  absDiff: z.number().nullable(),
  /** absDiff / max(|original|, |reproduced|), else null. */
  relDiff: z.number().nullable(),
  /** 1-based line numbers in each metrics.jsonl (null where the record is absent). */
  originalLine: z.number().nullable(),
  reproducedLine: z.number().nullable(),
});
export type ValueDifference = z.infer<typeof ValueDifference>;

export const VerifyResult = z.object({
  verdict: z.enum(['identical', 'within-tolerance', 'diverged']),
  original: z.string(),
  reproduced: z.string(),
  tolerance: z.object({ rtol: z.number(), atol: z.number() }),
  ignoredKeys: z.array(z.string()),
  records: z.object({ original: z.number(), reproduced: z.number(), matched: z.number() }),
  /** Metric values compared (in records present in both runs). */
  valuesCompared: z.number(),
  /** Values that differ at all (within the tolerance or not). */
  valuesDiffering: z.number(),
  /** Values (or records, or metrics) outside the tolerance or present in one run only. */
  divergences: z.number(),
  /** Set when diverged: the difference at the smallest step (then earliest line, then metric name). */
  firstDivergence: ValueDifference.extend({ reason: DivergenceReason }).nullable(),
  /** The largest absolute difference between two finite numbers, when any differ. */
  largestDifference: ValueDifference.nullable(),
  /** Lines that could not be read (malformed JSON), per run; they are skipped. */
  warnings: z.array(z.string()),
  /** One line for people: the verdict and its evidence. */
  message: z.string(),
});
export type VerifyResult = z.infer<typeof VerifyResult>;

export interface Tolerance {
  rtol: number;
  atol: number;
}

interface StoredRecord {
  prefix: string;
  step: number | null;
  occurrence: number;
  line: number;
  values: Map<string, unknown>;
}

/** A difference with its raw values (NaN stays NaN until it crosses the contract). */
type RawDifference = Omit<ValueDifference, 'original' | 'reproduced'> & {
  original: unknown;
  reproduced: unknown;
};
type Divergence = RawDifference & { reason: DivergenceReason };

/** For display and for the contract: JSON cannot carry NaN or ±Infinity. */
export function showValue(v: unknown): z.infer<typeof ShownValue> {
  if (v === undefined) return null;
  if (typeof v === 'number' && !Number.isFinite(v))
    return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  return v as z.infer<typeof ShownValue>;
}

/** A raw value as text, full precision (NaN as NaN, a string quoted). */
export function formatShown(v: unknown): string {
  if (v === undefined) return 'absent';
  if (typeof v === 'number')
    return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (typeof v === 'string') return JSON.stringify(v);
  return JSON.stringify(v);
}

/** Structural equality where NaN equals NaN (a diverged NaN must not look like a match, nor a shared NaN like a divergence). */
function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && sameValue(ra[k], rb[k]));
}

function stepOf(record: Record<string, unknown>): number | null {
  const s = record.step;
  return typeof s === 'number' && Number.isFinite(s) ? s : null;
}

function prefixOf(record: Record<string, unknown>): string {
  return typeof record.prefix === 'string' ? record.prefix : '';
}

/** Orders differences: smallest step first (records without a step last), then by line, then by metric. */
function earlier(a: Divergence, b: Divergence): boolean {
  const sa = a.step ?? Infinity;
  const sb = b.step ?? Infinity;
  if (sa !== sb) return sa < sb;
  const la = a.originalLine ?? a.reproducedLine ?? Infinity;
  const lb = b.originalLine ?? b.reproducedLine ?? Infinity;
  if (la !== lb) return la < lb;
  return (a.metric ?? '') < (b.metric ?? '');
}

/**
 * Feed every record of the original run, then every record of the
 * reproduced run, then call result(). Memory holds the original's records
 * only until their partner arrives.
 */
export class RunComparison {
  private readonly pending = new Map<string, StoredRecord>();
  private readonly occurrences = [new Map<string, number>(), new Map<string, number>()] as const;
  private readonly ignored: Set<string>;
  private originalCount = 0;
  private reproducedCount = 0;
  private matched = 0;
  private valuesCompared = 0;
  private valuesDiffering = 0;
  private divergences = 0;
  private first: Divergence | null = null;
  private largest: RawDifference | null = null;

  constructor(
    readonly tolerance: Tolerance = DEFAULT_TOLERANCE,
    ignoredKeys: readonly string[] = DEFAULT_IGNORED_KEYS,
  ) {
    this.ignored = new Set(['step', 'prefix', ...ignoredKeys]);
  }

  get ignoredKeys(): string[] {
    return [...this.ignored].filter((k) => k !== 'step' && k !== 'prefix');
  }

  private keyOf(
    side: 0 | 1,
    record: Record<string, unknown>,
  ): { key: string; prefix: string; step: number | null; occurrence: number } {
    const prefix = prefixOf(record);
    const step = stepOf(record);
    const base = `${prefix}\u0000${step === null ? 'null' : String(step)}`;
    const occurrence = this.occurrences[side].get(base) ?? 0;
    this.occurrences[side].set(base, occurrence + 1);
    return { key: `${base}\u0000${occurrence}`, prefix, step, occurrence };
  }

  private metricsOf(record: Record<string, unknown>): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const [k, v] of Object.entries(record)) if (!this.ignored.has(k)) out.set(k, v);
    return out;
  }

  addOriginal(record: Record<string, unknown>, line: number): void {
    this.originalCount++;
    const { key, prefix, step, occurrence } = this.keyOf(0, record);
    this.pending.set(key, { prefix, step, occurrence, line, values: this.metricsOf(record) });
  }

  addReproduced(record: Record<string, unknown>, line: number): void {
    this.reproducedCount++;
    const { key, prefix, step, occurrence } = this.keyOf(1, record);
    const values = this.metricsOf(record);
    const original = this.pending.get(key);
    if (!original) {
      this.diverge({
        prefix,
        step,
        occurrence,
        metric: null,
        original: undefined,
        reproduced: recordShown(values),
        absDiff: null,
        relDiff: null,
        originalLine: null,
        reproducedLine: line,
        reason: 'record-missing-in-original',
      });
      return;
    }
    this.pending.delete(key);
    this.matched++;
    const keys = [...new Set([...original.values.keys(), ...values.keys()])].sort();
    for (const metric of keys) {
      const base = { prefix, step, occurrence, metric, originalLine: original.line, reproducedLine: line };
      const inA = original.values.has(metric);
      const inB = values.has(metric);
      const a = original.values.get(metric);
      const b = values.get(metric);
      if (!inA || !inB) {
        this.diverge({
          ...base,
          original: a,
          reproduced: b,
          absDiff: null,
          relDiff: null,
          reason: inA ? 'metric-missing-in-reproduced' : 'metric-missing-in-original',
        });
        continue;
      }
      this.valuesCompared++;
      if (sameValue(a, b)) continue;
      this.valuesDiffering++;
      if (typeof a === 'number' && typeof b === 'number' && Number.isFinite(a) && Number.isFinite(b)) {
        const absDiff = Math.abs(a - b);
        const scale = Math.max(Math.abs(a), Math.abs(b));
        const diff: RawDifference = {
          ...base,
          original: a,
          reproduced: b,
          absDiff,
          relDiff: scale > 0 ? absDiff / scale : null,
        };
        if (!this.largest || absDiff > (this.largest.absDiff ?? 0)) this.largest = diff;
        if (absDiff <= this.tolerance.atol + this.tolerance.rtol * scale) continue;
        this.diverge({ ...diff, reason: 'value' });
      } else {
        this.diverge({ ...base, original: a, reproduced: b, absDiff: null, relDiff: null, reason: 'value' });
      }
    }
  }

  private diverge(d: Divergence): void {
    this.divergences++;
    if (!this.first || earlier(d, this.first)) this.first = d;
  }

  result(paths: { original: string; reproduced: string }, warnings: string[] = []): VerifyResult {
    // Original records never matched: the reproduced run lacks them.
    for (const rec of this.pending.values()) {
      this.diverge({
        prefix: rec.prefix,
        step: rec.step,
        occurrence: rec.occurrence,
        metric: null,
        original: recordShown(rec.values),
        reproduced: undefined,
        absDiff: null,
        relDiff: null,
        originalLine: rec.line,
        reproducedLine: null,
        reason: 'record-missing-in-reproduced',
      });
    }
    this.pending.clear();
    const verdict =
      this.divergences > 0 ? 'diverged' : this.valuesDiffering > 0 ? 'within-tolerance' : 'identical';
    const first = verdict === 'diverged' ? this.first : null;
    const summary: VerdictSummary = {
      verdict,
      tolerance: { ...this.tolerance },
      records: { original: this.originalCount, reproduced: this.reproducedCount, matched: this.matched },
      valuesCompared: this.valuesCompared,
      valuesDiffering: this.valuesDiffering,
      divergences: this.divergences,
      firstDivergence: first,
      largestDifference: this.largest,
    };
    return {
      ...summary,
      original: paths.original,
      reproduced: paths.reproduced,
      ignoredKeys: this.ignoredKeys,
      firstDivergence: first && { ...shown(first), reason: first.reason },
      largestDifference: this.largest && shown(this.largest),
      warnings,
      message: verdictMessage(summary),
    };
  }
}

function shown(d: RawDifference): ValueDifference {
  return {
    prefix: d.prefix,
    step: d.step,
    occurrence: d.occurrence,
    metric: d.metric,
    original: showValue(d.original),
    reproduced: showValue(d.reproduced),
    absDiff: d.absDiff,
    relDiff: d.relDiff,
    originalLine: d.originalLine,
    reproducedLine: d.reproducedLine,
  };
}

/** What the one-line verdict is made from (raw values: NaN is still NaN). */
export interface VerdictSummary {
  verdict: VerifyResult['verdict'];
  tolerance: Tolerance;
  records: VerifyResult['records'];
  valuesCompared: number;
  valuesDiffering: number;
  divergences: number;
  firstDivergence: Divergence | null;
  largestDifference: RawDifference | null;
}

function recordShown(values: Map<string, unknown>): Record<string, unknown> {
  return Object.fromEntries([...values].map(([k, v]) => [k, showValue(v)]));
}

function where(d: RawDifference): string {
  const step = d.step === null ? 'a record without a step' : `step ${d.step}`;
  const prefix = d.prefix
    ? ` (${d.prefix}${d.occurrence ? `, occurrence ${d.occurrence + 1}` : ''})`
    : d.occurrence
      ? ` (occurrence ${d.occurrence + 1})`
      : '';
  return `${step}${prefix}`;
}

function toleranceText(t: Tolerance): string {
  return `rtol ${t.rtol}, atol ${t.atol}`;
}

/** The one-line verdict printed by `expdesk verify` and shown by the interface. */
export function verdictMessage(r: VerdictSummary): string {
  const counts = `${r.records.matched} record(s), ${r.valuesCompared} value(s) compared`;
  if (r.verdict === 'identical') return `identical: ${counts}, every value equal`;
  const largest = r.largestDifference;
  if (r.verdict === 'within-tolerance') {
    const l = largest!;
    return (
      `within tolerance (${toleranceText(r.tolerance)}): ${counts}, ${r.valuesDiffering} differ; ` +
      `largest difference ${l.absDiff} in ${l.metric} at ${where(l)}: ` +
      `${formatShown(l.original)} (original) vs ${formatShown(l.reproduced)} (reproduced)`
    );
  }
  const f = r.firstDivergence!;
  const more = r.divergences > 1 ? ` (${r.divergences} difference(s) in all)` : '';
  switch (f.reason) {
    case 'record-missing-in-reproduced':
      return `diverged: first at ${where(f)}: the reproduced run has no such record (original line ${f.originalLine})${more}`;
    case 'record-missing-in-original':
      return `diverged: first at ${where(f)}: the original run has no such record (reproduced line ${f.reproducedLine})${more}`;
    case 'metric-missing-in-reproduced':
      return `diverged: first at ${where(f)}, ${f.metric}: missing from the reproduced run (original ${formatShown(f.original)})${more}`;
    case 'metric-missing-in-original':
      return `diverged: first at ${where(f)}, ${f.metric}: missing from the original run (reproduced ${formatShown(f.reproduced)})${more}`;
    default:
      return (
        `diverged: first at ${where(f)}, ${f.metric}: ${formatShown(f.original)} (original) vs ` +
        `${formatShown(f.reproduced)} (reproduced)${f.absDiff !== null ? `, difference ${f.absDiff}` : ''}` +
        ` beyond ${toleranceText(r.tolerance)}${more}`
      );
  }
}
