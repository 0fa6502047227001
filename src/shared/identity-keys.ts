/**
 * Config keys that name the run itself — its name, its folder, its tracker
 * id — and so differ between any two runs by nature. Comparisons leave them
 * out of "keys that differ" by default (the interface's "show all keys" and
 * the Diff view's toggle bring them back): they say nothing about why two
 * results differ. Exact dotted keys, so `model.name` or `algorithm.name`
 * (real settings) are never hidden.
 */
export const ALWAYS_DIFFER_KEYS: readonly string[] = [
  'name',
  'output_dir',
  'out_dir',
  'run_name',
  'run_id',
  'experiment.name',
  'experiment.output_dir',
  'experiment.dir',
  'experiment.run_name',
  'experiment.id',
  'logging.run_name',
  'wandb.name',
  'wandb.run_name',
  'wandb.id',
  'hydra.run.dir',
  'hydra.job.name',
];

const SET = new Set(ALWAYS_DIFFER_KEYS);

/** True for a flattened config key that names the run rather than a setting. */
export function isAlwaysDifferKey(key: string): boolean {
  return SET.has(key);
}
