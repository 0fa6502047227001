/** `npm run bench`: every benchmark, figures and ratios against same-run baselines. */
import { benchMetricsIngest } from './metrics-ingest';
import { report } from './report';
import { benchRunStartup } from './run-startup';

const only = process.argv[2];
const benches: Record<string, () => Promise<import('./report').BenchResult[]>> = {
  'metrics-ingest': benchMetricsIngest,
  'run-startup': benchRunStartup,
};

for (const [name, run] of Object.entries(benches)) {
  if (only && only !== name) continue;
  process.stdout.write(`\n== ${name} ==\n`);
  report(await run());
}
