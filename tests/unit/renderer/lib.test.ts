/** The renderer's pure helpers: CSV, command lines, preferences, YAML checks, previews, outputs, parcoords. */
import { describe, expect, it } from 'vitest';
import { joinCommand, splitCommand } from '../../../src/renderer/lib/command-line';
import { diffAgainstBase } from '../../../src/renderer/lib/config-preview';
import { csvField, toCsv } from '../../../src/shared/csv';
import { jsonToTable, parsePythonJson, parseSamples } from '../../../src/renderer/lib/outputs';
import { layoutParcoords } from '../../../src/renderer/lib/parcoords';
import {
  isStringArray,
  pushRecent,
  readJson,
  RECENT_LIMIT,
  writeJson,
} from '../../../src/renderer/lib/recent';
import { rangeOfLine, yamlProblems } from '../../../src/renderer/lib/yaml-check';
import { formatConfigValue, formatDuration } from '../../../src/renderer/format';

describe('csv', () => {
  it('quotes what needs it and defuses spreadsheet formulas from untrusted text', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('-1.5e-3')).toBe('-1.5e-3');
    expect(csvField(null)).toBe('');
    expect(csvField(Number.NaN)).toBe('NaN');
    expect(
      toCsv([
        ['a', 1],
        ['b', true],
      ]),
    ).toBe('a,1\r\nb,true\r\n');
  });
});

describe('command line', () => {
  it('splits like a shell for words and quotes, never expanding anything', () => {
    expect(splitCommand(`python3 train.py {config} --name 'my run' --x "a \\"b\\"" $HOME`).argv).toEqual([
      'python3',
      'train.py',
      '{config}',
      '--name',
      'my run',
      '--x',
      'a "b"',
      '$HOME',
    ]);
    expect(splitCommand('python3 "unclosed').error).toMatch(/unclosed/);
    expect(splitCommand('   ').error).toMatch(/empty/);
    expect(joinCommand(['python3', 'a b', "it's"])).toBe(`python3 'a b' 'it'\\''s'`);
  });
});

describe('preferences', () => {
  it('reads only valid JSON of the expected shape and survives a broken storage', () => {
    const store = new Map<string, string>();
    const storage = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
    };
    writeJson(storage, 'k', ['a']);
    expect(readJson(storage, 'k', isStringArray)).toEqual(['a']);
    store.set('k', '{bad');
    expect(readJson(storage, 'k', isStringArray)).toBeNull();
    store.set('k', '[1]');
    expect(readJson(storage, 'k', isStringArray)).toBeNull();
    const throwing = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('full');
      },
    };
    expect(readJson(throwing, 'k', isStringArray)).toBeNull();
    expect(() => writeJson(throwing, 'k', 1)).not.toThrow();
  });
  it('keeps recent workspaces unique, newest first, bounded', () => {
    let list: string[] = [];
    for (let i = 0; i < RECENT_LIMIT + 3; i++) list = pushRecent(list, `/w${i}`);
    list = pushRecent(list, '/w5');
    expect(list[0]).toBe('/w5');
    expect(list).toHaveLength(RECENT_LIMIT);
    expect(new Set(list).size).toBe(RECENT_LIMIT);
  });
});

describe('yaml check', () => {
  it('reports syntax errors with their line while typing', () => {
    const problems = yamlProblems('a: 1\nb: [1, 2\nc: 3\n');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]!.line).toBeGreaterThanOrEqual(2);
    expect(problems[0]!.message).not.toContain('\n');
    expect(yamlProblems('a: 1\na: 2\n')[0]!.message).toMatch(/unique|duplicate/i);
    expect(yamlProblems('a: {b: 1}\n')).toEqual([]);
  });
  it('finds the offsets of a line the core reported', () => {
    const text = 'one\ntwo\nthree';
    expect(rangeOfLine(text, 2)).toEqual({ from: 4, to: 7 });
    expect(rangeOfLine(text, 3, 2)).toEqual({ from: 9, to: 13 });
    expect(rangeOfLine(text, 99)).toEqual({ from: 8, to: 13 });
  });
});

describe('config preview', () => {
  it('lists keys added, changed and removed against the base', () => {
    expect(
      diffAgainstBase({ dpo: { beta: 0.05 }, new: 1, same: 2 }, { dpo: { beta: 0.1 }, same: 2, gone: 3 }),
    ).toEqual([
      { key: 'dpo.beta', base: 0.1, value: 0.05, change: 'changed' },
      { key: 'gone', base: 3, value: undefined, change: 'removed' },
      { key: 'new', base: undefined, value: 1, change: 'added' },
    ]);
  });
});

describe('outputs', () => {
  it("reads Python's NaN and Infinity outside strings only", () => {
    expect(parsePythonJson('{"a": NaN, "b": -Infinity, "c": "NaN here"}')).toEqual({
      a: null,
      b: null,
      c: 'NaN here',
    });
  });
  it('turns eval results into tables', () => {
    expect(jsonToTable({ step: 50, 'eval/loss': 0.4, nested: { k: 1 } })).toEqual({
      columns: ['key', 'value'],
      rows: [
        ['step', 50],
        ['eval/loss', 0.4],
        ['nested.k', 1],
      ],
    });
    expect(jsonToTable([{ a: 1 }, { a: 2, b: 'x' }])).toEqual({
      columns: ['a', 'b'],
      rows: [
        [1, null],
        [2, 'x'],
      ],
    });
  });
  it('reads samples as text fields, keeping markup as text', () => {
    const { records, more } = parseSamples('{"prompt": "<b>hi</b>", "score": 1}\nnot json\n', 1);
    expect(records).toEqual([
      {
        index: 0,
        fields: [
          ['prompt', '<b>hi</b>'],
          ['score', '1'],
        ],
      },
    ]);
    expect(more).toBe(1);
    expect(parseSamples('not json').records[0]!.fields).toEqual([['line', 'not json']]);
  });
});

describe('parallel coordinates layout', () => {
  it('scales numbers between min and max, spaces categories, and breaks lines at missing values', () => {
    const box = { width: 300, height: 200, top: 0, bottom: 0, left: 0, right: 0 };
    const { axes, lines } = layoutParcoords(
      [
        { label: 'lr', values: [1, 3, 2] },
        { label: 'opt', values: ['adam', 'sgd', undefined] },
      ],
      box,
    );
    expect(axes.map((a) => [a.label, a.x, a.kind])).toEqual([
      ['lr', 0, 'number'],
      ['opt', 300, 'category'],
    ]);
    expect(lines[0]![0]!.y).toBe(200); // min at the bottom
    expect(lines[1]![0]!.y).toBe(0); // max at the top
    expect(lines[2]![0]!.y).toBe(100);
    expect(lines[0]![1]!.y).toBe(0);
    expect(lines[1]![1]!.y).toBe(200);
    expect(lines[2]![1]!.y).toBeNull();
  });
});

describe('format', () => {
  it('formats durations and config values', () => {
    expect(formatDuration(42_000)).toBe('42s');
    expect(formatDuration(723_000)).toBe('12m 03s');
    expect(formatDuration(3 * 3600_000 + 12 * 60_000)).toBe('3h 12m');
    expect(formatDuration(50 * 3600_000)).toBe('2d 2h');
    expect(formatConfigValue(1e-4)).toBe('1e-4');
    expect(formatConfigValue(null)).toBe('null');
    expect(formatConfigValue(undefined)).toBe('—');
    expect(formatConfigValue([1, 'a'])).toBe('[1,"a"]');
  });
});
