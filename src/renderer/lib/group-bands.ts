/**
 * Plotly traces of groups of runs (issue 12): each group's band (mean ±
 * std, or min–max, from `metrics.groupSeries`) as one filled polygon drawn
 * behind the lines, and its mean as an ordinary chart series. Pure: the
 * compare view hands the bands to Chart as extra traces (Chart draws them
 * first, so the lines stay on top).
 */
import type { Data } from 'plotly.js';
import type { BandKind, GroupKeySeries } from '../../shared/group-series';
import type { ChartSeries } from '../components/Chart';
import { plotlyText } from './plotly';

export interface ChartGroup {
  label: string;
  color: string;
  paths: string[];
}

/** The band as one closed polygon: the lower edge forward, the upper edge back; gaps (no member) left out. */
export function bandPolygon(s: GroupKeySeries): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  const add = (xs: readonly number[], ys: readonly (number | null)[], i: number): void => {
    const v = ys[i];
    if (v === null || v === undefined) return;
    x.push(xs[i]!);
    y.push(v);
  };
  for (let i = 0; i < s.lower.x.length; i++) add(s.lower.x, s.lower.y, i);
  for (let i = s.upper.x.length - 1; i >= 0; i--) add(s.upper.x, s.upper.y, i);
  return { x, y };
}

export const BAND_LABEL: Record<BandKind, string> = { std: '±std', minmax: 'min–max' };

/** One metric's chart parts for the groups (curves in the groups' order; undefined: the group lacks the metric). */
export function groupChartParts(
  groups: readonly ChartGroup[],
  curves: readonly (GroupKeySeries | undefined)[],
  band: BandKind,
): { series: ChartSeries[]; bands: Data[]; note: string | undefined } {
  const series: ChartSeries[] = [];
  const bands: Data[] = [];
  let interpolated = false;
  groups.forEach((g, i) => {
    const c = curves[i];
    if (!c) return;
    interpolated ||= c.interpolated;
    const poly = bandPolygon(c);
    bands.push({
      type: 'scatter',
      mode: 'lines',
      name: plotlyText(`${g.label} ${BAND_LABEL[band]}`),
      x: poly.x,
      y: poly.y,
      fill: 'toself',
      fillcolor: g.color,
      opacity: 0.2,
      line: { width: 0, color: g.color },
      hoverinfo: 'skip',
      showlegend: false,
    });
    // One step only (an eval at the end): a line would not show; a dot with the band as its error bar does.
    const only = c.mean.x.length === 1 ? c.mean.y[0] : null;
    if (only !== null && only !== undefined)
      bands.push({
        type: 'scatter',
        mode: 'markers',
        name: plotlyText(`${g.label} mean`),
        x: [c.mean.x[0]!],
        y: [only],
        marker: { color: g.color, size: 7 },
        error_y: {
          type: 'data',
          symmetric: false,
          array: [(c.upper.y[0] ?? only) - only],
          arrayminus: [only - (c.lower.y[0] ?? only)],
          color: g.color,
        },
        showlegend: false,
      });
    const name = `${g.label} (mean of ${c.members})`;
    // Smoothed by the host on every aligned step before downsampling; the raw mean stays faint behind it.
    if (c.smoothed) {
      series.push({
        name: `${name} (raw)`,
        x: c.mean.x,
        y: c.mean.y,
        color: g.color,
        faint: true,
        showInLegend: false,
      });
      series.push({ name, x: c.smoothed.x, y: c.smoothed.y, color: g.color });
    } else series.push({ name, x: c.mean.x, y: c.mean.y, color: g.color });
  });
  return { series, bands, note: interpolated ? 'steps differ: interpolated' : undefined };
}
