/**
 * plotly.js, loaded on first use: its 4.6 MB bundle must not delay the first
 * render of the table. One shared promise for the whole app.
 */
import type * as PlotlyTypes from 'plotly.js';

export type PlotlyModule = typeof PlotlyTypes;

let loading: Promise<PlotlyModule> | null = null;

export function loadPlotly(): Promise<PlotlyModule> {
  loading ??= import('plotly.js-dist-min').then((m) => {
    // A UMD bundle: the bundler hands it over as the default export (or as the namespace itself).
    const mod = m as unknown as { default?: PlotlyModule } & PlotlyModule;
    return mod.default ?? mod;
  });
  return loading;
}
