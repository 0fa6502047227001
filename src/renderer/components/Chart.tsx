/**
 * One plotly chart. React owns the container; plotly owns what is inside it
 * (Plotly.react on new data, purge on unmount). Zoom is reported up and comes
 * back as `xRange`, so every chart of a view zooms together and the zoom
 * holds through live updates (uirevision keeps the user's y zoom too).
 * Charts off screen skip their redraws until they scroll into view.
 *
 * Telling the truth (issue 12): ±Inf and NaN are marked at the plot's edges
 * (lib/chart-traces.ts), a series with no finite value says so in words, a
 * constant series is drawn at its value and "ignore outliers" sets the y
 * range from percentiles (lib/chart-range.ts); a log y axis on request.
 */
import { useEffect, useRef, useState } from 'react';
import type { Data, Layout, PlotlyHTMLElement } from 'plotly.js';
import { yAxisRange } from '../lib/chart-range';
import { markTrace, nonFiniteWords, nonPositive, type ChartSeries } from '../lib/chart-traces';
import { loadPlotly, plotlyText } from '../lib/plotly';
import { cssVar, useColorScheme } from '../theme';

export type { ChartSeries } from '../lib/chart-traces';

/** step; wall time (a date axis); relative time in s; another metric's value. */
export type ChartXMode = 'step' | 'time' | 'relative' | 'metric';

export interface XRange {
  min: number;
  max: number;
}

export interface ChartProps {
  title: string;
  series: readonly ChartSeries[];
  xMode: ChartXMode;
  xRange: XRange | null;
  onZoom?(range: XRange | null): void;
  /** Stable across data updates: plotly keeps the user's zoom while it is unchanged. */
  revision: string;
  height?: number;
  note?: string;
  legend?: boolean;
  testId?: string;
  /** Traces drawn behind the series, as given (a group's band: lib/group-bands.ts). */
  extraTraces?: readonly Data[];
  /** The x axis' title (relative time, the metric drawn against). */
  xTitle?: string;
  /** A logarithmic y axis. */
  logY?: boolean;
  /** The y range from the series' 1st–99th percentiles: outliers are drawn clipped. */
  ignoreOutliers?: boolean;
}

function toMs(v: unknown, xMode: ChartXMode): number | null {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return null;
  if (xMode !== 'time') return Number(v);
  // Plotly's date strings are in the axis' own (UTC) clock, like the ms values we gave it.
  const t = Date.parse(`${v.replace(' ', 'T')}${/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? '' : 'Z'}`);
  return Number.isNaN(t) ? null : t;
}

