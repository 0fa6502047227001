/**
 * Folding metrics.jsonl records into the seed's summary (tools/analyze_experiment.py):
 * total_steps is the step of the last train record, final_loss its train/loss,
 * final_eval the metrics of the last eval record, plus last / min / max / best of
 * every metric key. Pure and incremental: records appended later are folded into
 * the same state, and the state round-trips through JSON for the summary cache.
 */
import type { MetricStats, NonFinite } from './model';
import { getOwn, setOwn } from './own-keys';

/** Keys of a record that are not metrics. */
const RESERVED = new Set(['step', 'prefix', 'timestamp', 'rank']);

const MINIMIZE =
  /(loss|error|\berr\b|perplexity|ppl|\bkl\b|_kl|kl_|mse|mae|rmse|\bwer\b|\bcer\b|nll|regret)/i;
const MAXIMIZE =
  /(acc|reward|\bf1\b|bleu|rouge|score|win_?rate|\bauc\b|precision|recall|exact_match|pass@|margin|throughput)/i;

/** Directions by metric name: a listing asks for the same few names thousands of times. */
const directions = new Map<string, 'min' | 'max' | 'unknown'>();

export function metricDirection(key: string): 'min' | 'max' | 'unknown' {
  let d = directions.get(key);
  if (d === undefined) {
    d = MINIMIZE.test(key) ? 'min' : MAXIMIZE.test(key) ? 'max' : 'unknown';
    // Bounded: names come from files, and a hostile one could hold millions.
    if (directions.size < 10_000) directions.set(key, d);
  }
  return d;
}

interface StatState {
  last: number | null;
  lastStep: number | null;
  min: number | null;
  minStep: number | null;
  max: number | null;
  maxStep: number | null;
  count: number;
  nonFinite: number;
  /** Sum of the finite values (for means); absent in states cached before it was kept. */
  sum?: number;
  /** The last value's kind when it was not finite. */
  lastNonFinite?: NonFinite | null;
}

/** Where a series first turned non-finite (the run diverged). */
export interface FirstNonFinite {
  metric: string;
  step: number | null;
  value: NonFinite;
  line?: number;
}

export interface MetricsFoldState {
  records: number;
  lastTrainStep: number | null;
  lastTrainLoss: number | null;
  /** The kind of the last train/loss when it was NaN or ±Infinity (lastTrainLoss is then null). */
  lastTrainLossNonFinite?: NonFinite | null;
  /** The first NaN or ±Infinity of any series. */
  firstNonFinite?: FirstNonFinite | null;
  /** The eval/* (any non-reserved) keys of the last eval record. */
  lastEval: Record<string, number | null> | null;
  lastEvalStep: number | null;
  lastStep: number | null;
  lastTimestamp: string | null;
  /** The first record's timestamp (absent in states cached before it was kept). */
  firstTimestamp?: string | null;
  stats: Record<string, StatState>;
}

export function emptyFoldState(): MetricsFoldState {
  return {
    records: 0,
    lastTrainStep: null,
    lastTrainLoss: null,
    lastEval: null,
    lastEvalStep: null,
    lastStep: null,
    lastTimestamp: null,
    firstTimestamp: null,
    stats: {},
  };
}

