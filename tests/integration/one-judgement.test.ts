/**
 * Issue 16, requirement 2: one judgement per folder. `expdesk show` on a deep
 * config.yaml said 1 problem with an empty cache and 35 after `expdesk list`
 * had filled it; a 30 MB metrics line gave "Records 0" and no problem; records
 * of the wrong type were dropped without a word; a binary metrics file dumped
 * its bytes; a NaN loss and a missing loss both read "NaN". Here the real CLI
 * judges a set of damaged folders listing-first, detail-first and with no
 * cache: the problems must be the same every way, each in words (never a
 * runtime's error text, never raw bytes), and each kind of damage reported.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli-async';
import { tmpDir } from '../helpers/tmp';

const METRICS = 'logs/metrics.jsonl';
const CONFIG = 'experiment:\n  name: exp001_dpo_llama-7b_beta0.1_1201_0620\nalgorithm:\n  name: dpo\n';
const rec = (step: number, loss: number | string = 1 / step, extra = ''): string =>
  `{"step": ${step}, "prefix": "train", "train/loss": ${loss}${extra}}\n`;
const good = rec(1) + rec(2) + rec(3) + rec(4) + rec(5);

const FOLDERS: Record<string, Record<string, string | Buffer>> = {
  deep_config: {
    'config.yaml': 'x: ' + '{a: '.repeat(20_000) + '1' + '}'.repeat(20_000) + '\n',
    [METRICS]: good,
  },
  long_line: { [METRICS]: good + rec(6, 0.1, `, "pad": "${'x'.repeat(30 * 1024 * 1024)}"`) + rec(7, 0.05) },
  wrong_types: {
    [METRICS]:
      good + '{"step": "six", "prefix": "train", "train/loss": 0.2}\n' + rec(7, '"low"') + rec(8, 0.1),
  },
  binary: { [METRICS]: Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 131) % 256)) },
  nan_loss: { [METRICS]: good + rec(6, 'NaN') },
  inf_loss: { [METRICS]: good + rec(6, '-Infinity') },
  no_loss: { [METRICS]: '{"step": 1, "prefix": "train", "train/acc": 0.5}\n' },
  bad_metadata: { 'metadata.json': '{"name": "x",\n  oops}\n', [METRICS]: good },
  many_bad_lines: { [METRICS]: good + 'not json\n'.repeat(40) + rec(6) },
};

interface Listed {
  folder: string;
  path: string;
  final_loss: number | null;
  final_loss_nonfinite: string | null;
  diverged: { metric: string; step: number | null; value: string } | null;
  total_steps: number | null;
  problems: Array<{ file: string; line?: number; message: string; count?: number }>;
}

let root: string;

afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-judgement-'));
  for (const [name, files] of Object.entries(FOLDERS)) {
    const dir = path.join(root, name);
    mkdirSync(path.join(dir, 'logs'), { recursive: true });
    if (!('config.yaml' in files)) writeFileSync(path.join(dir, 'config.yaml'), CONFIG);
    for (const [rel, data] of Object.entries(files)) writeFileSync(path.join(dir, rel), data);
  }
});

async function list(cache: string): Promise<Map<string, Listed>> {
  const r = await cli(['list', root, '--json'], { EXPDESK_CACHE_DIR: cache });
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout) as { experiments: Listed[] };
  return new Map(out.experiments.map((e) => [e.folder, e]));
}

async function show(cache: string): Promise<Map<string, Listed>> {
  // Three at a time: each its own process, as a user running them one after another would.
  const out = new Map<string, Listed>();
  const names = Object.keys(FOLDERS);
  for (let i = 0; i < names.length; i += 3) {
    const batch = names.slice(i, i + 3);
    const results = await Promise.all(
      batch.map((name) => cli(['show', path.join(root, name), '--json'], { EXPDESK_CACHE_DIR: cache })),
    );
    results.forEach((r, j) => {
      expect(r.code, r.stderr).toBe(0);
      out.set(batch[j]!, (JSON.parse(r.stdout) as { summary: Listed }).summary);
    });
  }
  return out;
}

/** A runtime's words, or bytes that are not text. */
const INTERNAL = /RangeError|TypeError|SyntaxError|call stack|ERR_|\bat position\b|Unexpected token|\n\s+at /;
// eslint-disable-next-line no-control-regex -- control characters are what must not reach the user
const CONTROL = /[\u0000-\u0008\u000b-\u001f\ufffd]/;

