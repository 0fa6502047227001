/**
 * Compare two or more experiments: final and best metrics, the config keys
 * whose values differ (changed cells highlighted; equal keys hidden unless
 * asked), metadata differences, overlaid charts per metric, a parallel-
 * coordinates view of hyperparameters against a chosen metric, and CSV.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { CompareResult, MetricsSeriesResult } from '../../shared/contract';
import type { ExperimentSummary, JsonValue } from '../../shared/model';
import { finalMetric } from '../lib/columns';
import { toCsv, type CsvCell } from '../../shared/csv';
import { traceSeries } from '../lib/chart-traces';
import { shortNames } from '../lib/names';
import { formatConfigValue, formatMetric, MISSING } from '../format';
import { runColor } from '../lib/run-colors';
import { mapLimited } from '../../shared/map-limited';
import { isAlwaysDifferKey } from '../../shared/identity-keys';
import { useExpdesk } from '../store-context';
import { Chart, type ChartSeries } from './Chart';
import { CheckLabel } from './CheckLabel';
import { bucketsFor, groupByPrefix, useElementWidth } from './MetricsTab';
import { ParallelCoordinates } from './ParallelCoordinates';
import { VerifyReproduction } from './VerifyReproduction';
import {
  ChartControls,
  effectiveXMode,
  smoothingLabel,
  useChartView,
  viewSmoothing,
  xTitleOf,
} from './ChartControls';
import { GroupBandControls, useGroupCurves } from './GroupCurves';
import { groupChartParts } from '../lib/group-bands';
import { CompareHead, downloadText } from './CompareHead';

export { downloadText };

/** A run's colour, the same in every chart, table and the parallel coordinates (distinct for 50 runs and more). */
const colorOf = runColor;
/** Overlaid charts drawn at first; more on request (each costs a request per experiment). */
const FIRST_CHARTS = 12;

export default function CompareView(): React.JSX.Element {
  const compare = useExpdesk((s) => s.compare);
  const loading = useExpdesk((s) => s.compareLoading);
  const error = useExpdesk((s) => s.compareError);
  const paths = useExpdesk((s) => s.comparePaths);
  const setView = useExpdesk((s) => s.setView);

  if (paths.length < 2)
    return (
      <div className="empty" data-testid="compare-empty">
        <p>Check two or more experiments in the table (Space, or Ctrl/⌘+click), then Compare (c).</p>
        <button type="button" className="btn" onClick={() => setView('experiments')}>
          Back to the experiments
        </button>
      </div>
    );
  return (
    <div className="compare-view" data-testid="compare-view" aria-busy={loading}>
      {error && (
        <div className="banner banner-error" role="alert" data-testid="compare-error">
          {error}
        </div>
      )}
      {!compare && loading && <p className="muted pad">Comparing…</p>}
      {compare && <CompareBody compare={compare} />}
    </div>
  );
}

function CompareBody({ compare }: { compare: CompareResult }): React.JSX.Element {
  const exps = compare.experiments;
  const hideEqual = useExpdesk((s) => s.hideEqual);
  const setHideEqual = useExpdesk((s) => s.setHideEqual);
  const [showAllKeys, setShowAllKeys] = useState(false);
  const identityKeys = compare.configDiff.filter((r) => isAlwaysDifferKey(r.key)).length;
  const metricKeys = useMemo(() => unionMetricKeys(exps), [exps]);

  const exportCsv = (): void => {
    downloadText('expdesk-compare.csv', toCsv(compareRows(compare, metricKeys)), 'text/csv;charset=utf-8');
  };

  return (
    <>
      <CompareHead compare={compare} colorOf={colorOf} onExportSummary={exportCsv} />

      <div className="compare-scroll">
        {exps.length === 2 && <VerifyReproduction key={exps.map((e) => e.path).join('\n')} exps={exps} />}
        <section className="card wide">
          <h3>Metrics</h3>
          <MetricsTable exps={exps} keys={metricKeys} />
        </section>

        <section className="card wide" data-testid="config-diff">
          <div className="card-head">
            <h3>
              Config{' '}
              <span className="muted">
                {compare.configDiff.length} differ · {compare.configSame.length} equal
                {!showAllKeys && identityKeys > 0 && ` · ${identityKeys} naming the run hidden`}
              </span>
            </h3>
            <CheckLabel checked={hideEqual} onChange={setHideEqual} testId="hide-equal">
              Hide equal keys
            </CheckLabel>
            <CheckLabel checked={showAllKeys} onChange={setShowAllKeys} testId="show-all-keys">
              Show all keys (names, folders)
            </CheckLabel>
          </div>
          <ConfigTable compare={compare} hideEqual={hideEqual} showAllKeys={showAllKeys} />
        </section>

        <section className="card wide" data-testid="metadata-diff">
          <h3>
            Metadata <span className="muted">{compare.metadataDiff.length} differ</span>
          </h3>
          {compare.metadataDiff.length === 0 && hideEqual ? (
            <p className="muted small">Same git hash, Python and torch versions, host and command.</p>
          ) : (
            <DiffTable
              exps={exps}
              rows={[
                ...compare.metadataDiff.map((r) => ({ ...r, differs: true })),
                ...(hideEqual
                  ? []
                  : compare.metadataSame.map((r) => ({
                      key: r.key,
                      values: exps.map(() => r.value),
                      present: exps.map(() => true),
                      differs: false,
                    }))),
              ]}
              testId="metadata-table"
            />
          )}
        </section>

        <OverlaidCharts exps={exps} metricKeys={metricKeys} />

        <ParallelCoordinates highlight={{ paths: exps.map((e) => e.path), colorOf }} />
      </div>
    </>
  );
}

