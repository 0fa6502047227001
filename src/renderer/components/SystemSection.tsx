/**
 * The "System" section of the Metrics tab: the run wrapper's samples of the
 * machine (logs/system.jsonl — GPU utilisation, memory, temperature and
 * power per GPU, CPU, memory, the run's RSS, free disk), on the same step or
 * time axis and zoom as the training metrics. The host reads the file
 * through the same metrics feeds as metrics.jsonl (`metrics.series` with
 * `stream: 'system'`), locally or from its mirror over SSH. One chart per
 * quantity; the GPUs of a quantity share a chart, one line each. A
 * multi-node SLURM job has one set per node: the wrapper's node by default,
 * the others (logs/system-<node>.jsonl) picked in the section's Node list.
 */
import { useEffect, useMemo, useState } from 'react';
import type { MetricsSeriesResult } from '../../shared/contract';
import { SERIES_COLORS } from '../theme';
import { useExpdesk } from '../store-context';
import { Chart, type ChartSeries } from './Chart';
import type { ChartView } from './ChartControls';

/** Samples come every few seconds: ask again this often while the tab is open on a running run. */
const REFRESH_MS = 5000;

const GPU_KEY = /^system\/gpu(\d+)\/(.+)$/;

const LABELS: Record<string, string> = {
  util_percent: 'GPU utilisation (%)',
  mem_used_mb: 'GPU memory used (MB)',
  mem_total_mb: 'GPU memory total (MB)',
  temp_c: 'GPU temperature (°C)',
  power_w: 'GPU power (W)',
  'system/cpu_percent': 'CPU (%)',
  'system/mem_used_mb': 'Memory used (MB)',
  'system/mem_total_mb': 'Memory total (MB)',
  'system/proc_rss_mb': 'Run RSS (MB)',
  'system/disk_free_gb': 'Free disk (GB)',
};

/** Charts of the section: a title and the keys drawn in it (one per GPU for per-GPU quantities). */
export function systemCharts(keys: readonly string[]): Array<{ title: string; keys: string[] }> {
  const gpu = new Map<string, string[]>();
  const other: Array<{ title: string; keys: string[] }> = [];
  for (const k of keys) {
    const m = GPU_KEY.exec(k);
    if (m) {
      const list = gpu.get(m[2]!) ?? [];
      list.push(k);
      gpu.set(m[2]!, list);
    } else other.push({ title: LABELS[k] ?? k, keys: [k] });
  }
  const order = Object.keys(LABELS);
  const gpus = [...gpu.entries()]
    .sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]))
    .map(([field, ks]) => ({ title: LABELS[field] ?? `GPU ${field}`, keys: ks }));
  return [...gpus, ...other];
}

export function SystemSection(props: {
  path: string;
  /** The Metrics tab's axis, zoom and their setters: the section shares them. */
  view: Pick<ChartView, 'xMode' | 'range' | 'setRange'>;
  buckets: number;
  /** Changes when the run wrote: ask again. */
  tick: number;
  running: boolean;
  /** A multi-node job's other nodes (ExperimentDetail.systemNodes); empty for one machine. */
  nodes: readonly string[];
}): React.JSX.Element | null {
  const { path, buckets, tick, running, nodes } = props;
  // System samples have no training metrics to be drawn against: by step then, unzoomed.
  const { xMode: viewMode, setRange } = props.view;
  const xMode = viewMode === 'metric' ? 'step' : viewMode;
  const range = viewMode === 'metric' ? null : props.view.range;
  const client = useExpdesk((s) => s.client);
  const [data, setData] = useState<MetricsSeriesResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** The node shown: undefined for the run wrapper's (logs/system.jsonl). */
  const [node, setNode] = useState<string | undefined>(undefined);

  // Asked now, when the run writes (tick), and every few seconds while it runs.
  useEffect(() => {
    let live = true;
    const params = { expDir: path, x: xMode, range, buckets, stream: 'system' as const, node };
    const load = (): Promise<void> =>
      client.invoke('metrics.series', params).then(
        (r) => void (live && (setData(r), setError(null))),
        (err: unknown) => void (live && setError(err instanceof Error ? err.message : String(err))),
      );
    void load();
    const timer = running ? setInterval(() => void load(), REFRESH_MS) : null;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [client, path, xMode, range, buckets, tick, running, node]);

  const charts = useMemo(() => systemCharts(data?.keys ?? []), [data]);
  if (!error && nodes.length === 0 && (!data || data.keys.length === 0)) return null;
  return (
    <section className="metric-group" data-testid="system-section" data-group="system">
      <h3>
        System <span className="muted">{charts.length}</span>
        {nodes.length > 0 && (
          <label className="system-node">
            {' '}
            Node{' '}
            <select
              data-testid="system-node"
              value={node ?? ''}
              onChange={(e) => setNode(e.target.value === '' ? undefined : e.target.value)}
            >
              {[['', "the run wrapper's node"], ...nodes.map((n) => [n, n])].map(([v, label]) => (
                <option key={v} value={v} label={label} />
              ))}
            </select>
          </label>
        )}
      </h3>
      {error && (
        <div className="banner banner-error" role="alert">
          {error}
        </div>
      )}
      <div className="chart-grid">
        {charts.map((c) => {
          const series: ChartSeries[] = c.keys.flatMap((k, i) => {
            const s = data!.series[k];
            if (!s) return [];
            const m = GPU_KEY.exec(k);
            return [
              {
                name: m ? `GPU ${m[1]}` : c.title,
                x: s.x,
                y: s.y,
                color: SERIES_COLORS[i % SERIES_COLORS.length]!,
              },
            ];
          });
          return (
            <Chart
              key={c.title}
              title={c.title}
              series={series}
              xMode={xMode}
              xRange={range}
              onZoom={setRange}
              revision={`${path}\nsystem\n${node ?? ''}\n${c.title}\n${xMode}`}
              legend={c.keys.length > 1}
              testId="system-chart"
            />
          );
        })}
      </div>
    </section>
  );
}