describe('one judgement per folder (listing, detail and the cache between them)', () => {
  it('reports the same problems listing-first and detail-first (uncached), each in words', async () => {
    const listFirstCache = tmpDir();
    const listedFirst = await list(listFirstCache);
    const shownAfterList = await show(listFirstCache);
    const showFirstCache = tmpDir();
    const shownFirst = await show(showFirstCache);
    const listedAfterShow = await list(showFirstCache);
    for (const name of Object.keys(FOLDERS)) {
      const problems = listedFirst.get(name)!.problems;
      expect(shownAfterList.get(name)!.problems, name).toEqual(problems);
      expect(shownFirst.get(name)!.problems, name).toEqual(problems);
      expect(listedAfterShow.get(name)!.problems, name).toEqual(problems);
      for (const p of problems) {
        expect(p.message, name).not.toMatch(INTERNAL);
        expect(p.message, name).not.toMatch(CONTROL);
      }
      // Each distinct problem once.
      const keys = problems.map((p) => `${p.file}:${p.message}`);
      expect(new Set(keys).size, name).toBe(keys.length);
    }

    const of = (name: string): Listed => listedFirst.get(name)!;
    expect(of('deep_config').problems).toEqual([
      expect.objectContaining({
        file: 'config.yaml',
        line: 1,
        message: 'config.yaml is nested deeper than 100 levels',
      }),
    ]);
    // The 30 MB line: its size and line number, and the rest read (step 7 is the last).
    expect(of('long_line').problems).toEqual([
      {
        file: METRICS,
        line: 6,
        message: expect.stringMatching(/line of 30\.0 MiB skipped.*the rest was read/),
      },
    ]);
    expect(of('long_line').total_steps).toBe(7);
    // Wrong-typed records: counted, with the first line, the rest of their values kept.
    expect(of('wrong_types').problems).toEqual([
      {
        file: METRICS,
        line: 6,
        message: expect.stringMatching(
          /^2 records have values of the wrong type \(first: "step" is a string\)/,
        ),
      },
    ]);
    expect(of('wrong_types').total_steps).toBe(8);
    expect(of('binary').problems).toEqual([
      {
        file: METRICS,
        line: 1,
        message: expect.stringMatching(/^binary, \d+ bytes \(\d+ lines\) skipped/),
      },
    ]);
    // Diverged: marked, with the value kept apart from a missing loss.
    expect(of('nan_loss').diverged).toEqual({ metric: 'train/loss', step: 6, value: 'NaN', line: 6 });
    expect(of('nan_loss').final_loss_nonfinite).toBe('NaN');
    expect(of('inf_loss').final_loss_nonfinite).toBe('-Infinity');
    expect(of('inf_loss').problems[0]!.message).toBe('diverged: train/loss is -Infinity at step 6');
    expect(of('no_loss')).toMatchObject({
      final_loss: null,
      final_loss_nonfinite: null,
      diverged: null,
      problems: [],
    });
    expect(of('bad_metadata').problems).toEqual([
      {
        file: 'metadata.json',
        line: 2,
        column: expect.any(Number),
        message: 'metadata.json is not valid JSON',
      },
    ]);
    expect(of('many_bad_lines').problems).toEqual([
      { file: METRICS, line: 6, message: '40 lines are not valid JSON: skipped' },
    ]);
  }, 300_000);

  it('shows a missing loss as —, a diverged one as NaN or -Inf, and never dumps bytes', async () => {
    const r = await cli(['list', root], { EXPDESK_CACHE_DIR: tmpDir() });
    expect(r.code, r.stderr).toBe(0);
    const row = (name: string): string => r.stdout.split('\n').find((l) => l.includes(` ${name} `))!;
    expect(row('no_loss')).not.toMatch(/NaN/);
    expect(row('nan_loss')).toMatch(/\bNaN\b/);
    expect(row('inf_loss')).toMatch(/-Inf\b/);
    expect(r.stdout).not.toMatch(CONTROL);
    expect(r.stdout).not.toMatch(/\\x[0-9a-f]{2}/);
  });
});
