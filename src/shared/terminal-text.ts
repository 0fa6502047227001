/**
 * Text from experiment folders on its way to a terminal. A folder name, a
 * config value, a metric name or a problem message can hold escape sequences
 * — OSC 52 writes the clipboard, OSC 8 makes links, OSC 0/2 set the title,
 * CSI 2J clears the screen, DCS/APC talk to the terminal itself — so the CLI
 * shows every control character as visible text instead of sending it.
 *
 * Two tools:
 *  - escapeControls: for everything the CLI prints about folders (tables,
 *    `show`, `compare`, problems, errors): every C0 control (but the ones the
 *    format needs: \n, \t), DEL, every C1 control (U+0080–U+009F: 0x9b is a
 *    one-character CSI) and the bidirectional overrides become \xHH / \uHHHH;
 *  - TerminalFilter: for a run's own log (`tail`, `attach` without tmux),
 *    which is terminal output the user's program wrote and should look as it
 *    did — colours, \r progress bars, cursor-up redraws (tqdm) pass; anything
 *    else that starts with ESC or a C1 control is shown escaped, so an OSC 52,
 *    OSC 8, title, DCS, screen clear or a query that makes the terminal type
 *    an answer never reaches the terminal as a command.
 * JSON output goes through jsonText, which writes DEL and C1 as \u00XX
 * (JSON.stringify already escapes C0 but leaves those raw).
 */

const hex2 = (c: number): string => c.toString(16).padStart(2, '0');
const hex4 = (c: number): string => c.toString(16).padStart(4, '0');

/** The visible form of one control character. */
function visible(ch: string): string {
  const c = ch.codePointAt(0)!;
  return c <= 0xff ? `\\x${hex2(c)}` : `\\u${hex4(c)}`;
}

// C0, DEL, C1, and the bidirectional embeddings/overrides/isolates (which reorder what follows).
const CONTROL_CLASS = '[\\u0000-\\u001f\\u007f-\\u009f\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]';
const CONTROLS = new RegExp(CONTROL_CLASS, 'g');
const IS_CONTROL = new RegExp(`^${CONTROL_CLASS}$`);

/** The control characters but those kept, found (`test`) and replaced (global), by the kept ones. */
const ESCAPED = new Map<string, { test: RegExp; all: RegExp }>([
  ['', { test: new RegExp(CONTROL_CLASS), all: CONTROLS }],
]);

function escapedBut(keep: string): { test: RegExp; all: RegExp } {
  let re = ESCAPED.get(keep);
  if (!re) {
    const kept = `(?![${[...keep].map((ch) => `\\u${hex4(ch.charCodeAt(0))}`).join('')}])${CONTROL_CLASS}`;
    re = { test: new RegExp(kept), all: new RegExp(kept, 'g') };
    ESCAPED.set(keep, re);
  }
  return re;
}

/** Whether escapeControls(s, keep) would change anything. */
export function hasControls(s: string, keep = ''): boolean {
  return escapedBut(keep).test.test(s);
}

/** Every control character as visible text, but those in `keep` (e.g. '\n\t' for multi-line output). */
export function escapeControls(s: string, keep = ''): string {
  const re = escapedBut(keep);
  // Most text holds none: a search, and the same string back.
  return re.test.test(s) ? s.replace(re.all, visible) : s;
}

/** JSON text that is also safe on a terminal: DEL, C1 and the bidi controls as \u escapes. Parses back to `value`. */
export function jsonText(value: unknown, indent = 2): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(
    /[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (ch) => `\\u${hex4(ch.charCodeAt(0))}`,
  );
}

/** Control characters a log keeps as they are: line structure and progress bars. */
const LOG_KEEP = '\n\r\t\b';
/** CSI sequences a log keeps: colours (m), cursor up/down/left/right and column (A-D, G), erase in line (K). */
// eslint-disable-next-line no-control-regex -- ESC starts the sequences this accepts
const SAFE_CSI = /^\x1b\[[0-9;]*[mABCDGK]$|^\x1b\[\?25[hl]$/;
/** The longest CSI sequence waited for across chunks; a longer one is shown escaped. */
const MAX_CSI = 64;

/**
 * A run's log on its way to a terminal, chunk by chunk (a sequence split
 * between two chunks is judged whole). Feed decoded text (StringDecoder):
 * 0x9b in UTF-8 text is U+009B.
 */
export class TerminalFilter {
  private carry = '';

  push(text: string): string {
    const s = this.carry + text;
    this.carry = '';
    let out = '';
    let i = 0;
    while (i < s.length) {
      const ch = s[i]!;
      if (!IS_CONTROL.test(ch)) {
        out += ch;
        i++;
        continue;
      }
      if (ch !== '\x1b') {
        out += LOG_KEEP.includes(ch) ? ch : visible(ch);
        i++;
        continue;
      }
      if (i + 1 >= s.length) {
        this.carry = s.slice(i);
        break;
      }
      if (s[i + 1] !== '[') {
        // ESC + anything else (OSC ], DCS P, APC _, reset c …): the ESC shown, the rest is plain text.
        out += visible(ch);
        i++;
        continue;
      }
      let j = i + 2;
      while (j < s.length && j - i < MAX_CSI && /[\x20-\x3f]/.test(s[j]!)) j++;
      if (j >= s.length && j - i < MAX_CSI) {
        this.carry = s.slice(i);
        break;
      }
      const final = s[j];
      const seq = final !== undefined && /[\x40-\x7e]/.test(final) ? s.slice(i, j + 1) : null;
      if (seq && SAFE_CSI.test(seq)) {
        out += seq;
        i = j + 1;
      } else {
        out += visible(ch);
        i++;
      }
    }
    return out;
  }

  /** What is left at the end of the stream (an unfinished sequence, shown escaped). */
  end(): string {
    const rest = this.carry;
    this.carry = '';
    return escapeControls(rest);
  }
}
