/** verifyRuns on files: folders, bundles or metrics.jsonl paths; bad lines reported, not fatal. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyRuns } from '../../../../../src/main/core/verify/verify';
import { tmpDir } from '../../../../helpers/tmp';

function run(lines: string[]): string {
  const dir = tmpDir();
  mkdirSync(path.join(dir, 'logs'));
  writeFileSync(path.join(dir, 'logs', 'metrics.jsonl'), lines.join('\n'));
  return dir;
}

describe('verifyRuns', () => {
  it("reads Python's NaN and Infinity, skips and reports malformed lines, accepts a metrics file path", async () => {
    const a = run([
      '{"step": 1, "prefix": "train", "train/loss": NaN, "train/g": Infinity}',
      '{"step": 2, "prefix": "train", "train/loss": 0.5}',
      '',
    ]);
    const b = run([
      '{"step": 1, "prefix": "train", "train/loss": NaN, "train/g": Infinity}',
      '{"step": 2, "prefix": "tr',
      '{"step": 2, "prefix": "train", "train/loss": 0.5}',
      '[1, 2]',
    ]);
    const r = await verifyRuns(a, path.join(b, 'logs', 'metrics.jsonl'));
    expect(r.verdict).toBe('identical');
    expect(r.warnings).toEqual([
      `reproduced (${path.join(b, 'logs', 'metrics.jsonl')}): 2 line(s) are not valid JSON records and were skipped (line 2, 4)`,
    ]);
  });

  it('refuses what it cannot compare, saying why', async () => {
    const empty = run(['']);
    const some = run(['{"step": 1, "prefix": "train", "train/loss": 1}']);
    await expect(verifyRuns(empty, some)).rejects.toThrow(
      /holds no metric records: there is nothing to compare/,
    );
    await expect(verifyRuns(tmpDir(), some)).rejects.toMatchObject({ code: 'not-found' });
    await expect(verifyRuns(some, some, { tolerance: { rtol: -1 } })).rejects.toThrow(
      /rtol must be a non-negative/,
    );
    // A reproduction that wrote nothing is a divergence, not an error.
    const r = await verifyRuns(some, empty);
    expect(r.verdict).toBe('diverged');
    expect(r.message).toContain('the reproduced run has no such record');
  });
});
