/**
 * No import circles anywhere in src/ (issue 10): madge builds the import
 * graph of every .ts/.tsx file (type-only and dynamic imports included, so a
 * lazy `await import()` back into a module that imports it counts too) and
 * the count of circles must stay 0. On failure the circles are printed.
 */
import path from 'node:path';
import madge from 'madge';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');

describe('import circles', () => {
  it('src/ has none', async () => {
    const graph = await madge(path.join(ROOT, 'src'), {
      fileExtensions: ['ts', 'tsx'],
      tsConfig: path.join(ROOT, 'tsconfig.node.json'),
    });
    expect(Object.keys(graph.obj()).length).toBeGreaterThan(100); // the whole tree was read
    const circles = graph.circular().map((c) => c.join(' > '));
    expect(circles, `import circles in src/:\n${circles.join('\n')}`).toEqual([]);
  }, 120_000);
});