/** NaN and ±Infinity travel as null in JSON; keep that explicit. */
function finiteOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Which non-finite value `v` is; null for a finite number or a non-number. */
export function nonFiniteKind(v: unknown): NonFinite | null {
  if (typeof v !== 'number' || Number.isFinite(v)) return null;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

export class MetricsFold {
  constructor(readonly state: MetricsFoldState = emptyFoldState()) {}

  /** Fold one parsed record. Anything that is not an object is ignored by the caller. */
  add(record: Record<string, unknown>, line?: number): void {
    const s = this.state;
    s.records++;
    // A multi-rank run whose records carry their rank: rank 0's drive the summary.
    if (typeof record.rank === 'number' && record.rank !== 0) return;
    const rawStep = record.step;
    const step = typeof rawStep === 'number' ? rawStep : null;
    const prefix = record.prefix;
    if (step !== null) s.lastStep = step;
    if (typeof record.timestamp === 'string') {
      s.lastTimestamp = record.timestamp;
      if (s.firstTimestamp === null) s.firstTimestamp = record.timestamp; // undefined: cached before it was kept
    }
    let evalValues: Record<string, number | null> | null = null;
    if (prefix === 'train') {
      s.lastTrainStep = step;
      s.lastTrainLoss = finiteOrNull(record['train/loss']);
      s.lastTrainLossNonFinite = nonFiniteKind(record['train/loss']);
    } else if (prefix === 'eval') {
      evalValues = {};
      s.lastEvalStep = step;
    }
    for (const key in record) {
      if (RESERVED.has(key)) continue;
      const v = record[key];
      if (typeof v !== 'number') continue;
      if (evalValues) setOwn(evalValues, key, Number.isFinite(v) ? v : null);
      // Names come from the file: "__proto__" or "constructor" is a metric, never Object's (own-keys.ts).
      let st = getOwn(s.stats, key);
      if (st === undefined) {
        st = {
          last: null,
          lastStep: null,
          min: null,
          minStep: null,
          max: null,
          maxStep: null,
          count: 0,
          nonFinite: 0,
          sum: 0,
          lastNonFinite: null,
        };
        setOwn(s.stats, key, st);
      }
      st.count++;
      st.lastStep = step;
      if (Number.isFinite(v)) {
        st.last = v;
        st.lastNonFinite = null;
        if (st.sum !== undefined) st.sum += v;
        if (st.min === null || v < st.min) {
          st.min = v;
          st.minStep = step;
        }
        if (st.max === null || v > st.max) {
          st.max = v;
          st.maxStep = step;
        }
      } else {
        st.last = null;
        st.nonFinite++;
        st.lastNonFinite = nonFiniteKind(v);
        s.firstNonFinite ??= { metric: key, step, value: st.lastNonFinite!, ...(line ? { line } : {}) };
      }
    }
    if (evalValues) s.lastEval = evalValues;
  }

  /** The mean of each key's finite values; null where there is none (or the state predates sums). */
  means(): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    for (const [key, st] of Object.entries(this.state.stats)) {
      const n = st.count - st.nonFinite;
      setOwn(out, key, st.sum !== undefined && n > 0 ? st.sum / n : null);
    }
    return out;
  }

  metricStats(): Record<string, MetricStats> {
    const out: Record<string, MetricStats> = {};
    for (const [key, st] of Object.entries(this.state.stats)) {
      const direction = metricDirection(key);
      const best = direction === 'min' ? st.min : direction === 'max' ? st.max : null;
      const bestStep = direction === 'min' ? st.minStep : direction === 'max' ? st.maxStep : null;
      setOwn(out, key, {
        last: st.last,
        lastStep: st.lastStep,
        min: st.min,
        max: st.max,
        best,
        bestStep,
        direction,
        count: st.count,
        nonFinite: st.nonFinite,
        lastNonFinite: st.lastNonFinite ?? null,
      });
    }
    return out;
  }
}

/** How a non-finite value is written in tables: NaN, +Inf, -Inf. */
export const NON_FINITE_TEXT: Record<NonFinite, string> = {
  NaN: 'NaN',
  Infinity: '+Inf',
  '-Infinity': '-Inf',
};

/**
 * The final loss as a word when it is not a number to format: "—" when the run
 * logged no train step or no train/loss at all, NaN / +Inf / -Inf when the
 * loss was not finite; null when `final_loss` is the number to show.
 */
export function finalLossWord(s: {
  total_steps: number | null;
  final_loss: number | null;
  final_loss_nonfinite?: NonFinite | null;
}): string | null {
  if (s.total_steps === null) return '—';
  if (s.final_loss !== null) return null;
  return s.final_loss_nonfinite ? NON_FINITE_TEXT[s.final_loss_nonfinite] : '—';
}
