/**
 * Issue 15 I and I2: a metadata.json nested 20,000 levels gave "Maximum call
 * stack size exceeded" in show, and a config.yaml nested as deep made
 * `expdesk show` abort about one time in five (V8 out of memory in the YAML
 * parser, exit 134). The crash was intermittent, so each case runs the real
 * CLI 20 times, each with an empty cache, in parallel batches; every run must
 * exit 0 with one clear problem naming the file and line. The listing and the
 * detail must judge the file the same way (one problem, same text).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers/tmp';
import { cli } from '../helpers/cli-async';

const RUNS = 20;
const BATCH = 4;

/** config.yaml / metadata.json texts nested far too deep, each under the 16 MiB read limit. */
const CASES: Array<{ name: string; file: string; text: () => string; line: number }> = [
  {
    name: 'block YAML, 5,000 levels',
    file: 'config.yaml',
    text: () => Array.from({ length: 5000 }, (_, i) => ' '.repeat(i) + 'a:').join('\n') + ' 1\n',
    line: 101,
  },
  {
    name: 'flow YAML, 20,000 levels',
    file: 'config.yaml',
    text: () => 'experiment:\n  name: deep\nx: ' + '{a: '.repeat(20_000) + '1' + '}'.repeat(20_000) + '\n',
    line: 3,
  },
  {
    name: 'JSON, 20,000 levels',
    file: 'metadata.json',
    text: () => '{"name": "deep",\n "x": ' + '{"a": '.repeat(20_000) + '1' + '}'.repeat(20_000) + '}',
    line: 2,
  },
];

interface Detail {
  summary: { problems: Array<{ file: string; line?: number; message: string }> };
}

describe('deeply nested config.yaml and metadata.json', () => {
  for (const c of CASES) {
    it(`${c.name}: show refuses it with one problem, ${RUNS} times out of ${RUNS}`, async () => {
      const dir = path.join(tmpDir(), 'deep');
      mkdirSync(path.join(dir, 'logs'), { recursive: true });
      writeFileSync(path.join(dir, c.file), c.text());
      if (c.file !== 'config.yaml')
        writeFileSync(path.join(dir, 'config.yaml'), 'experiment:\n  name: deep\n');
      const expected = [
        {
          file: c.file,
          line: c.line,
          column: expect.any(Number),
          message: `${c.file} is nested deeper than 100 levels`,
        },
      ];
      for (let done = 0; done < RUNS; done += BATCH) {
        const batch = await Promise.all(
          Array.from({ length: BATCH }, () => cli(['show', dir, '--json'], { EXPDESK_CACHE_DIR: tmpDir() })),
        );
        for (const r of batch) {
          expect(r.signal, r.stderr).toBeNull();
          expect(r.code, r.stderr).toBe(0);
          expect((JSON.parse(r.stdout) as Detail).summary.problems).toEqual(expected);
        }
      }
      // The listing fills the cache; show afterwards reports the very same problem.
      const cache = tmpDir();
      const list = await cli(['list', path.dirname(dir), '--json'], { EXPDESK_CACHE_DIR: cache });
      expect(list.code, list.stderr).toBe(0);
      const listed = JSON.parse(list.stdout) as { experiments: Array<{ problems: unknown }> };
      expect(listed.experiments[0]!.problems).toEqual(expected);
      const after = await cli(['show', dir, '--json'], { EXPDESK_CACHE_DIR: cache });
      expect((JSON.parse(after.stdout) as Detail).summary.problems).toEqual(expected);
      // Compare still works with the deep file among its inputs.
      const other = path.join(path.dirname(dir), 'other');
      mkdirSync(other);
      writeFileSync(path.join(other, 'config.yaml'), 'experiment:\n  name: other\n');
      const compare = await cli(['compare', dir, other, '--json'], { EXPDESK_CACHE_DIR: cache });
      expect(compare.code, compare.stderr).toBe(0);
    }, 300_000);
  }
});
