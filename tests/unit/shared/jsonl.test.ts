import { describe, expect, it } from 'vitest';
import { JsonLineError, lineColumnAt, parseJsonDocument, parseJsonLine } from '../../../src/shared/jsonl';

describe('parseJsonLine', () => {
  it('parses plain JSON with one JSON.parse', () => {
    expect(parseJsonLine('{"step": 1, "prefix": "train", "train/loss": 0.5}')).toEqual({
      step: 1,
      prefix: 'train',
      'train/loss': 0.5,
    });
  });

  it("accepts Python json.dumps' NaN, Infinity and -Infinity", () => {
    const rec = parseJsonLine('{"a": NaN, "b": Infinity, "c": -Infinity, "d": [NaN, 1]}') as Record<
      string,
      unknown
    >;
    expect(rec.a).toBeNaN();
    expect(rec.b).toBe(Infinity);
    expect(rec.c).toBe(-Infinity);
    expect((rec.d as number[])[0]).toBeNaN();
  });

  it('puts the numbers back at any depth, and a "__proto__" key holding one stays data', () => {
    const rec = parseJsonLine(
      '{"__proto__": NaN, "nested": {"deep": [1, {"v": -Infinity}]}, "train/loss": Infinity}',
    ) as Record<string, unknown>;
    expect(Object.getPrototypeOf(rec)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(rec, '__proto__')?.value).toBeNaN();
    expect(((rec.nested as { deep: unknown[] }).deep[1] as { v: number }).v).toBe(-Infinity);
    expect(rec['train/loss']).toBe(Infinity);
  });

  it('leaves NaN and Infinity inside strings alone', () => {
    const rec = parseJsonLine('{"note": "NaN Infinity -Infinity \\" NaN", "x": NaN}') as Record<
      string,
      unknown
    >;
    expect(rec.note).toBe('NaN Infinity -Infinity " NaN');
    expect(rec.x).toBeNaN();
  });

  it('a string value that reads like a sentinel stays a string, and errors name the original line', () => {
    // Tokens are rewritten before parsing (no throw first): a line without bare tokens parses as before.
    expect(parseJsonLine('{"s": "\\u0000NaN", "t": "Infinity"}')).toEqual({ s: '\u0000NaN', t: 'Infinity' });
    const plainError = (line: string): string => {
      try {
        JSON.parse(line);
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    };
    for (const line of ['{"x": NaN, "y": }', '{"x": "NaN" "y": 1}', '{"x": Infinity']) {
      expect(() => parseJsonLine(line)).toThrow(plainError(line));
    }
  });

  it('rejects malformed lines with a readable error', () => {
    expect(() => parseJsonLine('{"step": 1, "x": ')).toThrow(JsonLineError);
    expect(() => parseJsonLine('{"x": NaNa}')).toThrow(JsonLineError);
  });
});

describe('parseJsonDocument', () => {
  it('reports the line and column of a syntax error', () => {
    const text = '{\n  "name": "x",\n  "git_dirty": tru\n}';
    const r = parseJsonDocument(text);
    expect('error' in r && r.line).toBe(3);
  });
  it('lineColumnAt counts from 1', () => {
    expect(lineColumnAt('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
});
