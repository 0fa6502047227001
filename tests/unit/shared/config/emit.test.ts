import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { emitFloat, emitString, emitYaml } from '../../../../src/shared/config/emit';

describe('emitYaml', () => {
  it('quotes strings that YAML 1.1 or 1.2 would retype', () => {
    for (const s of [
      'yes',
      'on',
      'off',
      'y',
      'null',
      '~',
      '1e-5',
      '0123',
      '0x1F',
      '1_000',
      '2024-01-01',
      '12:30',
      '',
      'a: b',
      '-',
      '.inf',
      ' x',
    ]) {
      expect(emitString(s)).toBe(JSON.stringify(s));
    }
    expect(emitString('meta-llama/Llama-2-7b-hf')).toBe('meta-llama/Llama-2-7b-hf');
    expect(emitString('dpo')).toBe('dpo');
  });

  it('writes floats with a dot and a signed exponent, as PyYAML requires', () => {
    expect(emitFloat(1e-5)).toBe('0.00001');
    expect(emitFloat(1e-7)).toBe('1.0e-7');
    expect(emitFloat(2.5e21)).toBe('2.5e+21');
    expect(emitFloat(3)).toBe('3.0');
    expect(emitFloat(NaN)).toBe('.nan');
    expect(emitFloat(-Infinity)).toBe('-.inf');
  });

  it('round-trips through a YAML parser to the same values', () => {
    const config = {
      experiment: { name: 'exp001', output_dir: '/tmp/x y/exp001' },
      training: {
        lr: 1e-5,
        steps: 100,
        warmup: 0.1,
        flag: true,
        none: null,
        tags: ['a', 'yes', 1, 2.5],
        empty: {},
        list: [],
      },
      nested: [{ a: 1, b: { c: 'on' } }, [1, 2]],
      text: 'line1\nline2 "quoted" \\ back',
    };
    const text = emitYaml(config);
    expect(parse(text)).toEqual(config);
    expect(text).toContain('lr: 0.00001');
  });

  it('keeps numbers written as floats floats', () => {
    expect(emitYaml({ a: { b: 3, c: 3 } }, { floatPaths: new Set(['a.b']) })).toBe('a:\n  b: 3.0\n  c: 3\n');
  });
});
