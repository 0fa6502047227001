/** The table's filter language and the column model: parsing, matching, sorting. */
import { describe, expect, it } from 'vitest';
import {
  durationMs,
  finalMetric,
  nextSort,
  runDuration,
  sortExperiments,
} from '../../../src/renderer/lib/columns';
import { formatRunDuration } from '../../../src/renderer/format';
import { MetricsFold } from '../../../src/shared/metrics-summary';
import { matches, parseQuery } from '../../../src/renderer/lib/query';
import { summary } from './fakes';

const stats = (last: number | null) => ({
  last,
  lastStep: 10,
  min: last,
  max: last,
  best: last,
  bestStep: 10,
  direction: 'min' as const,
  count: 10,
  nonFinite: 0,
});

describe('parseQuery', () => {
  it('splits words, conditions, statuses and quoted phrases', () => {
    expect(
      parseQuery('dpo "llama 7b" dpo.beta=0.1 training.lr<=1e-4 status:failed is:Running eval/loss<0.5'),
    ).toEqual({
      words: ['dpo', 'llama 7b'],
      conditions: [
        { key: 'dpo.beta', op: '=', value: '0.1' },
        { key: 'training.lr', op: '<=', value: '1e-4' },
        { key: 'eval/loss', op: '<', value: '0.5' },
      ],
      statuses: ['failed', 'running'],
      tags: [],
      starred: false,
      archived: false,
    });
  });
  it('keeps a key with nothing after the operator as a word, and ignores unknown statuses', () => {
    expect(parseQuery('beta= status:bogus')).toMatchObject({
      words: ['beta='],
      conditions: [],
      statuses: [],
    });
  });
});

describe('notes in the filter: tag:, starred, archived', () => {
  const notes = (tags: string[], starred: boolean, archived: boolean) => ({
    tags,
    note: '',
    starred,
    archived,
  });
  const base = summary({ path: '/ws/base', annotations: notes(['baseline', 'lr'], true, false) });
  const old = summary({ path: '/ws/old', annotations: notes(['baseline'], false, true) });
  const plain = summary({ path: '/ws/plain' });
  const shown = (q: string) =>
    [base, old, plain].filter((e) => matches(e, parseQuery(q), undefined)).map((e) => e.path);
  it('hides archived runs unless the filter says archived', () => {
    expect(shown('')).toEqual(['/ws/base', '/ws/plain']);
    expect(shown('archived')).toEqual(['/ws/old']);
  });
  it('filters by tags (all of them) and by star', () => {
    expect(shown('tag:baseline')).toEqual(['/ws/base']);
    expect(shown('tag:baseline archived')).toEqual(['/ws/old']);
    expect(shown('tag:baseline tag:lr')).toEqual(['/ws/base']);
    expect(shown('tag:nope')).toEqual([]);
    expect(shown('starred')).toEqual(['/ws/base']);
  });
});

describe('matches', () => {
  const e = summary({
    path: '/ws/exp001_dpo_llama',
    algorithm: 'dpo',
    model: 'meta/llama-7b',
    metrics: { 'eval/loss': stats(0.41) },
  });
  const config = { 'dpo.beta': 0.1, 'training.lr': 0.0001, 'model.name': 'meta/llama-7b' };

  it('needs every word in the name, folder, algorithm or model', () => {
    expect(matches(e, parseQuery('dpo LLAMA'), config)).toBe(true);
    expect(matches(e, parseQuery('dpo ppo'), config)).toBe(false);
  });
  it('compares config values as numbers when both sides are numbers', () => {
    expect(matches(e, parseQuery('dpo.beta=0.1'), config)).toBe(true);
    expect(matches(e, parseQuery('dpo.beta=1e-1'), config)).toBe(true);
    expect(matches(e, parseQuery('dpo.beta=0.05'), config)).toBe(false);
    expect(matches(e, parseQuery('training.lr<1e-3'), config)).toBe(true);
    expect(matches(e, parseQuery('dpo.beta!=0.1'), config)).toBe(false);
  });
  it('compares strings case-insensitively, and filters on metrics and fields', () => {
    expect(matches(e, parseQuery('model.name=META/LLAMA-7B'), config)).toBe(true);
    expect(matches(e, parseQuery('eval/loss<0.5'), config)).toBe(true);
    expect(matches(e, parseQuery('eval/loss>0.5'), config)).toBe(false);
    expect(matches(e, parseQuery('algorithm=dpo'), undefined)).toBe(true);
  });
  it('a missing key matches only !=', () => {
    expect(matches(e, parseQuery('ppo.clip_ratio=0.2'), config)).toBe(false);
    expect(matches(e, parseQuery('ppo.clip_ratio!=0.2'), config)).toBe(true);
    expect(matches(e, parseQuery('dpo.beta=0.1'), undefined)).toBe(false);
  });
  it('filters by status', () => {
    expect(matches(e, parseQuery('status:completed'), config)).toBe(true);
    expect(matches(e, parseQuery('status:failed status:running'), config)).toBe(false);
  });
});

