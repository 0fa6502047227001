/**
 * What a chart draws for a metric series beyond its line (issue 12): the
 * smoothed curve the host computed on the full series with the raw one faint
 * behind it, marks for non-finite points (+Inf at the top edge, −Inf at the
 * bottom, NaN as a cross at the bottom, each with its name as hover text —
 * a line can only leave a gap for them), and the words for a series that
 * has no finite value at all.
 */
import type { Data } from 'plotly.js';
import type { MetricsSeriesResult } from '../../shared/contract';
import type { NonFiniteKind } from '../../shared/series-marks';
import { plotlyText } from './plotly';

type MetricSeries = MetricsSeriesResult['series'][string];

export interface ChartSeries {
  name: string;
  x: readonly number[];
  y: readonly (number | null)[];
  color: string;
  /** Drawn thin and faint (the raw curve behind a smoothed one). */
  faint?: boolean;
  showInLegend?: boolean;
  /** Non-finite points of the series, marked at the plot's edges. */
  marks?: { x: readonly number[]; kind: readonly NonFiniteKind[] };
  /** Counts of the series' points and of its non-finite ones (the "all non-finite" words). */
  counts?: { points: number; nan: number; posInf: number; negInf: number };
  /** The 1st–99th percentile of its finite values ("ignore outliers"). */
  robust?: { lo: number; hi: number } | null;
}

/** The label of a smoothing for legends, e.g. "EMA 0.60" or "mean of 20". */
export type SmoothingLabel = string | null;

/**
 * A metric series as chart series: the raw line (faint when a smoothed one
 * is drawn over it) carrying the marks and counts, then the smoothed line.
 */
export function traceSeries(
  name: string,
  color: string,
  s: MetricSeries,
  smoothing: SmoothingLabel,
  legend = false,
): ChartSeries[] {
  const smoothed = smoothing !== null && s.smoothed ? s.smoothed : null;
  const nf = s.nonFinite;
  const raw: ChartSeries = {
    name: smoothed ? `${name} (raw)` : name,
    x: s.x,
    y: s.y,
    color,
    faint: smoothed !== null,
    showInLegend: legend && !smoothed,
    marks: nf ? { x: nf.x, kind: nf.kind } : undefined,
    counts: { points: s.points, nan: nf?.nan ?? 0, posInf: nf?.posInf ?? 0, negInf: nf?.negInf ?? 0 },
    robust: s.robust,
  };
  if (!smoothed) return [raw];
  return [raw, { name, x: smoothed.x, y: smoothed.y, color, showInLegend: legend, robust: s.robust }];
}

const MARK: Record<NonFiniteKind, { text: string; symbol: string; edge: number }> = {
  '+inf': { text: '+Inf', symbol: 'triangle-up', edge: 1 },
  '-inf': { text: '-Inf', symbol: 'triangle-down', edge: 0 },
  nan: { text: 'NaN', symbol: 'x-thin-open', edge: 0 },
};

/** The marks of a series as one plotly trace on the edge axis (y2: 0 bottom, 1 top), or null. */
export function markTrace(s: ChartSeries): Data | null {
  const m = s.marks;
  if (!m || m.x.length === 0) return null;
  return {
    type: 'scatter',
    mode: 'markers',
    name: plotlyText(s.name),
    x: m.x as number[],
    y: m.kind.map((k) => MARK[k].edge),
    yaxis: 'y2',
    text: m.kind.map((k) => MARK[k].text),
    marker: {
      color: s.color,
      size: 8,
      symbol: m.kind.map((k) => MARK[k].symbol),
      line: { color: s.color, width: 1.5 },
    },
    cliponaxis: false,
    showlegend: false,
    hovertemplate: '%{text} at %{x}<extra>%{fullData.name}</extra>',
  };
}

function countsText(c: NonNullable<ChartSeries['counts']>): string {
  const parts: string[] = [];
  if (c.nan) parts.push(`${c.nan.toLocaleString()} NaN`);
  if (c.posInf) parts.push(`${c.posInf.toLocaleString()} +Inf`);
  if (c.negInf) parts.push(`${c.negInf.toLocaleString()} -Inf`);
  return parts.join(', ');
}

/**
 * Words about the non-finite values of a chart's series: `all` when no
 * series has a finite value (the plot alone would be blank), else a note
 * of how many there are; null when every value is finite.
 */
export function nonFiniteWords(series: readonly ChartSeries[]): { all: boolean; text: string } | null {
  const counted = series.filter((s) => s.counts && s.counts.points > 0);
  const withNonFinite = counted.filter((s) => s.counts!.nan + s.counts!.posInf + s.counts!.negInf > 0);
  if (withNonFinite.length === 0) return null;
  const isAll = (s: ChartSeries): boolean => {
    const c = s.counts!;
    return c.nan + c.posInf + c.negInf === c.points;
  };
  if (counted.every(isAll)) {
    const only = counted.length === 1 ? counted[0]! : null;
    return {
      all: true,
      text: only
        ? `No finite value: all ${only.counts!.points.toLocaleString()} values are non-finite (${countsText(only.counts!)}).`
        : `No finite value in any of the ${counted.length} series: every value is NaN or ±Inf.`,
    };
  }
  const total = { points: 0, nan: 0, posInf: 0, negInf: 0 };
  for (const s of withNonFinite) {
    total.nan += s.counts!.nan;
    total.posInf += s.counts!.posInf;
    total.negInf += s.counts!.negInf;
  }
  const allOf = withNonFinite.filter(isAll).map((s) => s.name);
  return {
    all: false,
    text: countsText(total) + (allOf.length ? `; no finite value in ${allOf.join(', ')}` : ''),
  };
}

/** Values a log axis cannot draw (≤ 0) among the drawn points. */
export function nonPositive(series: readonly ChartSeries[]): number {
  let n = 0;
  for (const s of series) for (const v of s.y) if (v !== null && v <= 0) n++;
  return n;
}
