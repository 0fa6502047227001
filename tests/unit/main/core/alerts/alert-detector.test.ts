/**
 * The alert detector's rules with an injected clock: the stall threshold is
 * max(the floor, 10 × the median interval between records); a growing log is
 * progress; each cause fires once per run, also for a second detector (a
 * restart) over the same state folder; old runs never seen running are quiet.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AlertDetector, type Alert } from '../../../../../src/main/core/alerts/alert-detector';
import { AlertStore } from '../../../../../src/main/core/alerts/alert-store';
import type { ExperimentSummary, ExperimentState } from '../../../../../src/shared/model';
import { tmpDir } from '../../../../helpers/tmp';

function summary(
  state: ExperimentState,
  records: number,
  extra: Partial<ExperimentSummary> = {},
): ExperimentSummary {
  return {
    path: '/runs/exp001_a',
    folder: 'exp001_a',
    name: 'exp001_a',
    algorithm: null,
    model: null,
    total_steps: records,
    final_loss: null,
    final_eval: null,
    status: { state, source: 'status-file', reason: '' },
    startedAt: null,
    gitHash: null,
    gitDirty: null,
    metrics: {},
    records,
    malformedLines: 0,
    problems: [],
    ...extra,
  };
}

function detector(stateDir: string, clock: { t: number }, minStallMs = 5 * 60_000) {
  const fired: Alert[] = [];
  const d = new AlertDetector({
    store: new AlertStore(path.join(stateDir, 'alerts')),
    fire: (a) => fired.push(a),
    now: () => clock.t,
    minStallMs,
  });
  return { d, fired };
}

describe('AlertDetector', () => {
  it('waits max(5 min, 10 × the median record interval) of silence before a stall, and a growing log counts', () => {
    const clock = { t: 0 };
    const { d, fired } = detector(tmpDir(), clock);
    d.observe(summary('running', 1));
    // A record a minute: the threshold is 10 minutes, not 5.
    for (let i = 2; i <= 6; i++) {
      clock.t += 60_000;
      d.observe(summary('running', i));
    }
    expect(d.stallThresholdMs('/runs/exp001_a')).toBe(600_000);
    clock.t += 599_000;
    d.check();
    expect(fired).toEqual([]);
    // The log grew: progress, the clock starts again.
    d.logActivity('/runs/exp001_a', 'train.log:10');
    d.logActivity('/runs/exp001_a', 'train.log:20');
    clock.t += 599_000;
    d.check();
    expect(fired).toEqual([]);
    clock.t += 2000;
    d.check();
    d.check();
    expect(fired.map((a) => a.cause)).toEqual(['stalled']);
    expect(fired[0]!.text).toBe('exp001_a: stalled: no new metrics and no log output for 10 min');
  });

  it('fires each cause once per run, across a restart, and keeps quiet about runs that ended before', () => {
    const state = tmpDir();
    const clock = { t: Date.now() };
    const first = detector(state, clock);
    const nan = {
      metrics: {
        'train/loss': {
          last: null,
          lastStep: 9,
          min: 0.1,
          max: 1,
          best: 0.1,
          bestStep: 3,
          direction: 'min' as const,
          count: 9,
          nonFinite: 1,
        },
      },
    };
    first.d.observe(summary('running', 9, nan));
    first.d.observe(summary('running', 10, nan));
    first.d.observe(
      summary('failed', 10, {
        ...nan,
        status: { state: 'failed', source: 'failed-file', reason: '', failedAtStep: 10 },
      }),
    );
    expect(first.fired.map((a) => a.text)).toEqual([
      'exp001_a: train/loss turned NaN or ±Inf at step 9',
      'exp001_a: failed at step 10',
    ]);
    // Restarted: the same run, the same facts — nothing new.
    const second = detector(state, clock);
    second.d.observe(summary('failed', 10, nan));
    expect(second.fired).toEqual([]);
    // A run that ended long before and was never seen running: no news.
    const old = detector(tmpDir(), clock);
    old.d.observe(
      summary('completed', 5, {
        status: { state: 'completed', source: 'status-file', reason: '', endedAt: '2020-01-01T00:00:00' },
      }),
    );
    expect(old.fired).toEqual([]);
  });
});
