/**
 * Every metric of one experiment, one chart each, grouped by prefix (train/,
 * eval/, …). The host downsamples per visible range with min/max per bucket
 * (a single spike among a million points stays visible); this view asks for
 * about one bucket per pixel, again on zoom, and again when the run writes
 * (`metrics.changed`), so new points show within a second.
 *
 * A run may log thousands of metrics (issue 16: 5,000 froze the page at
 * 2.9 GB). So the tab first asks for the key list only; each chart is a slot
 * of fixed height, and one IntersectionObserver tells which slots are on
 * screen: only those are drawn (plotly) and only their series are asked for.
 * A search box narrows the keys.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { MetricsSeriesResult } from '../../shared/contract';
import type { ExperimentDetail } from '../../shared/model';
import { loadPlotly } from '../lib/plotly';
import { useExpdesk } from '../store-context';
import { CHART_MIN_WIDTH, MetricsGrid, useOnScreenKeys } from './MetricsGrid';
import { ChartControls, effectiveXMode, smoothingLabel, useChartView, xTitleOf } from './ChartControls';
import { SystemSection } from './SystemSection';

/** Live redraws at most this often: fast enough for "within a second", calm for the CPU. */
const LIVE_THROTTLE_MS = 400;

/** The contract's limit of keys per series request. */
const MAX_KEYS_PER_REQUEST = 1000;

type Series = MetricsSeriesResult['series'][string];

export function groupByPrefix(keys: readonly string[]): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const k of keys) {
    const slash = k.indexOf('/');
    const g = slash > 0 ? k.slice(0, slash) : 'other';
    let list = groups.get(g);
    if (!list) groups.set(g, (list = []));
    list.push(k);
  }
  // train first, eval next, then the rest by name: the order people read a run in.
  const rank = (g: string): number => (g === 'train' ? 0 : g === 'eval' ? 1 : g === 'other' ? 3 : 2);
  return [...groups.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
}

export function useElementWidth(ref: React.RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(1000);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth || 1000));
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref]);
  return width;
}

/** About one bucket per horizontal pixel of one chart. */
export function bucketsFor(gridWidth: number): number {
  const columns = Math.max(1, Math.floor(gridWidth / CHART_MIN_WIDTH));
  return Math.max(50, Math.min(4000, Math.round(gridWidth / columns - 60)));
}

