/**
 * Alerts end to end (issue 13): the real `expdesk watch` follows a folder of
 * runs whose files change as a run's wrapper and training script change them;
 * each alert is printed once and posted to a webhook receiver on 127.0.0.1 —
 * one that fails at first and then recovers — and a restarted watch gives no
 * old alert again. Stalls are checked with a short threshold.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  endRun,
  runningRun,
  startWatch,
  until,
  webhookReceiver,
  type Receiver,
  type Watching,
} from '../helpers/alerts';
import { metricsLines, writeExperiment } from '../helpers/experiments';
import { tmpDir } from '../helpers/tmp';

const open: Array<Watching | Receiver> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await ('child' in o ? o.stop() : o.close());
});

const train = (step: number, loss: number | string): string =>
  `{"step": ${step}, "prefix": "train", "timestamp": "2026-01-01T00:00:0${step % 10}", "train/loss": ${loss}}\n`;

describe('expdesk watch', { timeout: 240_000 }, () => {
  it('prints and posts failed, NaN, completed once each; a failing webhook is retried; a restart repeats nothing', async () => {
    const root = path.join(tmpDir('expdesk-alerts-'), 'experiments');
    const env = { EXPDESK_STATE_DIR: tmpDir('expdesk-state-'), EXPDESK_CACHE_DIR: tmpDir() };
    const nan = runningRun(path.join(root, 'exp001_nan'), train(1, 0.9));
    const done = runningRun(path.join(root, 'exp002_done'), train(1, 0.9));
    const fails = runningRun(path.join(root, 'exp003_fails'), train(1, 0.9));
    // An old run, finished long before: opening it is no news.
    writeExperiment(path.join(root, 'exp000_old'), {
      metrics: metricsLines([{ step: 1, prefix: 'train', 'train/loss': 1 }]),
      status: {
        schema: 'expdesk.status/1',
        state: 'completed',
        ended_at: '2020-01-01T00:00:00',
        exit_code: 0,
      },
    });
    const receiver = await webhookReceiver(2);
    open.push(receiver);
    const w = await startWatch([root, '--webhook', receiver.url], env);
    open.push(w);

    appendFileSync(path.join(nan, 'logs', 'metrics.jsonl'), train(2, 0.8) + train(3, 'NaN'));
    endRun(done, 'completed', 0);
    writeFileSync(
      path.join(fails, 'FAILED.txt'),
      'Failed at step 7\nTraceback (most recent call last):\nboom\n',
    );
    endRun(fails, 'failed', 1);
    await until(
      () => w.lines().length >= 3,
      () => w.stdout + w.stderr,
    );
    // NaN again, in another metric line: the cause has been given for this run.
    appendFileSync(path.join(nan, 'logs', 'metrics.jsonl'), train(4, 'Infinity'));
    await until(
      () => receiver.accepted.length >= 3,
      () => `${receiver.accepted.length} posts; ${w.stderr}`,
    );
    const lines = w.lines();
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.includes('NONFINITE'))).toMatch(
      /exp001_nan: train\/loss turned NaN or ±Inf at step 3/,
    );
    expect(lines.find((l) => l.includes('COMPLETED'))).toContain('exp002_done: completed (1 steps)');
    expect(lines.find((l) => l.includes('FAILED'))).toContain('exp003_fails: failed at step 7');
    expect(lines.join('\n')).not.toContain('exp000_old');
    // The receiver refused twice, then got every alert once, as Slack's {"text": …}.
    expect(receiver.refused).toBe(2);
    const texts = (receiver.accepted as Array<{ text: string }>).map((p) => p.text).sort();
    expect(texts).toEqual([
      expect.stringMatching(/^exp001_nan: train\/loss turned NaN or ±Inf at step 3 \(/),
      expect.stringMatching(/^exp002_done: completed/),
      expect.stringMatching(/^exp003_fails: failed at step 7/),
    ]);
    expect(w.stderr).toMatch(/webhook 127\.0\.0\.1:\d+: HTTP 500; retrying in 1 s/);
    await w.stop();

    // Restarted: the old alerts are remembered; the next news (a new run that fails) is the only line.
    const again = await startWatch([root, '--webhook', receiver.url], env);
    open.push(again);
    const late = runningRun(path.join(root, 'exp004_late'), train(1, 0.5));
    endRun(late, 'failed', 3);
    await until(
      () => again.lines().length >= 1,
      () => again.stdout + again.stderr,
    );
    expect(again.lines()).toHaveLength(1);
    expect(again.lines()[0]).toMatch(/FAILED\s+exp004_late: failed \(exit code 3\)/);
  });

  it('a run with no new record and no log byte for the stall threshold is reported stalled, once', async () => {
    const root = path.join(tmpDir('expdesk-stall-'), 'experiments');
    const env = { EXPDESK_STATE_DIR: tmpDir('expdesk-state-'), EXPDESK_CACHE_DIR: tmpDir() };
    const quiet = runningRun(path.join(root, 'exp001_quiet'), train(1, 0.9));
    writeFileSync(path.join(quiet, 'logs', 'train.log'), 'step 1\n');
    const receiver = await webhookReceiver();
    open.push(receiver);
    const w = await startWatch([root, '--stall-after', '1', '--webhook', receiver.url], env);
    open.push(w);
    await until(
      () => w.lines().length >= 1,
      () => w.stdout + w.stderr,
    );
    expect(w.lines()[0]).toMatch(
      /STALLED\s+exp001_quiet: stalled: no new metrics and no log output for \d+ s/,
    );
    await until(
      () => receiver.accepted.length >= 1,
      () => w.stderr,
    );
    expect((receiver.accepted[0] as { text: string }).text).toMatch(/^exp001_quiet: stalled/);
    // Progress later does not undo it, and it is not said twice.
    appendFileSync(path.join(quiet, 'logs', 'train.log'), 'step 2\n');
    appendFileSync(path.join(quiet, 'logs', 'metrics.jsonl'), train(2, 0.8));
    endRun(quiet, 'completed', 0);
    await until(
      () => w.lines().length >= 2,
      () => w.stdout,
    );
    expect(w.lines().filter((l) => l.includes('STALLED'))).toHaveLength(1);
    expect(w.lines()[1]).toMatch(/COMPLETED\s+exp001_quiet/);
  });
});
