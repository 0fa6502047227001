/**
 * How values are shown, as pure functions (tested without a DOM). One rule
 * everywhere: a metric that was NaN or ±Infinity in the file travels as null
 * and shows as "NaN"; a value that does not exist at all shows as "—".
 */
import { finalLossWord, NON_FINITE_TEXT } from '../shared/metrics-summary';
import type { ExperimentStatus, ExperimentSummary, JsonValue, MetricStats } from '../shared/model';

export const MISSING = '—';
export const NON_FINITE = 'NaN';

/** Four significant digits; integers as they are; very large or small in exponent form. */
export function formatMetric(v: number | null | undefined): string {
  if (v === undefined) return MISSING;
  if (v === null || !Number.isFinite(v)) return NON_FINITE;
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return Number(v.toPrecision(4)).toExponential();
  return String(Number(v.toPrecision(4)));
}

/** The final loss: "—" when the run logged no train/loss, NaN / +Inf / -Inf when it was not finite. */
export function formatFinalLoss(
  s: Pick<ExperimentSummary, 'total_steps' | 'final_loss' | 'final_loss_nonfinite'>,
): string {
  return finalLossWord(s) ?? formatMetric(s.final_loss);
}

/** A metric's last value: NaN / +Inf / -Inf when it was not finite, "—" when it has none. */
export function formatMetricLast(m: Pick<MetricStats, 'last' | 'lastNonFinite' | 'count'>): string {
  if (m.last !== null) return formatMetric(m.last);
  return m.lastNonFinite ? NON_FINITE_TEXT[m.lastNonFinite] : m.count > 0 ? NON_FINITE : MISSING;
}

/** "eval/loss 0.41 · eval/accuracy 0.73" */
export function formatFinalEval(evals: Record<string, number | null> | null): string {
  if (!evals) return MISSING;
  const parts = Object.entries(evals).map(([k, v]) => `${k} ${formatMetric(v)}`);
  return parts.length ? parts.join(' · ') : MISSING;
}

/** The status as the table shows it: inferred states end in "?". */
export function statusLabel(status: Pick<ExperimentStatus, 'state' | 'source'>): string {
  return status.source === 'inferred' ? `${status.state}?` : status.state;
}

/** The status reason, saying "inferred" once whether or not the host's sentence already does. */
export function statusReason(status: Pick<ExperimentStatus, 'source' | 'reason'>): string {
  if (status.source !== 'inferred' || /^inferred\b/i.test(status.reason)) return status.reason;
  return `inferred: ${status.reason}`;
}

/** "2024-01-01T12:34:56.789" → "2024-01-01 12:34" (the file's own clock; no time-zone guessing). */
export function formatTimestamp(iso: string | null | undefined): string {
  if (!iso) return MISSING;
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

export function shortHash(hash: string | null): string {
  return hash ? hash.slice(0, 7) : MISSING;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** GPU memory as nvidia-smi reports it (MiB), in the largest fitting unit; "—" when unknown. */
export function formatGpuMemory(mib: number | null | undefined): string {
  return mib === null || mib === undefined ? MISSING : formatBytes(mib * 1024 * 1024);
}

/** A percentage, whole: "87%"; "—" when unknown. */
export function formatPercent(p: number | null | undefined): string {
  return p === null || p === undefined ? MISSING : `${Math.round(p)}%`;
}

/** A metadata value on one line: strings as they are, everything else as JSON. */
export function formatJsonValue(v: JsonValue): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

export { problemText } from '../shared/problems';

/** A config value in a cell: numbers like metrics, strings as they are, the rest as JSON. */
export function formatConfigValue(v: JsonValue | undefined): string {
  if (v === undefined) return MISSING;
  if (v === null) return 'null';
  if (typeof v === 'number') return formatMetric(v);
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** A run's duration as shown: "~12m 03s", titled as such, when inferred from timestamps. */
export function formatRunDuration(d: { ms: number; inferred: boolean } | null): {
  text: string;
  title?: string;
} {
  if (d === null) return { text: MISSING };
  if (!d.inferred) return { text: formatDuration(d.ms) };
  return {
    text: `~${formatDuration(d.ms)}`,
    title: 'inferred from timestamps (metadata start, metrics records): Expdesk did not launch this run',
  };
}

/** "42s", "12m 03s", "3h 12m", "2d 4h": precise while short, coarse when long. */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
