/**
 * Hyperparameters against a metric, as parallel coordinates drawn in SVG.
 * (plotly's parcoords compiles its WebGL shaders with `new Function`, which
 * the app's Content-Security-Policy refuses, and needs WebGL, which headless
 * nodes lack; lines of a few hundred runs are cheap as SVG.)
 */
import { useMemo, useRef, useState } from 'react';
import type { CompareResult } from '../../shared/contract';
import type { JsonValue } from '../../shared/model';
import { finalMetric } from '../lib/columns';
import { layoutParcoords, type ParAxis } from '../lib/parcoords';
import { formatMetric } from '../format';
import { SERIES_COLORS } from '../theme';
import { useElementWidth } from './MetricsTab';

const HEIGHT = 280;
const BOX = { top: 34, bottom: 26, left: 70, right: 70 };

/** A metric value's colour: low blue to high amber (direction-free; the axis says which is better). */
function ramp(t: number): string {
  const a = [37, 99, 235];
  const b = [230, 159, 0];
  const c = a.map((v, i) => Math.round(v + (b[i]! - v) * Math.max(0, Math.min(1, t))));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export function ParallelCoordinates({
  compare,
  metricKeys,
}: {
  compare: CompareResult;
  metricKeys: string[];
}): React.JSX.Element {
  const exps = compare.experiments;
  const [metric, setMetric] = useState(
    () => metricKeys.find((k) => k.startsWith('eval/')) ?? metricKeys[0] ?? '',
  );
  const [hover, setHover] = useState<number | null>(null);
  const ref = useRef<HTMLDivElement>(null);
  const width = Math.max(360, useElementWidth(ref));

  const axes: ParAxis[] = useMemo(() => {
    const out: ParAxis[] = compare.configDiff
      // Names and folders differ for every run and say nothing about the result.
      .filter((r) => !/^experiment\.(name|output_dir)$/.test(r.key))
      .map((r) => ({
        label: r.key,
        values: r.values.map((v, i): JsonValue | undefined => (r.present[i] ? v : undefined)),
      }));
    if (metric) out.push({ label: metric, values: exps.map((e) => finalMetric(e, metric) ?? undefined) });
    return out;
  }, [compare, exps, metric]);
  const layout = useMemo(() => layoutParcoords(axes, { width, height: HEIGHT, ...BOX }), [axes, width]);

  const metricValues = exps.map((e) => finalMetric(e, metric));
  const finite = metricValues.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const colorOf = (i: number): string => {
    if (exps.length <= SERIES_COLORS.length) return SERIES_COLORS[i]!;
    const v = metricValues[i];
    return typeof v === 'number' && Number.isFinite(v)
      ? ramp(hi === lo ? 0.5 : (v - lo) / (hi - lo))
      : 'var(--faint)';
  };

  return (
    <section className="card wide" data-testid="parcoords">
      <div className="card-head">
        <h3>Hyperparameters against a metric</h3>
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
      </div>
      <div ref={ref} className="parcoords-plot">
        {axes.length < 2 && <p className="muted small">No config key differs between these experiments.</p>}
        <svg
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
            return (
              <path
                key={exps[i]!.path}
                d={d}
                fill="none"
                stroke={colorOf(i)}
                strokeWidth={hover === i ? 3 : 1.6}
                strokeOpacity={hover === null || hover === i ? 0.9 : 0.15}
                onMouseEnter={() => setHover(i)}
                onMouseLeave={() => setHover(null)}
                data-testid="parcoords-line"
              >
                <title>{`${exps[i]!.name}\n${metric}: ${formatMetric(metricValues[i])}`}</title>
              </path>
            );
          })}
          {layout.axes.map((a) => (
            <g key={a.label} className="par-axis">
              <line x1={a.x} x2={a.x} y1={BOX.top} y2={HEIGHT - BOX.bottom} />
              <text x={a.x} y={BOX.top - 14} textAnchor="middle" className="par-label">
                {a.label.length > 22 ? `…${a.label.slice(-21)}` : a.label}
              </text>
              {a.ticks.map((t) => (
                <text key={`${t.text}${t.y}`} x={a.x + 6} y={t.y + 3} className="par-tick">
                  {t.text.length > 14 ? `${t.text.slice(0, 13)}…` : t.text}
                </text>
              ))}
            </g>
          ))}
        </svg>
      </div>
    </section>
  );
}
