/**
 * The controls every group of metric charts has (an experiment's Metrics tab,
 * the compare view): the x axis (step, relative time, wall time or another
 * metric), smoothing (EMA or a window mean, computed by the host on the full
 * series before downsampling), a log y axis, "ignore outliers" for the y
 * range, and a zoom reset when zoomed. Changing the axis drops the zoom,
 * whose range was in the other axis's units.
 */
import { useMemo, useState } from 'react';
import type { RequestParams } from '../../shared/contract';
import type { Smoothing } from '../../shared/smoothing';
import { defaultStorage, readJson, writeJson, type KeyValueStorage } from '../lib/recent';
import { PREF } from '../state/context';
import type { ChartXMode, XRange } from './Chart';

export type XMode = ChartXMode;
export type SmoothingKind = Smoothing['kind'];

/** What a group of charts shows: its x axis, smoothing, y axis and zoomed range. */
export interface ChartView {
  xMode: XMode;
  setXMode: (mode: XMode) => void;
  /** The metric on the x axis when xMode is 'metric'. */
  xKey: string | null;
  setXKey: (key: string | null) => void;
  /** EMA weight (0 = none). */
  smoothing: number;
  setSmoothing: (value: number) => void;
  smoothingKind: SmoothingKind;
  setSmoothingKind: (kind: SmoothingKind) => void;
  /** Window of the mean, in points. */
  window: number;
  setWindow: (points: number) => void;
  logY: boolean;
  setLogY: (on: boolean) => void;
  ignoreOutliers: boolean;
  setIgnoreOutliers: (on: boolean) => void;
  range: XRange | null;
  setRange: (range: XRange | null) => void;
  /** What of `metrics.series`'s parameters the view decides; the same object while they are the same. */
  request: SeriesParams;
}

type SeriesParams = Pick<RequestParams<'metrics.series'>, 'x' | 'xKey' | 'smoothing' | 'robust'>;
type ViewChoice = Pick<
  ChartView,
  'xMode' | 'xKey' | 'smoothing' | 'smoothingKind' | 'window' | 'ignoreOutliers'
>;

/** What the chart views remember between openings (localStorage): smoothing and the y axis, never the zoom. */
export interface ChartPrefs {
  smoothing: number;
  smoothingKind: SmoothingKind;
  window: number;
  logY: boolean;
  ignoreOutliers: boolean;
}

const DEFAULT_PREFS: ChartPrefs = {
  smoothing: 0,
  smoothingKind: 'ema',
  window: 10,
  logY: false,
  ignoreOutliers: false,
};

/** Each remembered field that is well formed; anything else falls back to its default. */
export function parseChartPrefs(v: unknown, legacySmoothing: unknown = null): ChartPrefs {
  const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  const weight = (x: unknown): x is number => typeof x === 'number' && x >= 0 && x < 1;
  const legacy = weight(legacySmoothing) ? legacySmoothing : DEFAULT_PREFS.smoothing;
  return {
    smoothing: weight(o.smoothing) ? o.smoothing : legacy,
    smoothingKind: o.smoothingKind === 'mean' || o.smoothingKind === 'ema' ? o.smoothingKind : 'ema',
    window:
      typeof o.window === 'number' && Number.isInteger(o.window) && o.window >= 1 && o.window <= 1_000_000
        ? o.window
        : DEFAULT_PREFS.window,
    logY: o.logY === true,
    ignoreOutliers: o.ignoreOutliers === true,
  };
}

function readPrefs(storage: KeyValueStorage | null): ChartPrefs {
  const any = (_: unknown): _ is unknown => true;
  return parseChartPrefs(readJson(storage, PREF.chartView, any), readJson(storage, PREF.smoothing, any));
}

/** A chart group's view state; smoothing, log scale and outliers are remembered in `storage` (shared by every view). */
export function useChartView(storage: KeyValueStorage | null = defaultStorage()): ChartView {
  const [prefs, setPrefs] = useState<ChartPrefs>(() => readPrefs(storage));
  const [xMode, setXMode] = useState<XMode>('step');
  const [xKey, setXKey] = useState<string | null>(null);
  const [range, setRange] = useState<XRange | null>(null);
  const { smoothing, smoothingKind, window, logY, ignoreOutliers } = prefs;
  const remember =
    <K extends keyof ChartPrefs>(key: K) =>
    (value: ChartPrefs[K]) =>
      setPrefs((p) => {
        const next = { ...p, [key]: value };
        writeJson(storage, PREF.chartView, next);
        return next;
      });
  const request = useMemo(
    () => seriesParams({ xMode, xKey, smoothing, smoothingKind, window, ignoreOutliers }),
    [xMode, xKey, smoothing, smoothingKind, window, ignoreOutliers],
  );
  return {
    request,
    ...{ xMode, setXMode, xKey, setXKey, smoothing, setSmoothing: remember('smoothing') },
    ...{ smoothingKind, setSmoothingKind: remember('smoothingKind'), window, setWindow: remember('window') },
    ...{ logY, setLogY: remember('logY'), ignoreOutliers, setIgnoreOutliers: remember('ignoreOutliers') },
    ...{ range, setRange },
  };
}