function unionMetricKeys(exps: readonly ExperimentSummary[]): string[] {
  const keys = new Set<string>();
  for (const e of exps) for (const k of Object.keys(e.metrics)) keys.add(k);
  return groupByPrefix([...keys]).flatMap(([, ks]) => ks);
}

function MetricsTable({
  exps,
  keys,
}: {
  exps: readonly ExperimentSummary[];
  keys: string[];
}): React.JSX.Element {
  if (keys.length === 0) return <p className="muted small">No metrics.</p>;
  return (
    <div className="table-wrap">
      <table className="mini compare-table" data-testid="metrics-compare">
        <thead>
          <tr>
            <th>metric</th>
            {exps.map((e, i) => (
              <th key={e.path} colSpan={2} className="exp-col" title={e.path}>
                <span className="swatch" style={{ background: colorOf(i) }} />
                <span className="ellipsis">{e.name}</span>
              </th>
            ))}
          </tr>
          <tr className="subhead">
            <th />
            {exps.map((e) => [
              <th key={`${e.path}f`} className="num">
                final
              </th>,
              <th key={`${e.path}b`} className="num">
                best
              </th>,
            ])}
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => {
            const dir = exps.map((e) => e.metrics[k]?.direction).find((d) => d && d !== 'unknown');
            const finals = exps.map((e) => finalMetric(e, k));
            const bests = exps.map((e) => e.metrics[k]?.best);
            const winner = bestIndex(finals, dir);
            const bestWinner = bestIndex(bests, dir);
            return (
              <tr key={k}>
                <td className="mono">{k}</td>
                {exps.map((e, i) => [
                  <td key={`${e.path}f`} className={`num${winner === i ? ' winner' : ''}`}>
                    {finals[i] === undefined ? MISSING : formatMetric(finals[i])}
                  </td>,
                  <td key={`${e.path}b`} className={`num muted-num${bestWinner === i ? ' winner' : ''}`}>
                    {bests[i] === undefined || bests[i] === null ? MISSING : formatMetric(bests[i])}
                  </td>,
                ])}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function bestIndex(values: readonly (number | null | undefined)[], dir: string | undefined): number {
  if (dir !== 'min' && dir !== 'max') return -1;
  let best = -1;
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    const b = values[best];
    if (best === -1 || (typeof b === 'number' && (dir === 'min' ? v < b : v > b))) best = i;
  });
  return best;
}

interface DiffRow {
  key: string;
  values: JsonValue[];
  present: boolean[];
  differs: boolean;
}

function ConfigTable({
  compare,
  hideEqual,
  showAllKeys,
}: {
  compare: CompareResult;
  hideEqual: boolean;
  /** Also the keys that name the run (experiment.name, output_dir …), which always differ. */
  showAllKeys: boolean;
}): React.JSX.Element {
  const rows: DiffRow[] = useMemo(() => {
    const n = compare.experiments.length;
    const diff = compare.configDiff
      .filter((r) => showAllKeys || !isAlwaysDifferKey(r.key))
      .map((r) => ({ ...r, differs: true }));
    if (hideEqual) return diff;
    const same = compare.configSame.map((r) => ({
      key: r.key,
      values: Array.from({ length: n }, () => r.value),
      present: Array.from({ length: n }, () => true),
      differs: false,
    }));
    return [...diff, ...same].sort((a, b) => a.key.localeCompare(b.key));
  }, [compare, hideEqual, showAllKeys]);
  if (rows.length === 0) return <p className="muted small">Every config key is equal.</p>;
  return <DiffTable exps={compare.experiments} rows={rows} testId="config-table" />;
}

function DiffTable(props: {
  exps: readonly ExperimentSummary[];
  rows: DiffRow[];
  testId: string;
}): React.JSX.Element {
  return (
    <div className="table-wrap">
      <table className="mini compare-table" data-testid={props.testId}>
        <thead>
          <tr>
            <th>key</th>
            {props.exps.map((e, i) => (
              <th key={e.path} className="exp-col" title={e.path}>
                <span className="swatch" style={{ background: colorOf(i) }} />
                <span className="ellipsis">{e.name}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => {
            const first = JSON.stringify(r.present[0] ? r.values[0] : undefined);
            return (
              <tr
                key={r.key}
                className={r.differs ? 'differs' : 'same'}
                data-testid="diff-row"
                data-key={r.key}
              >
                <td className="mono key">{r.key}</td>
                {r.values.map((v, i) => {
                  const changed = r.differs && JSON.stringify(r.present[i] ? v : undefined) !== first;
                  return (
                    <td
                      key={i}
                      className={`mono${changed ? ' changed' : ''}${r.present[i] ? '' : ' absent'}`}
                      data-testid={changed ? 'changed-cell' : undefined}
                    >
                      {r.present[i] ? formatConfigValue(v) : 'absent'}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function OverlaidCharts({
  exps,
  metricKeys,
}: {
  exps: readonly ExperimentSummary[];
  metricKeys: string[];
}): React.JSX.Element {
  const client = useExpdesk((s) => s.client);
  const view = useChartView();
  const { range, setRange } = view;
  const xMode = effectiveXMode(view);
  const params = view.request;
  const names = useMemo(() => shortNames(exps.map((e) => e.name)), [exps]);
  const [limit, setLimit] = useState(FIRST_CHARTS);
  const [data, setData] = useState<(MetricsSeriesResult | null)[]>([]);
  const gridRef = useRef<HTMLDivElement>(null);
  const buckets = bucketsFor(useElementWidth(gridRef));
  const keys = useMemo(() => metricKeys.slice(0, limit), [metricKeys, limit]);
  const pathsKey = exps.map((e) => e.path).join('\n');
  // Grouped in the table: the runs are drawn as their groups' means and bands (components/GroupCurves.tsx).
  const smoothing = viewSmoothing(view); // compared by value: GroupCurves keys its request on JSON
  const grouped = useGroupCurves(exps, keys, { xMode, range, buckets, smoothing }, colorOf);
  const band = useExpdesk((s) => s.groupBand);
  // Drawn as groups: the runs' own series are not needed.
  const asGroups = grouped !== null && xMode === 'step';

  useEffect(() => {
    if (asGroups) return;
    let live = true;
    const paths = pathsKey.split('\n');
    // A few runs at a time: 50 at once would push each other's columns out of the host's points budget.
    void mapLimited(paths, 3, (expDir) =>
      client.invoke('metrics.series', { expDir, keys, ...params, range, buckets }).catch(() => null),
    ).then((r) => live && setData(r));
    return () => {
      live = false;
    };
  }, [client, pathsKey, keys, params, range, buckets, asGroups]);

  return (
    <section className="card wide" data-testid="compare-charts">
      <div className="card-head">
        <h3>Charts</h3>
        <ChartControls view={view} metricKeys={metricKeys} />
        {grouped && <GroupBandControls curves={grouped} xMode={xMode} />}
      </div>
      <div className="chart-grid" ref={gridRef}>
        {keys.map((key) => {
          const parts =
            grouped?.data && xMode === 'step'
              ? groupChartParts(
                  grouped.groups,
                  grouped.data.groups.map((g) => g.series[key]),
                  band,
                )
              : null;
          const series: ChartSeries[] = parts
            ? parts.series
            : exps.flatMap((_, i) => {
                const s = data[i]?.series[key];
                return s ? traceSeries(names[i]!, colorOf(i), s, smoothingLabel(view), true) : [];
              });
          return (
            <Chart
              key={key}
              title={key}
              series={series}
              xMode={xMode}
              xTitle={xTitleOf(view)}
              logY={view.logY}
              ignoreOutliers={view.ignoreOutliers}
              legend
              xRange={range}
              onZoom={setRange}
              revision={`compare\n${key}\n${xMode}`}
              testId="compare-chart"
              extraTraces={parts?.bands}
              note={parts?.note}
            />
          );
        })}
      </div>
      {metricKeys.length > limit && (
        <button type="button" className="btn" onClick={() => setLimit(metricKeys.length)}>
          Show all {metricKeys.length} metrics
        </button>
      )}
    </section>
  );
}

/** The comparison as rows for CSV: section, key, one value per experiment. */
export function compareRows(compare: CompareResult, metricKeys: readonly string[]): CsvCell[][] {
  const exps = compare.experiments;
  const value = (v: JsonValue | undefined): CsvCell =>
    v === undefined ? '' : typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
  const rows: CsvCell[][] = [
    ['section', 'key', ...exps.map((e) => e.name)],
    ['experiment', 'path', ...exps.map((e) => e.path)],
    ['experiment', 'status', ...exps.map((e) => e.status.state)],
  ];
  for (const k of metricKeys) {
    rows.push(['metric final', k, ...exps.map((e) => finalMetric(e, k) ?? '')]);
    rows.push(['metric best', k, ...exps.map((e) => e.metrics[k]?.best ?? '')]);
  }
  for (const r of compare.configDiff)
    rows.push(['config', r.key, ...r.values.map((v, i) => (r.present[i] ? value(v) : ''))]);
  for (const r of compare.configSame) rows.push(['config (equal)', r.key, ...exps.map(() => value(r.value))]);
  for (const r of compare.metadataDiff)
    rows.push(['metadata', r.key, ...r.values.map((v, i) => (r.present[i] ? value(v) : ''))]);
  return rows;
}