export function Chart(props: ChartProps): React.JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const [visible, setVisible] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const scheme = useColorScheme();
  const latest = useRef(props);
  useEffect(() => {
    latest.current = props;
  });

  useEffect(() => {
    const el = ref.current;
    if (!el || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver((entries) => setVisible(entries.some((e) => e.isIntersecting)), {
      rootMargin: '200px',
    });
    io.observe(el);
    return () => io.disconnect();
  }, []);

  useEffect(() => {
    const el = ref.current;
    if (!el || !visible) return;
    let cancelled = false;
    const started = performance.now();
    void loadPlotly()
      .then(async (Plotly) => {
        if (cancelled) return;
        const fg = cssVar('--fg', '#222');
        const muted = cssVar('--muted', '#888');
        const grid = cssVar('--grid', '#e5e5e5');
        const lines: Data[] = props.series.map((s) => ({
          type: 'scatter',
          mode: 'lines',
          // Names come from folders: plain text, never plotly's HTML subset.
          name: plotlyText(s.name),
          x: s.x as number[],
          y: s.y as (number | null)[],
          line: { color: s.color, width: s.faint ? 1 : 1.6 },
          opacity: s.faint ? 0.28 : 1,
          hoverinfo: s.faint ? 'skip' : 'x+y+name',
          showlegend: s.showInLegend ?? false,
          connectgaps: false,
        }));
        const marks = props.series.map(markTrace).filter((t): t is Data => t !== null);
        const data: Data[] = [...(props.extraTraces ?? []), ...lines, ...marks];
        const logY = props.logY ?? false;
        const yRange = yAxisRange(props.series, { log: logY, ignoreOutliers: props.ignoreOutliers ?? false });
        const layout: Partial<Layout> = {
          height: props.height ?? 210,
          margin: { l: 52, r: 10, t: 8, b: 30 },
          paper_bgcolor: 'rgba(0,0,0,0)',
          plot_bgcolor: 'rgba(0,0,0,0)',
          font: { family: cssVar('--font', 'sans-serif'), size: 10, color: muted },
          hovermode: 'x',
          // namelength -1: plotly's own cut (15 characters) could split an escaped name's &lt; entity.
          hoverlabel: { namelength: -1, font: { family: cssVar('--mono', 'monospace'), size: 11 } },
          showlegend: props.legend ?? false,
          legend: { orientation: 'h', y: -0.22, font: { color: fg, size: 10 } },
          uirevision: props.revision,
          xaxis: {
            type: props.xMode === 'time' ? 'date' : 'linear',
            ...(props.xTitle ? { title: { text: plotlyText(props.xTitle), standoff: 4 } } : {}),
            gridcolor: grid,
            zeroline: false,
            linecolor: grid,
            ...(props.xRange
              ? { range: [props.xRange.min, props.xRange.max], autorange: false }
              : { autorange: true }),
          },
          yaxis: {
            type: logY ? 'log' : 'linear',
            gridcolor: grid,
            zeroline: false,
            linecolor: grid,
            exponentformat: 'e',
            automargin: true,
            ...(yRange ? { range: yRange, autorange: false } : { autorange: true }),
          },
          // The edges, for the marks of ±Inf and NaN: 0 is the bottom of the plot, 1 its top.
          yaxis2: { overlaying: 'y', range: [0, 1], fixedrange: true, visible: false },
        };
        const gd = (await Plotly.react(el, data, layout, {
          displaylogo: false,
          responsive: true,
          modeBarButtonsToRemove: ['select2d', 'lasso2d', 'autoScale2d'],
        })) as PlotlyHTMLElement & { _expdeskBound?: boolean };
        if (cancelled) return;
        setError(null);
        el.dataset.plotted = String(props.series.reduce((n, s) => n + s.x.length, 0));
        el.dataset.plotMs = String(Math.round(performance.now() - started));
        window.dispatchEvent(new CustomEvent('expdesk:plotted', { detail: { title: props.title } }));
        if (!gd._expdeskBound) {
          gd._expdeskBound = true;
          gd.on('plotly_relayout', (ev) => {
            const e = ev as Record<string, unknown>;
            const p = latest.current;
            if (e['xaxis.autorange']) p.onZoom?.(null);
            else if (e['xaxis.range[0]'] !== undefined && e['xaxis.range[1]'] !== undefined) {
              const min = toMs(e['xaxis.range[0]'], p.xMode);
              const max = toMs(e['xaxis.range[1]'], p.xMode);
              if (min !== null && max !== null) p.onZoom?.({ min, max });
            }
          });
        }
      })
      .catch((err: unknown) => {
        if (!cancelled) setError(err instanceof Error ? err.message : String(err));
      });
    return () => {
      cancelled = true;
    };
  }, [
    visible,
    props.series,
    props.extraTraces,
    props.xMode,
    props.xRange,
    props.revision,
    props.height,
    props.legend,
    props.title,
    props.xTitle,
    props.logY,
    props.ignoreOutliers,
    scheme,
  ]);

  useEffect(() => {
    const el = ref.current;
    return () => {
      if (el) void loadPlotly().then((Plotly) => Plotly.purge(el));
    };
  }, []);

  const words = nonFiniteWords(props.series);
  const hidden = props.logY ? nonPositive(props.series) : 0;
  const note = [
    props.note,
    words && !words.all ? words.text : undefined,
    hidden ? `${hidden.toLocaleString()} values ≤ 0 not on the log axis` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <figure className="chart" data-testid={props.testId ?? 'chart'} data-title={props.title}>
      <figcaption>
        <span className="chart-title mono ellipsis" title={props.title}>
          {props.title}
        </span>
        {note && (
          <span className="chart-note" title={note}>
            {note}
          </span>
        )}
      </figcaption>
      {error && <div className="banner banner-error small">Chart failed: {error}</div>}
      {words?.all && (
        <div className="chart-nonfinite banner small" role="status" data-testid="chart-nonfinite">
          {words.text}
        </div>
      )}
      <div className="chart-plot" ref={ref} style={{ minHeight: props.height ?? 210 }} />
    </figure>
  );
}
