/**
 * The Metrics tab's charts, for runs that log thousands of metrics (issue 16:
 * 5,000 froze the page at 2.9 GB). Two layers keep the page light:
 *
 * - rows of the grid are virtualized (@tanstack/react-virtual, as the
 *   experiment table): only the rows near the scroll position exist in the
 *   DOM, each group a header row and rows of as many charts as fit across;
 * - among those, one IntersectionObserver tells which chart slots are on
 *   screen: only they are drawn with plotly, and only their series are asked
 *   for (MetricsTab).
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useMemo, useRef, useState } from 'react';
import type { MetricsSeriesResult } from '../../shared/contract';
import { traceSeries } from '../lib/chart-traces';
import { SERIES_COLORS } from '../theme';
import { Chart, type ChartSeries, type ChartXMode, type XRange } from './Chart';
import { observeRect } from './ExperimentTable';

type Series = MetricsSeriesResult['series'][string];

/** A chart's slot: plot height plus its caption, so the page does not jump as charts draw. */
const SLOT_HEIGHT = 240;
const GAP = 10;
const HEADER_HEIGHT = 34;
/** The narrowest a chart gets before the grid takes one column fewer. */
export const CHART_MIN_WIDTH = 380;
/** Slots this far outside the scroll pane count as on screen, so a scroll finds them drawn. */
const SLOT_MARGIN = '300px';
/** The scroll pane's horizontal padding (styles.css, .metrics-scroll). */
const PANE_PADDING = 24;

function pointsText(n: number): string {
  return `${n.toLocaleString()} pt${n === 1 ? '' : 's'}`;
}

/** What a slot needs besides its key: its data and the view. */
export interface SlotView {
  data: Series | undefined;
  /** The legend's word for the smoothing asked for (null: none). */
  smoothing: string | null;
  xMode: ChartXMode;
  xTitle?: string;
  logY: boolean;
  ignoreOutliers: boolean;
  range: XRange | null;
  setRange(r: XRange | null): void;
  path: string;
}

/** One IntersectionObserver for every slot; a slot that leaves the DOM leaves the set too. */
export interface SlotObserver {
  observe(el: HTMLElement): void;
  unobserve(el: HTMLElement): void;
}

type Row =
  { kind: 'header'; group: string; count: number } | { kind: 'charts'; group: string; keys: string[] };

export function MetricsGrid(props: {
  groups: [string, string[]][];
  width: number;
  scrollRef: React.RefObject<HTMLDivElement | null>;
  observer: SlotObserver | null;
  onScreen: ReadonlySet<string>;
  slot(key: string): SlotView;
}): React.JSX.Element {
  const { groups, width, scrollRef } = props;
  const columns = Math.max(1, Math.floor((width - PANE_PADDING + GAP) / (CHART_MIN_WIDTH + GAP)));
  const rows = useMemo(() => {
    const out: Row[] = [];
    for (const [group, keys] of groups) {
      out.push({ kind: 'header', group, count: keys.length });
      for (let i = 0; i < keys.length; i += columns)
        out.push({ kind: 'charts', group, keys: keys.slice(i, i + columns) });
    }
    return out;
  }, [groups, columns]);
  // TanStack Virtual hands back a mutable instance, so the React Compiler skips this component; it is cheap.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => (rows[i]?.kind === 'header' ? HEADER_HEIGHT : SLOT_HEIGHT + GAP),
    overscan: 2,
    observeElementRect: observeRect,
    getItemKey: (i) => {
      const r = rows[i];
      return r ? (r.kind === 'header' ? `h:${r.group}` : `c:${r.keys[0]}`) : i;
    },
  });
  return (
    <div className="metrics-rows" style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
      {virtualizer.getVirtualItems().map((v) => {
        const row = rows[v.index]!;
        return (
          <div
            key={v.key}
            className="metrics-row"
            style={{ position: 'absolute', top: 0, left: 0, right: 0, transform: `translateY(${v.start}px)` }}
          >
            {row.kind === 'header' ? (
              <h3 className="metric-group" data-testid="metric-group" data-group={row.group}>
                {row.group} <span className="muted">{row.count}</span>
              </h3>
            ) : (
              <div
                className="chart-grid"
                style={{ gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))` }}
              >
                {row.keys.map((key) => (
                  <ChartSlot
                    key={key}
                    metric={key}
                    observer={props.observer}
                    drawn={props.onScreen.has(key)}
                    {...props.slot(key)}
                  />
                ))}
              </div>
            )}
          </div>
        );
      })}
    </div>
  );
}

interface SlotProps extends SlotView {
  metric: string;
  observer: SlotObserver | null;
  /** On screen: only then is the chart drawn. */
  drawn: boolean;
}

/**
 * A fixed-height place for one chart, watched for being on screen; memoized,
 * so a scroll or a new series re-renders only the slots it changes.
 */
const ChartSlot = memo(function ChartSlot(props: SlotProps): React.JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const { observer, metric, data, smoothing } = props;
  useEffect(() => {
    const el = ref.current;
    if (!el || !observer) return;
    observer.observe(el);
    return () => observer.unobserve(el);
  }, [observer]);
  const series = useMemo(
    (): ChartSeries[] => (data ? traceSeries(metric, SERIES_COLORS[0]!, data, smoothing) : []),
    [data, metric, smoothing],
  );
  return (
    <div className="chart-slot" data-key={metric} ref={ref} style={{ height: SLOT_HEIGHT }}>
      {/* Drawn once its series is here: a first empty draw would only be redrawn at once. */}
      {props.drawn && data && (
        <Chart
          title={metric}
          series={series}
          xMode={props.xMode}
          xTitle={props.xTitle}
          logY={props.logY}
          ignoreOutliers={props.ignoreOutliers}
          xRange={props.range}
          onZoom={props.setRange}
          revision={`${props.path}\n${metric}\n${props.xMode}`}
          note={data ? `${pointsText(data.points)}${data.downsampled ? ', min/max' : ''}` : undefined}
          testId="metric-chart"
        />
      )}
    </div>
  );
});

/**
 * The `data-key`s of observed slots on screen (within SLOT_MARGIN of the
 * scroll pane), through one observer for all of them. Without
 * IntersectionObserver (a test DOM) nothing is ever on screen.
 */
export function useOnScreenKeys(rootRef: React.RefObject<HTMLElement | null>): {
  keys: ReadonlySet<string>;
  observer: SlotObserver | null;
} {
  const [keys, setKeys] = useState<ReadonlySet<string>>(() => new Set());
  const [observer, setObserver] = useState<SlotObserver | null>(null);
  useEffect(() => {
    if (typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver(
      (entries) =>
        setKeys((prev) => {
          const next = new Set(prev);
          for (const e of entries) {
            const key = (e.target as HTMLElement).dataset.key;
            if (key === undefined) continue;
            if (e.isIntersecting) next.add(key);
            else next.delete(key);
          }
          return next;
        }),
      { root: rootRef.current, rootMargin: SLOT_MARGIN },
    );
    setObserver({
      observe: (el) => io.observe(el),
      unobserve: (el) => {
        io.unobserve(el);
        const key = el.dataset.key;
        if (key !== undefined)
          setKeys((prev) => {
            if (!prev.has(key)) return prev;
            const next = new Set(prev);
            next.delete(key);
            return next;
          });
      },
    });
    return () => io.disconnect();
  }, [rootRef]);
  return { keys, observer };
}
