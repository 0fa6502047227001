import { describe, expect, it } from 'vitest';
import { diffConfigs, flattenConfig, formatNumber } from '../../../src/shared/config-diff';

describe('config diff', () => {
  it('flattens to dotted paths with lists as leaves', () => {
    expect(flattenConfig({ a: { b: 1, c: [1, 2] }, d: null })).toEqual({ 'a.b': 1, 'a.c': [1, 2], d: null });
  });

  it('keeps only keys whose values differ, including keys absent somewhere', () => {
    const rows = diffConfigs([
      { dpo: { beta: 0.1, ls: 0 }, model: { name: 'm' }, tags: ['a'] },
      { dpo: { beta: 0.5, ls: 0 }, model: { name: 'm' }, tags: ['a'], extra: { x: 1 } },
    ]);
    expect(rows).toEqual([
      { key: 'dpo.beta', values: [0.1, 0.5] },
      { key: 'extra.x', values: [undefined, 1] },
    ]);
  });

  it('treats a changed list as one changed key', () => {
    expect(diffConfigs([{ l: [1, 2] }, { l: [1, 3] }]).map((r) => r.key)).toEqual(['l']);
  });

  it('formats numbers to 4 significant digits and null as NaN', () => {
    expect(formatNumber(0.123456)).toBe('0.1235');
    expect(formatNumber(1e-5)).toBe('1.000e-5');
    expect(formatNumber(200)).toBe('200');
    expect(formatNumber(null)).toBe('NaN');
  });
});
