import { describe, expect, it } from 'vitest';
import { csvField, toCsv } from '../../../src/shared/csv';
import { escapeControls, jsonText, TerminalFilter } from '../../../src/shared/terminal-text';

const OSC52 = '\x1b]52;c;cm0gLXJmIH4K\x07';
const OSC8 = '\x1b]8;;https://evil.invalid\x1b\\click\x1b]8;;\x1b\\';
const TITLE = '\x1b]0;owned\x07';
const CLEAR = '\x1b[2J\x1b[H';
const DCS = '\x1bP1$r0m\x1b\\';

/** Every raw ESC, BEL, C1 control or DEL in a string. */
const raw = (s: string): string[] => s.match(/[\x07\x1b\x7f-\x9f]/g) ?? []; // eslint-disable-line no-control-regex

describe('escapeControls', () => {
  it('shows every C0, DEL, C1 and bidi control as visible text, keeping only what is asked', () => {
    const s = `a${OSC52}b\u009b2Jc\x7f\r\n\t\u202eevil`;
    const out = escapeControls(s, '\n');
    expect(raw(out)).toEqual([]);
    expect(out).toBe('a\\x1b]52;c;cm0gLXJmIH4K\\x07b\\x9b2Jc\\x7f\\x0d\n\\x09\\u202eevil');
    expect(escapeControls('plain text, ünïcödé 日本')).toBe('plain text, ünïcödé 日本');
  });

  it('jsonText parses back to the same value and holds no raw DEL or C1', () => {
    const value = { name: `x${OSC52}\u009b\x7f\u202e`, n: [1, null] };
    const text = jsonText(value);
    expect(raw(text)).toEqual([]);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('TerminalFilter (a run log on a terminal)', () => {
  const filter = (chunks: string[]): string => {
    const f = new TerminalFilter();
    return chunks.map((c) => f.push(c)).join('') + f.end();
  };

  it('keeps colours, carriage returns and cursor-up redraws (tqdm)', () => {
    const log = '\x1b[32mok\x1b[0m\r 10%|##  |\r 20%|### |\x1b[A\x1b[K\x1b[?25l\n';
    expect(filter([log])).toBe(log);
  });

  it('never passes a clipboard write, a link, a title, a DCS or a screen clear', () => {
    for (const attack of [
      OSC52,
      OSC8,
      TITLE,
      CLEAR,
      DCS,
      '\x1bc',
      '\x1b[6n',
      '\x1b[21t',
      '\u009b2J',
      '\u009d52;c;x\u009c',
    ]) {
      const out = filter([`before ${attack} after\n`]);
      expect(out).not.toContain(attack);
      expect(out).toMatch(/\\(x1b|x9b|x9d)/);
      expect(out.replace(/\x1b\[[0-9;]*[mABCDGK]/g, '')).not.toMatch(/[\x07\x1b\x80-\x9f]/); // eslint-disable-line no-control-regex
    }
  });

  it('judges a sequence split between chunks whole', () => {
    expect(filter(['a\x1b', '[3', '1mred\x1b[0m'])).toBe('a\x1b[31mred\x1b[0m');
    expect(filter(['a\x1b', ']52;c;eA==\x07'])).toBe('a\\x1b]52;c;eA==\\x07');
    expect(filter(['a\x1b[2', 'J'])).toBe('a\\x1b[2J');
    expect(filter(['end\x1b'])).toBe('end\\x1b');
  });
});

describe('CSV cells (interface and CLI)', () => {
  it('neutralises formula cells and leaves numbers alone', () => {
    expect(csvField('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvField('+cmd|/c calc')).toBe("'+cmd|/c calc");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('-2+3')).toBe("'-2+3");
    expect(csvField('\t=1')).toBe("'\t=1");
    expect(csvField('\r=1')).toBe(`"'\r=1"`);
    expect(csvField('-0.5')).toBe('-0.5');
    expect(csvField('+1e-3')).toBe('+1e-3');
    expect(toCsv([['a', '=1']])).toBe("a,'=1\r\n");
  });
});