export default function MetricsTab({ detail }: { detail: ExperimentDetail }): React.JSX.Element {
  const client = useExpdesk((s) => s.client);
  const path = detail.summary.path;
  const view = useChartView();
  const { range, setRange } = view;
  const xMode = effectiveXMode(view);
  const params = view.request;
  const [keys, setKeys] = useState<string[] | null>(null);
  const [records, setRecords] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const gridRef = useRef<HTMLDivElement>(null);
  const width = useElementWidth(gridRef);
  const buckets = bucketsFor(width);
  const [tick, setTick] = useState(0);
  const { keys: onScreen, observer } = useOnScreenKeys(gridRef);
  /** What the series were asked with: another view (zoom, x axis, new points) asks again. */
  const signature = `${path}\n${JSON.stringify(params)}\n${JSON.stringify(range)}\n${buckets}\n${tick}`;
  const [series, setSeries] = useState<{
    path: string;
    byKey: Map<string, Series>;
    asked: Map<string, string>;
  }>(() => ({ path, byKey: new Map(), asked: new Map() }));

  // Follow the run: re-ask on metrics.changed, throttled.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let last = 0;
    const off = client.on('metrics.changed', (p) => {
      if (p.expDir !== path || timer) return;
      const wait = Math.max(0, LIVE_THROTTLE_MS - (Date.now() - last));
      timer = setTimeout(() => {
        timer = null;
        last = Date.now();
        setTick((t) => t + 1);
      }, wait);
    });
    // The workspace watch may not cover this folder (a path opened directly): watch it here too.
    let subscription: string | null = null;
    let live = true;
    client
      .invoke('experiments.watch', { paths: [path] })
      .then((r) => {
        if (live) subscription = r.subscription;
        else
          void client.invoke('experiments.unwatch', { subscription: r.subscription }).catch(() => undefined);
      })
      .catch(() => undefined);
    return () => {
      live = false;
      off();
      if (timer) clearTimeout(timer);
      if (subscription) void client.invoke('experiments.unwatch', { subscription }).catch(() => undefined);
    };
  }, [client, path]);

  // Plotly (a few MB of script) loads while the key list is asked for, not after.
  useEffect(() => void loadPlotly().catch(() => undefined), []);

  // The key list (no series): cheap however many metrics the run logs.
  useEffect(() => {
    let live = true;
    client
      .invoke('metrics.series', { expDir: path, keys: [], buckets })
      .then((r) => {
        if (!live) return;
        setKeys(r.keys);
        setRecords(r.records);
        setError(null);
      })
      .catch((err: unknown) => {
        if (live) setError(err instanceof Error ? err.message : String(err));
      });
    return () => {
      live = false;
    };
  }, [client, path, buckets, tick]);

  // The series of the charts on screen that were not asked for with this view yet.
  const current = series.path === path ? series : null;
  const wanted = useMemo(
    () => [...onScreen].filter((k) => current?.asked.get(k) !== signature).slice(0, MAX_KEYS_PER_REQUEST),
    [onScreen, current, signature],
  );
  useEffect(() => {
    if (wanted.length === 0) return;
    let live = true;
    client
      .invoke('metrics.series', { expDir: path, keys: wanted, ...params, range, buckets })
      .then((r) => {
        if (!live) return;
        setSeries((prev) => {
          const base = prev.path === path ? prev : { path, byKey: new Map(), asked: new Map() };
          const byKey = new Map(base.byKey);
          const asked = new Map(base.asked);
          for (const k of wanted) {
            asked.set(k, signature);
            const s = r.series[k];
            if (s) byKey.set(k, s);
            else byKey.delete(k);
          }
          return { path, byKey, asked };
        });
        setError(null);
      })
      .catch((err: unknown) => {
        if (live) setError(err instanceof Error ? err.message : String(err));
      });
    return () => {
      live = false;
    };
    // `wanted` changes whenever what is on screen or the view does; its content decides.
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the request is keyed by its content
  }, [client, path, wanted.join('\n'), signature]);

  const matching = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return (keys ?? []).filter((k) => !needle || k.toLowerCase().includes(needle));
  }, [keys, filter]);
  const groups = useMemo(() => groupByPrefix(matching), [matching]);

  return (
    <div className="metrics-tab" data-testid="metrics-view">
      <div className="subbar">
        <ChartControls view={view} metricKeys={keys ?? []} />
        <span className="spacer" />
        <input
          type="search"
          className="small-input"
          value={filter}
          placeholder="Search metrics"
          aria-label="Search metrics"
          data-testid="metrics-search"
          onChange={(e) => setFilter(e.target.value)}
        />
        <span className="muted small" data-testid="metrics-count">
          {keys && keys.length > 0
            ? `${matching.length === keys.length ? '' : `${matching.length.toLocaleString()} of `}${keys.length.toLocaleString()} metrics`
            : ''}
        </span>
        <span className="muted small" data-testid="metrics-records">
          {records !== null ? `${records.toLocaleString()} records` : ''}
        </span>
      </div>
      {error && (
        <div className="banner banner-error" role="alert">
          {error}
        </div>
      )}
      <div className="metrics-scroll" ref={gridRef}>
        {keys && keys.length === 0 && <p className="muted pad">No metrics yet (logs/metrics.jsonl).</p>}
        {keys && keys.length > 0 && matching.length === 0 && (
          <p className="muted pad">No metric matches “{filter.trim()}”.</p>
        )}
        <MetricsGrid
          groups={groups}
          width={width}
          scrollRef={gridRef}
          observer={observer}
          onScreen={onScreen}
          slot={(key) => ({
            data: current?.byKey.get(key),
            smoothing: smoothingLabel(view),
            xMode,
            xTitle: xTitleOf(view),
            logY: view.logY,
            ignoreOutliers: view.ignoreOutliers,
            range,
            setRange,
            path,
          })}
        />
        <SystemSection
          {...{ path, view, buckets, tick }}
          running={detail.summary.status.state === 'running'}
          nodes={detail.systemNodes ?? []}
        />
      </div>
    </div>
  );
}
