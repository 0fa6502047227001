/**
 * Folders written by the seed's own Python code (tests/fixtures/seed_writer.py,
 * run by a real python3): two ranks, NaN/Infinity values, a failed run, a
 * malformed line and a partial last line, a folder with only metrics. Expdesk
 * must read them unchanged, with the seed's summary semantics, and must not
 * write into them.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli';
import { treeSnapshot } from '../helpers/snapshot';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';

interface Expected {
  dir: string;
  name: string;
  algorithm: string | null;
  total_steps: number;
  final_loss: number | null;
  final_eval: Record<string, number | null>;
  malformed_lines: number[];
  failed_step: number | null;
  ranks: number[];
  has_final_checkpoint: boolean;
}

let root: string;
let expected: Expected[];
const cacheEnv = { EXPDESK_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), 'expdesk-cache-')) };

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'expdesk-seed-'));
  const out = execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), root], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  expected = (JSON.parse(out) as { experiments: Expected[] }).experiments;
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(cacheEnv.EXPDESK_CACHE_DIR, { recursive: true, force: true });
});

describe('folders written by the seed', () => {
  it('summarize --json matches the seed semantics for every folder, NaN as null', () => {
    const dirs = expected.map((e) => path.join(root, 'experiments', e.dir));
    const r = runCli(['summarize', ...dirs, '--json'], cacheEnv);
    expect(r.code).toBe(0);
    const got = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(got).toHaveLength(5);
    got.forEach((g, i) => {
      const e = expected[i]!;
      expect(g).toMatchObject({
        name: e.name,
        algorithm: e.algorithm,
        total_steps: e.total_steps,
        final_loss: e.final_loss,
        final_eval: e.final_eval,
      });
      if (e.failed_step !== null)
        expect(g).toMatchObject({ status: 'failed', failed_at_step: e.failed_step });
    });
  });

  it('shows the ranks, checkpoints, malformed lines and the failed traceback', () => {
    const byDir = Object.fromEntries(expected.map((e) => [e.dir, e]));
    for (const e of Object.values(byDir)) {
      const r = runCli(['show', path.join(root, 'experiments', e.dir), '--json'], cacheEnv);
      expect(r.code).toBe(0);
      const d = JSON.parse(r.stdout);
      const ranks = d.logs
        .filter((l: { rank: number | null }) => l.rank !== null)
        .map((l: { rank: number }) => l.rank);
      expect(ranks).toEqual(e.ranks);
      expect(d.checkpoints.some((c: { final: boolean }) => c.final)).toBe(e.has_final_checkpoint);
      // Malformed lines are one problem at the first (issue 16), a diverged loss another.
      const malformed = d.summary.problems
        .filter((p: { file: string; message: string }) => p.file === 'logs/metrics.jsonl')
        .filter((p: { message: string }) => !p.message.startsWith('diverged'))
        .map((p: { line: number }) => p.line);
      expect(malformed).toEqual(e.malformed_lines.slice(0, 1));
      if (e.failed_step !== null) {
        expect(d.summary.status_reason).toContain(`failed at step ${e.failed_step}`);
      }
    }
    const failed = expected.find((e) => e.failed_step !== null)!;
    const text = runCli(['show', path.join(root, 'experiments', failed.dir)], cacheEnv).stdout;
    expect(text).toContain('Traceback (most recent call last):');
  });

  it('listing, showing and comparing never write into the folders', () => {
    const before = treeSnapshot(root);
    expect(runCli(['list', root], cacheEnv).code).toBe(0);
    const dirs = expected.map((e) => path.join(root, 'experiments', e.dir));
    expect(runCli(['compare', ...dirs, '--csv'], cacheEnv).code).toBe(0);
    expect(treeSnapshot(root)).toEqual(before);
  });
});
