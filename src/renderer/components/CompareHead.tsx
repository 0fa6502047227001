/**
 * The head of the Compare view: one chip per run in its colour (past a
 * handful, the rest collapse into a "+N more" list, so 50 runs stay one
 * line), and the CSV exports — the summary table, or every run's per-step
 * series in long format (experiment, metric, step, value), as pandas reads
 * with `pd.read_csv` and pivots as it likes.
 */
import { useState } from 'react';
import type { CompareResult } from '../../shared/contract';
import type { ExperimentSummary } from '../../shared/model';
import { toCsv, type CsvCell } from '../../shared/csv';
import { useExpdesk } from '../store-context';
import { mapLimited } from '../../shared/map-limited';
import { Popover } from './Popover';

/** Chips shown before the rest collapse into the list. */
const CHIPS_SHOWN = 6;
/** The most points one series may bring into the export (the contract's largest bucket count). */
const SERIES_BUCKETS = 20_000;

export function CompareHead(props: {
  compare: CompareResult;
  colorOf: (i: number) => string;
  onExportSummary: () => void;
}): React.JSX.Element {
  const exps = props.compare.experiments;
  const openDetail = useExpdesk((s) => s.openDetail);
  const openCompare = useExpdesk((s) => s.openCompare);
  const collapse = exps.length > CHIPS_SHOWN + 2;
  const chip = (e: ExperimentSummary, i: number): React.JSX.Element => (
    <span key={e.path} className="legend-chip" title={e.path} data-testid="run-chip">
      <span className="swatch" style={{ background: props.colorOf(i) }} />
      <button type="button" className="link-btn ellipsis" onClick={() => void openDetail(e.path)}>
        {e.name}
      </button>
      {exps.length > 2 && (
        <button
          type="button"
          className="icon-btn"
          aria-label={`Remove ${e.name} from the comparison`}
          onClick={() => void openCompare(exps.filter((x) => x !== e).map((x) => x.path))}
        >
          ×
        </button>
      )}
    </span>
  );
  return (
    <div className="compare-head">
      <h2>Compare {exps.length} experiments</h2>
      <div className="legend-chips">
        {(collapse ? exps.slice(0, CHIPS_SHOWN) : exps).map(chip)}
        {collapse && (
          <Popover label={`+${exps.length - CHIPS_SHOWN} more`} testId="chips-more" className="chips-more">
            {() => (
              <div className="chip-list" data-testid="chip-list">
                {exps.map(chip)}
              </div>
            )}
          </Popover>
        )}
      </div>
      <span className="spacer" />
      <SeriesExport exps={exps} />
      <button type="button" className="btn" onClick={props.onExportSummary} data-testid="export-csv">
        Export CSV
      </button>
    </div>
  );
}

/** Long-format rows: experiment, metric, step, value (NaN and ±Inf travel as null: an empty cell). */
export function seriesRows(
  runs: ReadonlyArray<{ name: string; series: Record<string, { x: number[]; y: (number | null)[] }> }>,
): CsvCell[][] {
  const rows: CsvCell[][] = [['experiment', 'metric', 'step', 'value']];
  for (const r of runs)
    for (const key of Object.keys(r.series).sort()) {
      const s = r.series[key]!;
      for (let i = 0; i < s.x.length; i++) rows.push([r.name, key, s.x[i], s.y[i]]);
    }
  return rows;
}

function SeriesExport({ exps }: { exps: readonly ExperimentSummary[] }): React.JSX.Element {
  const client = useExpdesk((s) => s.client);
  const toast = useExpdesk((s) => s.toast);
  const [busy, setBusy] = useState(false);
  const run = async (): Promise<void> => {
    setBusy(true);
    try {
      // Two at a time: each answer is a run's full series, held by the host within a points budget (see mapLimited).
      const results = await mapLimited(exps, 2, (e) =>
        client.invoke('metrics.series', { expDir: e.path, x: 'step', buckets: SERIES_BUCKETS }),
      );
      const reduced = results.reduce(
        (n, r) => n + Object.values(r.series).filter((s) => s.downsampled).length,
        0,
      );
      const rows = seriesRows(results.map((r, i) => ({ name: exps[i]!.name, series: r.series })));
      downloadText('expdesk-series.csv', toCsv(rows), 'text/csv;charset=utf-8');
      if (reduced > 0)
        toast(
          'warning',
          `${reduced} series had more than ${SERIES_BUCKETS.toLocaleString()} points: exported as the min and max of each bucket (logs/metrics.jsonl has every point).`,
        );
    } catch (err) {
      toast('error', `Series export failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(false);
    }
  };
  const title = "Every run's per-step series as CSV: experiment, metric, step, value";
  return (
    <button
      type="button"
      className="btn"
      title={title}
      data-testid="export-series-csv"
      disabled={busy}
      onClick={() => void run()}
    >
      {busy ? 'Exporting…' : 'Export series CSV'}
    </button>
  );
}

/** Save text as a file through the browser's download (a Blob URL: nothing leaves the machine). */
export function downloadText(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