/** The smoothing the view asks the host for; null for none. */
export function viewSmoothing(view: Omit<ViewChoice, 'xMode' | 'xKey' | 'ignoreOutliers'>): Smoothing | null {
  if (view.smoothingKind === 'mean') return view.window > 1 ? { kind: 'mean', window: view.window } : null;
  return view.smoothing > 0 ? { kind: 'ema', weight: view.smoothing } : null;
}

/** The legend's word for the view's smoothing, null for none. */
export function smoothingLabel(view: ViewChoice): string | null {
  const s = viewSmoothing(view);
  return s === null ? null : s.kind === 'ema' ? `EMA ${s.weight.toFixed(2)}` : `mean of ${s.window}`;
}

/** The x axis the view can draw: 'metric' without a chosen metric is drawn by step. */
export function effectiveXMode(view: Pick<ChartView, 'xMode' | 'xKey'>): XMode {
  return view.xMode === 'metric' && !view.xKey ? 'step' : view.xMode;
}

/** The x axis' title, where the axis does not say it itself. */
export function xTitleOf(view: Pick<ChartView, 'xMode' | 'xKey'>): string | undefined {
  const mode = effectiveXMode(view);
  return mode === 'relative'
    ? 'time since start (s)'
    : mode === 'metric'
      ? (view.xKey ?? undefined)
      : undefined;
}

/** What of `metrics.series`'s parameters the view decides. */
export function seriesParams(view: ViewChoice): SeriesParams {
  const x = effectiveXMode(view);
  const smoothing = viewSmoothing(view);
  return {
    x,
    ...(x === 'metric' && view.xKey ? { xKey: view.xKey } : {}),
    ...(smoothing ? { smoothing } : {}),
    ...(view.ignoreOutliers ? { robust: true } : {}),
  };
}

export function ChartControls({
  view,
  metricKeys = [],
}: {
  view: ChartView;
  /** Metrics that can be the x axis. */
  metricKeys?: readonly string[];
}): React.JSX.Element {
  const resetZoom = (): void => view.setRange(null);
  const setAxis = (mode: XMode): void => {
    view.setXMode(mode);
    resetZoom();
  };
  const axis = (mode: XMode, label: string): React.JSX.Element => (
    <button
      type="button"
      className={view.xMode === mode ? 'active' : ''}
      onClick={() => setAxis(mode)}
      data-testid={`x-${mode}`}
    >
      {label}
    </button>
  );
  return (
    <>
      <div className="segmented" role="group" aria-label="x axis">
        {axis('step', 'Step')}
        {axis('relative', 'Relative')}
        {axis('time', 'Wall time')}
      </div>
      <select
        className="small-input"
        aria-label="x axis metric"
        title="Draw against another metric (its value at the same step)"
        value={view.xMode === 'metric' ? (view.xKey ?? '') : ''}
        onChange={(e) => {
          view.setXKey(e.target.value || null);
          setAxis(e.target.value ? 'metric' : 'step');
        }}
        data-testid="x-metric"
      >
        <option value="">x: metric…</option>
        {metricKeys.map((k) => (
          <option key={k} value={k}>
            {k}
          </option>
        ))}
      </select>
      <label
        className="slider"
        title="Computed on every point before downsampling; the raw curve stays faint behind"
      >
        <select
          className="small-input"
          aria-label="smoothing"
          value={view.smoothingKind}
          onChange={(e) => view.setSmoothingKind(e.target.value === 'mean' ? 'mean' : 'ema')}
          data-testid="smoothing-kind"
        >
          <option value="ema">EMA</option>
          <option value="mean">Mean</option>
        </select>
        {view.smoothingKind === 'ema' ? (
          <>
            <input
              type="range"
              min={0}
              max={0.99}
              step={0.01}
              value={view.smoothing}
              onChange={(e) => view.setSmoothing(Number(e.target.value))}
              data-testid="smoothing"
            />
            <span className="mono small num-w">{view.smoothing.toFixed(2)}</span>
          </>
        ) : (
          <input
            type="number"
            className="small-input num-w"
            min={1}
            max={100000}
            value={view.window}
            aria-label="window (points)"
            title="Window (points)"
            onChange={(e) =>
              view.setWindow(Math.max(1, Math.min(100000, Math.floor(Number(e.target.value) || 1))))
            }
            data-testid="smoothing-window"
          />
        )}
      </label>
      <Toggle label="Log" title="Logarithmic y axis" on={view.logY} set={view.setLogY} testId="log-y" />
      <Toggle
        label="Ignore outliers"
        title="Set the y range from the 1st–99th percentile; points outside are clipped"
        on={view.ignoreOutliers}
        set={view.setIgnoreOutliers}
        testId="ignore-outliers"
      />
      {view.range !== null && (
        <button type="button" className="btn small" onClick={resetZoom} data-testid="reset-zoom">
          Reset zoom
        </button>
      )}
    </>
  );
}

function Toggle(props: {
  label: string;
  title: string;
  on: boolean;
  set: (on: boolean) => void;
  testId: string;
}): React.JSX.Element {
  return (
    <label className="small" title={props.title}>
      <input
        type="checkbox"
        checked={props.on}
        onChange={(e) => props.set(e.target.checked)}
        data-testid={props.testId}
      />{' '}
      {props.label}
    </label>
  );
}
