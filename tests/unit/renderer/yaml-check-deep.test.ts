import { describe, expect, it } from 'vitest';
import { yamlProblems } from '../../../src/renderer/lib/yaml-check';

describe('yamlProblems on a config nested 20,000 levels', () => {
  it('marks the line where it gets too deep instead of handing it to the parser', () => {
    const text = 'a: 1\nb: ' + '['.repeat(20_000) + ']'.repeat(20_000) + '\n';
    const problems = yamlProblems(text);
    expect(problems).toEqual([
      { from: 5 + 3 + 99, to: 5 + 3 + 100, line: 2, column: 103, message: 'nested deeper than 100 levels' },
    ]);
  });
});
