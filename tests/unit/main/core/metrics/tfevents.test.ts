import { appendFileSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetricsFeeds } from '../../../../../src/main/core/metrics/metrics-feed';
import { SeriesStore } from '../../../../../src/main/core/metrics/series-store';
import { SummaryStore } from '../../../../../src/main/core/summary/summary-store';
import { discoverExperiments } from '../../../../../src/main/core/workspace/discover';
import { readExperimentDetail } from '../../../../../src/main/core/workspace/experiment';
import { eventFile, record, eventBytes } from '../../../../helpers/tfevents';
import { tmpDir } from '../../../../helpers/tmp';

const FIXTURE = path.resolve(__dirname, '../../../../fixtures/tfevents/simple_value');

function stores(): { summaries: SummaryStore; series: SeriesStore; feeds: MetricsFeeds } {
  const feeds = new MetricsFeeds();
  return {
    summaries: new SummaryStore({ cacheDir: false, feeds }),
    series: new SeriesStore({ feeds }),
    feeds,
  };
}

const f32 = (v: number): number => Math.fround(v);

describe('TensorBoard event files', () => {
  it('reads the tensorboardX fixture: every scalar, +Inf kept and counted', async () => {
    const { summaries, series } = stores();
    const s = await summaries.summarize(FIXTURE);
    // The train loss ends at +Inf: the run is marked diverged, at the event files (they have no lines).
    expect(s.problems).toEqual([
      { file: 'events.out.tfevents.*', message: 'diverged: Loss/train is Infinity at step 500' },
    ]);
    expect(s.records).toBe(211);
    expect(s.total_steps).toBe(500);
    expect(s.metrics['Loss/train']).toMatchObject({ count: 101, nonFinite: 1, lastStep: 500, bestStep: 495 });
    expect(s.metrics['Loss/train']!.min).toBeCloseTo(f32(1 / (1 + 495 / 50)), 7);
    expect(s.metrics.lr).toMatchObject({ count: 100, nonFinite: 0, min: f32(0.001), max: f32(0.001) });
    expect(s.metrics['Accuracy/val']).toMatchObject({ count: 10, last: f32(0.9), lastStep: 450 });

    const q = await series.query(FIXTURE, { x: 'step', buckets: 10_000 });
    expect(q.keys).toEqual(['Accuracy/val', 'Loss/train', 'lr']);
    const loss = q.series['Loss/train']!;
    expect(loss.x.slice(0, 3)).toEqual([0, 5, 10]);
    for (let i = 0; i < 100; i++) {
      const step = i * 5;
      expect(Math.abs(loss.y[i]! - f32(1 / (1 + step / 50)))).toBeLessThan(1e-7);
    }
    expect(q.series['Accuracy/val']!.x).toEqual([0, 50, 100, 150, 200, 250, 300, 350, 400, 450]);
  });

  it('lists a TensorBoard run beside a seed folder, with hparams as its config', async () => {
    const root = tmpDir();
    mkdirSync(path.join(root, 'seed_run', 'logs'), { recursive: true });
    writeFileSync(path.join(root, 'seed_run', 'config.yaml'), 'training:\n  lr: 0.1\n');
    mkdirSync(path.join(root, 'tb_run'));
    writeFileSync(
      path.join(root, 'tb_run', 'events.out.tfevents.1.host'),
      eventFile([
        { step: 0, values: [{ hparams: { 'training.lr': 0.01, optimizer: 'adam', amp: true } }] },
        { step: 1, values: [{ tag: 'loss', simple: 2 }] },
      ]),
    );
    mkdirSync(path.join(root, 'not_a_run')); // a folder without markers or event files stays out
    const d = await discoverExperiments(root);
    expect(d.experiments.map((e) => path.basename(e))).toEqual(['seed_run', 'tb_run']);

    const { summaries } = stores();
    const detail = await readExperimentDetail(path.join(root, 'tb_run'), summaries);
    expect(detail.config).toEqual({ 'training.lr': 0.01, optimizer: 'adam', amp: true });
    expect(detail.summary.params).toEqual({ 'training.lr': 0.01 });
    expect(detail.summary.metrics.loss!.last).toBe(2);
  });

  it('reads TensorFlow 2 tensor scalars (metadata only with the first value), float and double', async () => {
    const dir = tmpDir();
    writeFileSync(
      path.join(dir, 'events.out.tfevents.2.host'),
      eventFile([
        {
          step: 1,
          values: [
            { tag: 'eval/acc', tensor: 0.5 },
            { tag: 'd', tensor: 0.1, dtype: 'double' },
          ],
        },
        { step: 2, values: [{ tag: 'eval/acc', tensor: 0.75, withMetadata: false }] },
        { step: 3, values: [{ tag: 'eval/acc', tensor: 0.875, withMetadata: false }] },
        // A tensor of a tag never declared a scalar is not one.
        { step: 3, values: [{ tag: 'unknown', tensor: 1, withMetadata: false }] },
      ]),
    );
    const s = await stores().summaries.summarize(dir);
    expect(s.metrics['eval/acc']).toMatchObject({ count: 3, last: 0.875, max: 0.875 });
    expect(s.metrics.d!.last).toBe(0.1);
    expect(s.metrics.unknown).toBeUndefined();
  });

  it('keeps NaN and ±Inf and counts them', async () => {
    const dir = tmpDir();
    writeFileSync(
      path.join(dir, 'events.out.tfevents.3.host'),
      eventFile(
        [NaN, Infinity, -Infinity, 1].map((v, i) => ({ step: i, values: [{ tag: 'loss', simple: v }] })),
      ),
    );
    const s = await stores().summaries.summarize(dir);
    expect(s.metrics.loss).toMatchObject({ count: 4, nonFinite: 3, last: 1 });
  });

  it('reports a damaged record with its file and byte offset, and reads the rest', async () => {
    const dir = tmpDir();
    const recs = [0, 1, 2, 3, 4].map((step) =>
      record(eventBytes(step, 1e9, [{ tag: 'loss', simple: step }])),
    );
    const badData = Buffer.from(recs[1]!);
    badData[20] = badData[20]! ^ 0xff; // inside the data
    const badLength = Buffer.from(recs[3]!);
    badLength[9] = badLength[9]! ^ 0xff; // inside the length's checksum
    const file = path.join(dir, 'events.out.tfevents.4.host');
    writeFileSync(file, Buffer.concat([recs[0]!, badData, recs[2]!, badLength, recs[4]!]));
    const s = await stores().summaries.summarize(dir);
    const at1 = recs[0]!.length;
    const at3 = at1 + recs[1]!.length + recs[2]!.length;
    expect(s.problems).toEqual([
      {
        file: 'events.out.tfevents.4.host',
        message: `damaged record at byte ${at1}: data checksum mismatch`,
      },
      {
        file: 'events.out.tfevents.4.host',
        message: `damaged record at byte ${at3}: length checksum mismatch`,
      },
    ]);
    expect(s.malformedLines).toBe(2);
    expect(s.metrics.loss).toMatchObject({ count: 3, last: 4 });
  });

  it('reads a file being written up to its last whole record, then only what was appended', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'events.out.tfevents.5.host');
    const whole = eventFile([1, 2, 3, 4].map((step) => ({ step, values: [{ tag: 'loss', simple: step }] })));
    const cut = whole.length - 10; // the writer is mid-record
    writeFileSync(file, whole.subarray(0, cut));
    const { summaries, feeds } = stores();
    const first = await summaries.summarize(dir);
    expect(first.problems).toEqual([]);
    expect(first.metrics.loss).toMatchObject({ count: 3, last: 3 });
    const bytesBefore = feeds.counters.bytes;
    appendFileSync(file, whole.subarray(cut));
    const second = await summaries.summarize(dir);
    expect(second.problems).toEqual([]);
    expect(second.metrics.loss).toMatchObject({ count: 4, last: 4 });
    // Only the last record's bytes were read again.
    expect(feeds.counters.bytes - bytesBefore).toBe(whole.length - lastRecordStart(whole));
  });

  it('merges several event files of one run by step', async () => {
    const dir = tmpDir();
    const write = (name: string, steps: number[]): void =>
      writeFileSync(
        path.join(dir, name),
        eventFile(steps.map((step) => ({ step, values: [{ tag: 'loss', simple: step * 10 }] }))),
      );
    write('events.out.tfevents.100.host', [0, 2, 4]);
    write('events.out.tfevents.200.host', [1, 3, 5]);
    const { series } = stores();
    const q = await series.query(dir, { x: 'step', buckets: 100 });
    expect(q.series.loss!.x).toEqual([0, 1, 2, 3, 4, 5]);
    expect(q.series.loss!.y).toEqual([0, 10, 20, 30, 40, 50]);
  });

  it('reads the fixture byte for byte as copied (no write into the folder)', async () => {
    const dir = tmpDir();
    const name = 'events.out.tfevents.1796107104.vm';
    copyFileSync(path.join(FIXTURE, name), path.join(dir, name));
    const before = readFileSync(path.join(dir, name));
    await stores().summaries.summarize(dir);
    expect(readFileSync(path.join(dir, name)).equals(before)).toBe(true);
  });
});

/** Where the last record of a file built by eventFile starts. */
function lastRecordStart(file: Buffer): number {
  let at = 0;
  let last = 0;
  while (at < file.length) {
    last = at;
    at += 12 + Number(file.readBigUInt64LE(at)) + 4;
  }
  return last;
}