describe('columns', () => {
  const a = summary({ path: '/a', total_steps: 30, final_loss: 0.2 });
  const b = summary({ path: '/b', total_steps: null, final_loss: null });
  const c = summary({ path: '/c', total_steps: 10, final_loss: 0.5 });
  const configs: Record<string, Record<string, number>> = {
    '/a': { 'dpo.beta': 0.1 },
    '/c': { 'dpo.beta': 0.05 },
  };
  const paths = (rows: { path: string }[]) => rows.map((r) => r.path);

  it('sorts numbers, keeps missing values last in both directions, and is stable', () => {
    const rows = [a, b, c];
    expect(paths(sortExperiments(rows, { column: 'steps', dir: 'asc' }, () => undefined, 0))).toEqual([
      '/c',
      '/a',
      '/b',
    ]);
    expect(paths(sortExperiments(rows, { column: 'steps', dir: 'desc' }, () => undefined, 0))).toEqual([
      '/a',
      '/c',
      '/b',
    ]);
    expect(
      paths(sortExperiments(rows, { column: 'cfg:dpo.beta', dir: 'asc' }, (p) => configs[p], 0)),
    ).toEqual(['/c', '/a', '/b']);
    expect(paths(sortExperiments(rows, null, () => undefined, 0))).toEqual(['/a', '/b', '/c']);
  });
  it('cycles a header: ascending, descending, off; Started starts newest first', () => {
    expect(nextSort(null, 'name')).toEqual({ column: 'name', dir: 'asc' });
    expect(nextSort({ column: 'name', dir: 'asc' }, 'name')).toEqual({ column: 'name', dir: 'desc' });
    expect(nextSort({ column: 'name', dir: 'desc' }, 'name')).toBeNull();
    expect(nextSort(null, 'started')).toEqual({ column: 'started', dir: 'desc' });
    expect(nextSort({ column: 'started', dir: 'desc' }, 'started')).toEqual({
      column: 'started',
      dir: 'asc',
    });
  });
  it('computes durations from the status times, and running ones up to now', () => {
    const done = summary({
      path: '/d',
      status: {
        state: 'completed',
        source: 'status-file',
        reason: '',
        startedAt: '2024-01-01T10:00:00',
        endedAt: '2024-01-01T10:02:30',
      },
    });
    expect(durationMs(done, 0)).toBe(150_000);
    const start = Date.parse('2024-01-01T10:00:00');
    const running = summary({
      path: '/r',
      status: { state: 'running', source: 'status-file', reason: '', startedAt: '2024-01-01T10:00:00' },
    });
    expect(durationMs(running, start + 5_000)).toBe(5_000);
    expect(durationMs(summary({ path: '/u' }), 0)).toBeNull();
  });
  it('infers a duration from timestamps where Expdesk did not launch the run, and labels it', () => {
    // The seed's own failed run: FAILED.txt, metadata's start, metrics records; no status file.
    const fold = new MetricsFold();
    fold.add({ step: 1, prefix: 'train', timestamp: '2024-01-01T10:00:30', 'train/loss': 1 });
    fold.add({ step: 2, prefix: 'train', timestamp: '2024-01-01T10:12:00', 'train/loss': 1 });
    const recordTimes = { first: fold.state.firstTimestamp ?? null, last: fold.state.lastTimestamp };
    expect(recordTimes).toEqual({ first: '2024-01-01T10:00:30', last: '2024-01-01T10:12:00' });
    const failed = { state: 'failed' as const, source: 'failed-file' as const, reason: '', failedAtStep: 2 };
    const seedRun = summary({ path: '/s', status: failed, startedAt: '2024-01-01T10:00:00', recordTimes });
    expect(runDuration(seedRun, 0)).toEqual({ ms: 12 * 60_000, inferred: true });
    const shown = formatRunDuration(runDuration(seedRun, 0));
    expect(shown.text).toBe('~12m 00s');
    expect(shown.title).toMatch(/^inferred from timestamps/);
    // No start in metadata: from the first record.
    expect(runDuration(summary({ path: '/t', status: failed, recordTimes }), 0)).toEqual({
      ms: 11.5 * 60_000,
      inferred: true,
    });
    // Launched by Expdesk: the status file's times, not labelled.
    const launched = summary({
      path: '/l',
      status: {
        ...failed,
        source: 'status-file',
        startedAt: '2024-01-01T10:00:00',
        endedAt: '2024-01-01T10:01:00',
      },
      recordTimes,
    });
    expect(formatRunDuration(runDuration(launched, 0))).toEqual({ text: '1m 00s' });
  });
  it('takes a final metric from the last eval record first', () => {
    const e = summary({
      path: '/e',
      final_eval: { 'eval/loss': 0.3 },
      metrics: { 'eval/loss': stats(0.9), 'train/loss': stats(0.7) },
    });
    expect(finalMetric(e, 'eval/loss')).toBe(0.3);
    expect(finalMetric(e, 'train/loss')).toBe(0.7);
    expect(finalMetric(e, 'nope')).toBeUndefined();
  });
});
