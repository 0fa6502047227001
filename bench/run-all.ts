/** `npm run bench`: every benchmark, figures and ratios against same-run baselines. */
import { benchChartOverlay } from './chart-overlay';
import { benchCliStartup } from './cli-startup';
import { benchListing } from './listing';
import { benchMetricsIngest } from './metrics-ingest';
import { benchMetricsMemory } from './metrics-memory';
import { benchMetricsSeries } from './metrics-series';
import { benchRemoteListing } from './remote-listing';
import { report } from './report';
import { benchRunStartup } from './run-startup';
import { benchSlurmListing } from './slurm-listing';
import { benchSystemSampling } from './system-sampling';
import { benchUiRender } from './ui-render';
import { benchTfeventsSummary } from './tfevents-summary';
import { benchRemoteTfevents } from './remote-tfevents';
import { benchGroupSeries } from './group-series';
import { benchUiListing } from './ui-listing';

const only = process.argv[2];
const benches: Record<string, () => Promise<import('./report').BenchResult[]>> = {
  'metrics-ingest': benchMetricsIngest,
  'metrics-series': benchMetricsSeries,
  'metrics-memory': benchMetricsMemory,
  'run-startup': benchRunStartup,
  'remote-listing': benchRemoteListing,
  'ui-render': benchUiRender,
  'slurm-listing': benchSlurmListing,
  'tfevents-summary': benchTfeventsSummary,
  'system-sampling': benchSystemSampling,
  'cli-startup': benchCliStartup,
  listing: benchListing,
  'chart-overlay': benchChartOverlay,
  'remote-tfevents': benchRemoteTfevents,
  'group-series': benchGroupSeries,
  'ui-listing': benchUiListing,
};

for (const [name, run] of Object.entries(benches)) {
  if (only && only !== name) continue;
  process.stdout.write(`\n== ${name} ==\n`);
  report(await run());
}
