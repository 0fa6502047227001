/**
 * Hyperparameters against a metric, as parallel coordinates drawn in SVG,
 * over every run the table's query keeps (not only the checked ones).
 * Dragging along an axis brushes a range (numbers) or categories (text);
 * the table then shows only the runs inside every brush, and a click on the
 * axis clears its brush. (plotly's parcoords compiles its WebGL shaders
 * with `new Function`, which the app's Content-Security-Policy refuses, and
 * needs WebGL, which headless nodes lack; a few thousand SVG lines are fine.)
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { ExperimentSummary } from '../../shared/model';
import { isAlwaysDifferKey } from '../../shared/identity-keys';
import {
  brushFromPixels,
  brushPixels,
  inBrush,
  layoutParcoords,
  type Brush,
  type ParAxis,
} from '../lib/parcoords';
import { formatMetric } from '../format';
import { axisValue } from '../state/table';
import { selectQueryExperiments } from '../store';
import { useExpdesk, useExpdeskPick } from '../store-context';
import { CheckLabel } from './CheckLabel';
import { useElementWidth } from './MetricsTab';

const HEIGHT = 280;
const BOX = { top: 34, bottom: 26, left: 70, right: 70 };
/** More differing keys than this make unreadable axes: the first ones are drawn, the rest named. */
const MAX_CONFIG_AXES = 12;

