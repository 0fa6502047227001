/** Plain data, no zod: the renderer imports it (see layering.test.ts). */

/**
 * Config values (dotted keys of the flattened config) every summary carries:
 * the seed's key hyperparameters (naming.py) and the ones every sweep varies.
 * The table shows and sorts and filters by these without reading configs;
 * any other key loads the configs on demand.
 */
export const LISTED_CONFIG_KEYS: readonly string[] = [
  'dpo.beta',
  'ppo.clip_ratio',
  'training.lr',
  'training.batch_size',
  'training.seed',
];
