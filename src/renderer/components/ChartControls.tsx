/**
 * The controls every group of metric charts has (an experiment's Metrics tab,
 * the compare view): the x axis (step or wall time), EMA smoothing, and a
 * zoom reset when zoomed. Changing the axis drops the zoom, whose range was
 * in the other axis's units.
 */
export type XMode = 'step' | 'time';

export function ChartControls(props: {
  xMode: XMode;
  setXMode: (mode: XMode) => void;
  smoothing: number;
  setSmoothing: (value: number) => void;
  zoomed: boolean;
  resetZoom: () => void;
}): React.JSX.Element {
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
