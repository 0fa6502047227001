/**
 * plotly.js, loaded on first use: its bundle must not delay the first render
 * of the table. One shared promise for the whole app.
 *
 * The "basic" bundle (scatter, bar, pie: 1.1 MB) rather than the full one
 * (4.6 MB): every chart here is a scatter trace, and evaluating the full
 * bundle was one main-thread task long enough to freeze the page for seconds
 * on a busy machine (the log view stayed blank until it ended).
 */
import type * as PlotlyTypes from 'plotly.js';

export type PlotlyModule = typeof PlotlyTypes;

let loading: Promise<PlotlyModule> | null = null;

export function loadPlotly(): Promise<PlotlyModule> {
  loading ??= import('plotly.js-basic-dist-min').then((m) => {
    // A UMD bundle: the bundler hands it over as the default export (or as the namespace itself).
    const mod = m as unknown as { default?: PlotlyModule } & PlotlyModule;
    return mod.default ?? mod;
  });
  return loading;
}

/**
 * Text for plotly's labels (trace names in legends and hover labels): plotly
 * reads a subset of HTML there (<b>, <br>, <a href>, <span style>, entities),
 * so a metric or run name from a folder is escaped to show as written. & < >
 * become entities, which plotly turns back into the characters.
 */
export function plotlyText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