/** A metric value's colour: low blue to high amber (direction-free; the axis says which is better). */
function ramp(t: number): string {
  const a = [37, 99, 235];
  const b = [230, 159, 0];
  const c = a.map((v, i) => Math.round(v + (b[i]! - v) * Math.max(0, Math.min(1, t))));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function unionMetrics(rows: readonly ExperimentSummary[]): string[] {
  const keys = new Set<string>();
  for (const e of rows) for (const k of Object.keys(e.metrics)) keys.add(k);
  return [...keys].sort();
}

/**
 * `highlight`: runs drawn in their own colour (a comparison's runs); the
 * others are coloured by the metric, or faint when some runs are highlighted.
 */
export function ParallelCoordinates({
  highlight,
}: {
  highlight?: { paths: readonly string[]; colorOf: (i: number) => string };
}): React.JSX.Element {
  const s = useExpdeskPick('listing', 'query', 'sort', 'configIndex', 'varyingConfigKeys', 'brush');
  const loading = useExpdesk((st) => st.configIndexLoading);
  const loadConfigValues = useExpdesk((st) => st.loadConfigValues);
  const setBrush = useExpdesk((st) => st.setBrush);
  const clearBrush = useExpdesk((st) => st.clearBrush);
  const rows = selectQueryExperiments(s);
  const metricKeys = useMemo(() => unionMetrics(rows), [rows]);
  const [picked, setMetric] = useState<string | null>(null);
  const metric = picked ?? metricKeys.find((k) => k.startsWith('eval/')) ?? metricKeys[0] ?? '';
  const [showAll, setShowAll] = useState(false);
  const [hover, setHover] = useState<number | null>(null);
  const [drag, setDrag] = useState<{ axis: number; ya: number; yb: number } | null>(null);
  const ref = useRef<HTMLDivElement>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const width = Math.max(360, useElementWidth(ref));

  useEffect(() => void loadConfigValues(), [loadConfigValues, s.listing]);

  const configKeys = s.varyingConfigKeys.filter((k) => showAll || !isAlwaysDifferKey(k));
  const axes: ParAxis[] = useMemo(() => {
    const keys = configKeys.slice(0, MAX_CONFIG_AXES);
    if (metric) keys.push(metric);
    return keys.map((label) => ({
      label,
      values: rows.map((e) => axisValue(e, label, s.configIndex[e.path])),
    }));
    // configKeys is derived from varyingConfigKeys and showAll.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rows, s.varyingConfigKeys, showAll, metric, s.configIndex]);
  const layout = useMemo(() => layoutParcoords(axes, { width, height: HEIGHT, ...BOX }), [axes, width]);
  const y0 = BOX.top;
  const y1 = HEIGHT - BOX.bottom;

  const metricAxis = axes[axes.length - 1];
  const metricValues = metricAxis?.values ?? [];
  const finite = metricValues.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const brushKeys = Object.keys(s.brush);
  const brushed = (i: number): boolean =>
    brushKeys.every((k) => inBrush(axisValue(rows[i]!, k, s.configIndex[rows[i]!.path]), s.brush[k]!));
  const colorOf = (i: number): string => {
    const h = highlight ? highlight.paths.indexOf(rows[i]!.path) : -1;
    if (h >= 0) return highlight!.colorOf(h);
    const v = metricValues[i];
    if (highlight?.paths.length || typeof v !== 'number' || !Number.isFinite(v)) return 'var(--faint)';
    return ramp(hi === lo ? 0.5 : (v - lo) / (hi - lo));
  };

  const yOf = (e: React.PointerEvent): number =>
    e.clientY - (svgRef.current?.getBoundingClientRect().top ?? 0);
  const endDrag = (): void => {
    if (!drag) return;
    const axis = layout.axes[drag.axis]!;
    const b: Brush | null =
      Math.abs(drag.yb - drag.ya) < 3 ? null : brushFromPixels(axis, y0, y1, drag.ya, drag.yb);
    setBrush(axis.label, b);
    setDrag(null);
  };

  return (
    <section className="card wide" data-testid="parcoords">
      <div className="card-head">
        <h3>
          Hyperparameters against a metric <span className="muted">{rows.length} runs</span>
        </h3>
        <label className="small">
          <span className="muted">metric </span>
          <select
            value={metric}
            onChange={(e) => setMetric(e.target.value)}
            aria-label="Metric for parallel coordinates"
          >
            {metricKeys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <CheckLabel checked={showAll} onChange={setShowAll} testId="parcoords-all-keys">
          Show all keys
        </CheckLabel>
        {brushKeys.length > 0 && (
          <button type="button" className="btn" onClick={clearBrush} data-testid="parcoords-clear">
            Clear brush ({brushKeys.length})
          </button>
        )}
      </div>
      <div ref={ref} className="parcoords-plot">
        {axes.length < 2 && (
          <p className="muted small">
            {loading ? 'Reading the configs…' : 'No config key differs between these runs.'}
          </p>
        )}
        {configKeys.length > MAX_CONFIG_AXES && (
          <p className="muted small">
            {configKeys.length - MAX_CONFIG_AXES} more differing keys not drawn:{' '}
            {configKeys.slice(MAX_CONFIG_AXES).join(', ')}
          </p>
        )}
        <svg
          ref={svgRef}
          width={width}
          height={HEIGHT}
          role="img"
          aria-label="Parallel coordinates"
          data-testid="parcoords-svg"
        >
          {layout.lines.map((pts, i) => {
            const d = pts
              .map((p, j) =>
                p.y === null
                  ? ''
                  : `${j === 0 || pts[j - 1]!.y === null ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`,
              )
              .join('');
            const inside = brushed(i);
            return (
              <path
                key={rows[i]!.path}
                d={d}
                fill="none"
                stroke={inside ? colorOf(i) : 'var(--faint)'}
                strokeWidth={hover === i ? 3 : 1.6}
                strokeOpacity={!inside ? 0.25 : hover === null || hover === i ? 0.9 : 0.15}
                onMouseEnter={() => setHover(i)}
                onMouseLeave={() => setHover(null)}
                data-testid="parcoords-line"
                data-brushed={inside}
              >
                <title>{`${rows[i]!.name}\n${metric}: ${formatMetric(metricValues[i] as number | null | undefined)}`}</title>
              </path>
            );
          })}
          {layout.axes.map((a, i) => {
            const b = s.brush[a.label];
            const span =
              drag?.axis === i
                ? [Math.min(drag.ya, drag.yb), Math.max(drag.ya, drag.yb)]
                : b && brushPixels(a, b, y0, y1);
            return (
              <g key={a.label} className="par-axis">
                <line x1={a.x} x2={a.x} y1={y0} y2={y1} />
                <text x={a.x} y={y0 - 14} textAnchor="middle" className="par-label">
                  {a.label.length > 22 ? `…${a.label.slice(-21)}` : a.label}
                </text>
                {a.ticks.map((t) => (
                  <text key={`${t.text}${t.y}`} x={a.x + 6} y={t.y + 3} className="par-tick">
                    {t.text.length > 14 ? `${t.text.slice(0, 13)}…` : t.text}
                  </text>
                ))}
                {span && (
                  <rect
                    className="par-brush"
                    x={a.x - 7}
                    width={14}
                    y={span[0]}
                    height={Math.max(2, span[1]! - span[0]!)}
                  />
                )}
                <rect
                  className="par-brush-area"
                  x={a.x - 12}
                  width={24}
                  y={y0 - 4}
                  height={y1 - y0 + 8}
                  data-testid="parcoords-brush-area"
                  data-axis={a.label}
                  onPointerDown={(e) => {
                    (e.target as Element).setPointerCapture?.(e.pointerId);
                    const y = yOf(e);
                    setDrag({ axis: i, ya: y, yb: y });
                  }}
                  onPointerMove={(e) => drag && setDrag({ ...drag, yb: yOf(e) })}
                  onPointerUp={endDrag}
                >
                  <title>{`Drag to filter the table by ${a.label}; click to clear`}</title>
                </rect>
              </g>
            );
          })}
        </svg>
      </div>
    </section>
  );
}
