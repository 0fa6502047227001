import { describe, expect, it } from 'vitest';
import { allPaths } from '../../../src/shared/config/tree';
import { diffConfigs, flattenConfig } from '../../../src/shared/config-diff';
import { parseJsonDocument } from '../../../src/shared/jsonl';
import type { JsonValue } from '../../../src/shared/model';
import { jsonTooDeep, MAX_NESTING, yamlTooDeep } from '../../../src/shared/nesting';

/** A map nested `n` levels, built without recursion. */
function deepMap(n: number): JsonValue {
  let v: JsonValue = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
}

describe('nesting limits on untrusted JSON and YAML', () => {
  it('refuses JSON nested deeper than the limit, at the line where it crosses it', () => {
    expect(jsonTooDeep('{"a":'.repeat(MAX_NESTING) + '1' + '}'.repeat(MAX_NESTING))).toBeNull();
    const deep = '{\n' + '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    expect(jsonTooDeep(deep)).toEqual({ line: 2, column: 496, message: 'nested deeper than 100 levels' });
    // Brackets inside strings are text.
    expect(jsonTooDeep(JSON.stringify({ s: '['.repeat(500) }))).toBeNull();
    expect(parseJsonDocument('['.repeat(20_000) + ']'.repeat(20_000))).toMatchObject({
      error: 'nested deeper than 100 levels',
      line: 1,
    });
  });

  it('refuses deep block YAML, deep flow YAML and deep "- " sequences, naming the line', () => {
    const block = Array.from({ length: 5000 }, (_, i) => ' '.repeat(i) + 'a:').join('\n') + '\n';
    expect(yamlTooDeep(block)).toMatchObject({ line: 101, message: 'nested deeper than 100 levels' });
    expect(yamlTooDeep('x: 1\na: ' + '{a: '.repeat(20_000) + '1' + '}'.repeat(20_000))).toMatchObject({
      line: 2,
    });
    expect(yamlTooDeep('a:\n' + '- '.repeat(20_000) + 'x\n')).toMatchObject({ line: 2, column: 201 });
    expect(yamlTooDeep('a: ' + '['.repeat(20_000) + ']'.repeat(20_000))).not.toBeNull();
  });

  it('accepts real configs: quoted brackets, brackets inside words, block scalars, comments', () => {
    const config = [
      'experiment:',
      '  name: "dpo [sweep {1}"   # not [ a flow',
      "  note: 'it''s [not] {nested'",
      '  pattern: foo[0]',
      '  script: |',
      ...Array.from({ length: 300 }, (_, i) => '    ' + ' '.repeat(i) + 'x [ {'),
      'training:',
      '  lr: 1.0e-5',
      '  layers: [[1, 2], {a: [3]}]',
      '  list:',
      '    - - a',
      '      - b',
    ].join('\n');
    expect(yamlTooDeep(config)).toBeNull();
    const limitDeep = Array.from({ length: MAX_NESTING }, (_, i) => ' '.repeat(i) + 'a:').join('\n');
    expect(yamlTooDeep(limitDeep)).toBeNull();
  });

  it('flattens and diffs configs 20,000 levels deep without exhausting the stack', () => {
    const deep = deepMap(20_000);
    const flat = flattenConfig(deep);
    expect(Object.keys(flat)).toHaveLength(1);
    expect(Object.keys(flat)[0]!.split('.')).toHaveLength(20_000);
    expect(diffConfigs([{ x: deep }, { x: 1 }]).map((r) => r.key.slice(0, 5))).toEqual(['x', 'x.a.a']);
    expect(allPaths(deep)).toHaveLength(20_000);
    // Order kept: depth first, keys in order (what "did you mean" and compare show).
    expect(allPaths({ a: { b: 1, c: { d: 2 } }, e: 3 })).toEqual(['a', 'a.b', 'a.c', 'a.c.d', 'e']);
    expect(Object.keys(flattenConfig({ a: { b: 1, c: { d: 2 } }, e: 3, f: {} }))).toEqual([
      'a.b',
      'a.c.d',
      'e',
      'f',
    ]);
  });
});
