/** shared/rank-logs.ts: which log file is which rank's, from the names alone. */
import { describe, expect, it } from 'vitest';
import { isLogName, logForRank, rankLogs, rankOfLogName, ranksOf } from '../../../src/shared/rank-logs';

describe('rank logs', () => {
  const names = [
    'train.log',
    'slurm-99-1.out',
    'train_rank10.log',
    'train_rank1.log',
    'slurm-100-1.out',
    'slurm-100_3-0.out',
    'notes.txt',
    'slurm-abc-1.out',
    'train_rank0.log',
  ];

  it("reads the seed's train_rankN.log and SLURM's slurm-<job>-<task>.out (job arrays too)", () => {
    expect(rankOfLogName('train_rank3.log')).toEqual({
      name: 'train_rank3.log',
      rank: 3,
      source: 'seed',
      job: null,
    });
    expect(rankOfLogName('slurm-123_4-2.out')).toEqual({
      name: 'slurm-123_4-2.out',
      rank: 2,
      source: 'slurm',
      job: '123_4',
    });
    expect(rankOfLogName('train.log')).toBeNull();
    expect(rankOfLogName('slurm-abc-1.out')).toBeNull();
    expect(isLogName('slurm-7-0.out')).toBe(true);
    expect(isLogName('other.out')).toBe(false);
  });

  it('orders by rank, the seed log first, then the newest job', () => {
    expect(rankLogs(names).map((r) => r.name)).toEqual([
      'train_rank0.log',
      'slurm-100_3-0.out',
      'train_rank1.log',
      'slurm-100-1.out',
      'slurm-99-1.out',
      'train_rank10.log',
    ]);
    expect(ranksOf(names)).toEqual([0, 1, 10]);
    expect(logForRank(names, 1)).toBe('train_rank1.log');
    expect(logForRank(['slurm-99-1.out', 'slurm-100-1.out'], 1)).toBe('slurm-100-1.out');
    expect(logForRank(names, 2)).toBeNull();
  });
});
