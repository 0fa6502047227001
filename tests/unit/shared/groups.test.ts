import { describe, expect, it } from 'vitest';
import { allButSeedKeys, groupRuns, isSeedKey } from '../../../src/shared/groups';
import type { ExperimentSummary } from '../../../src/shared/model';

describe('the seed rule ("everything but the seed")', () => {
  it('names seed keys at any depth, in the spellings training scripts use', () => {
    for (const k of ['seed', 'training.seed', 'random_seed', 'data.shuffle_seed', 'SEED', 'trainer.seeds'])
      expect(isSeedKey(k), k).toBe(true);
    for (const k of ['seedling', 'dpo.beta', 'training.seed_lr', 'reseed_every', 'seed.value'])
      expect(isSeedKey(k), k).toBe(false);
  });

  it('groups by every differing key but seeds, names and output folders (flat or nested configs)', () => {
    const flat = [
      { 'experiment.name': 'a', 'dpo.beta': 0.1, 'training.seed': 1, random_seed: 7, 'training.lr': 1 },
      { 'experiment.name': 'b', 'dpo.beta': 0.1, 'training.seed': 2, random_seed: 8, 'training.lr': 1 },
      { 'experiment.name': 'c', 'dpo.beta': 0.5, 'training.seed': 1, random_seed: 9, 'training.lr': 2 },
    ];
    expect(allButSeedKeys(flat)).toEqual(['dpo.beta', 'training.lr']);
    const summary = (name: string): ExperimentSummary =>
      ({ name, metrics: {} }) as unknown as ExperimentSummary;
    const groups = groupRuns(
      flat.map((config) => ({ summary: summary(String(config['experiment.name'])), config })),
      allButSeedKeys(flat),
    );
    expect(groups.map((g) => g.experiments)).toEqual([['a', 'b'], ['c']]);
  });
});
