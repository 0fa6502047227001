/**
 * The controls every group of metric charts has (an experiment's Metrics tab,
 * the compare view): the x axis (step or wall time), EMA smoothing, and a
 * zoom reset when zoomed. Changing the axis drops the zoom, whose range was
 * in the other axis's units.
 */
import { useState } from 'react';
import type { XRange } from './Chart';

export type XMode = 'step' | 'time';

/** What a group of charts shows: its x axis, smoothing and zoomed range. */
export interface ChartView {
  xMode: XMode;
  setXMode: (mode: XMode) => void;
  smoothing: number;
  setSmoothing: (value: number) => void;
  range: XRange | null;
  setRange: (range: XRange | null) => void;
}

/** A chart group's view state; `onSmoothing` sees each new smoothing (to remember it). */
export function useChartView(
  initialSmoothing: number | (() => number) = 0,
  onSmoothing?: (value: number) => void,
): ChartView {
  const [xMode, setXMode] = useState<XMode>('step');
  const [smoothing, setSmoothingState] = useState(initialSmoothing);
  const [range, setRange] = useState<XRange | null>(null);
  const setSmoothing = (value: number): void => {
    setSmoothingState(value);
    onSmoothing?.(value);
  };
  return { xMode, setXMode, smoothing, setSmoothing, range, setRange };
}

export function ChartControls({ view }: { view: ChartView }): React.JSX.Element {
  const props = { ...view, zoomed: view.range !== null, resetZoom: () => view.setRange(null) };
  const axis = (mode: XMode, label: string): React.JSX.Element => (
    <button
      type="button"
      className={props.xMode === mode ? 'active' : ''}
      onClick={() => {
        props.setXMode(mode);
        props.resetZoom();
      }}
      data-testid={`x-${mode}`}
    >
      {label}
    </button>
  );
  return (
    <>
      <div className="segmented" role="group" aria-label="x axis">
        {axis('step', 'Step')}
        {axis('time', 'Wall time')}
      </div>
      <label className="slider" title="Exponential moving average (TensorBoard-style, debiased)">
        <span className="small muted">Smoothing</span>
        <input
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={props.smoothing}
          onChange={(e) => props.setSmoothing(Number(e.target.value))}
          data-testid="smoothing"
        />
        <span className="mono small num-w">{props.smoothing.toFixed(2)}</span>
      </label>
      {props.zoomed && (
        <button type="button" className="btn small" onClick={props.resetZoom} data-testid="reset-zoom">
          Reset zoom
        </button>
      )}
    </>
  );
}
