/**
 * Every metric of one experiment, one chart each, grouped by prefix (train/,
 * eval/, …). The host downsamples per visible range with min/max per bucket
 * (a single spike among a million points stays visible); this view asks for
 * about one bucket per pixel, again on zoom, and again when the run writes
 * (`metrics.changed`), so new points show within a second.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { MetricsSeriesResult } from '../../shared/contract';
import type { ExperimentDetail } from '../../shared/model';
import { ema } from '../lib/ema';
import { readJson, writeJson, defaultStorage } from '../lib/recent';
import { PREF } from '../state/context';
import { SERIES_COLORS } from '../theme';
import { useExpdesk } from '../store-context';
import { Chart, type ChartSeries } from './Chart';
import { ChartControls, useChartView } from './ChartControls';
import { SystemSection } from './SystemSection';

/** Live redraws at most this often: fast enough for "within a second", calm for the CPU. */
const LIVE_THROTTLE_MS = 400;
const CHART_MIN_WIDTH = 380;

function pointsText(n: number): string {
  return `${n.toLocaleString()} pt${n === 1 ? '' : 's'}`;
}

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

const isNumber = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v < 1;

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
  const view = useChartView(
    () => readJson(defaultStorage(), PREF.smoothing, isNumber) ?? 0,
    (v) => writeJson(defaultStorage(), PREF.smoothing, v),
  );
  const { xMode, smoothing, range, setRange } = view;
  const [data, setData] = useState<MetricsSeriesResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const gridRef = useRef<HTMLDivElement>(null);
  const width = useElementWidth(gridRef);
  const buckets = bucketsFor(width);
  const [tick, setTick] = useState(0);

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

  useEffect(() => {
    let live = true;
    client
      .invoke('metrics.series', { expDir: path, x: xMode, range, buckets })
      .then((r) => {
        if (!live) return;
        setData(r);
        setError(null);
      })
      .catch((err: unknown) => {
        if (live) setError(err instanceof Error ? err.message : String(err));
      });
    return () => {
      live = false;
    };
  }, [client, path, xMode, range, buckets, tick]);

  const groups = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const keys = (data?.keys ?? []).filter((k) => !needle || k.toLowerCase().includes(needle));
    return groupByPrefix(keys);
  }, [data, filter]);

  const seriesByKey = useMemo(() => {
    const out = new Map<string, ChartSeries[]>();
    for (const [key, s] of Object.entries(data?.series ?? {})) {
      const base: ChartSeries = { name: key, x: s.x, y: s.y, color: SERIES_COLORS[0]!, faint: smoothing > 0 };
      out.set(
        key,
        smoothing > 0
          ? [
              base,
              { name: `${key} (EMA ${smoothing})`, x: s.x, y: ema(s.y, smoothing), color: SERIES_COLORS[0]! },
            ]
          : [base],
      );
    }
    return out;
  }, [data, smoothing]);

  return (
    <div className="metrics-tab" data-testid="metrics-view">
      <div className="subbar">
        <ChartControls view={view} />
        <span className="spacer" />
        <input
          type="text"
          className="small-input"
          value={filter}
          placeholder="Filter metrics"
          aria-label="Filter metrics"
          onChange={(e) => setFilter(e.target.value)}
        />
        <span className="muted small" data-testid="metrics-records">
          {data ? `${data.records.toLocaleString()} records` : ''}
        </span>
      </div>
      {error && (
        <div className="banner banner-error" role="alert">
          {error}
        </div>
      )}
      <div className="metrics-scroll" ref={gridRef}>
        {data && data.keys.length === 0 && <p className="muted pad">No metrics yet (logs/metrics.jsonl).</p>}
        {groups.map(([group, keys]) => (
          <section key={group} className="metric-group" data-testid="metric-group" data-group={group}>
            <h3>
              {group} <span className="muted">{keys.length}</span>
            </h3>
            <div className="chart-grid">
              {keys.map((key) => {
                const s = data!.series[key];
                return (
                  <Chart
                    key={key}
                    title={key}
                    series={seriesByKey.get(key) ?? []}
                    xMode={xMode}
                    xRange={range}
                    onZoom={setRange}
                    revision={`${path}\n${key}\n${xMode}`}
                    note={s ? `${pointsText(s.points)}${s.downsampled ? ', min/max' : ''}` : undefined}
                    testId="metric-chart"
                  />
                );
              })}
            </div>
          </section>
        ))}
        <SystemSection
          path={path}
          xMode={xMode}
          range={range}
          onZoom={setRange}
          buckets={buckets}
          tick={tick}
          running={detail.summary.status.state === 'running'}
        />
      </div>
    </div>
  );
}
