/**
 * Plain-text tables and CSV for the CLI, and its way out to the terminal:
 * everything printed passes escapeControls (src/shared/terminal-text.ts), so
 * text from folders never sends a terminal a control sequence.
 */
import { StringDecoder } from 'node:string_decoder';
import { csvField } from '../shared/csv';
import { escapeControls, hasControls, TerminalFilter } from '../shared/terminal-text';

export function textTable(header: string[], rows: string[][]): string {
  // Escaped before measuring, so a cell's visible form sets its column's width. A listing of
  // 5,000 experiments has 35,000 cells: they are searched as one text first (most hold none).
  const raw = [header, ...rows];
  const all = hasControls(raw.map((r) => r.join('')).join(''))
    ? raw.map((r) => r.map((c) => escapeControls(c)))
    : raw;
  const widths = header.map(() => 0);
  for (const r of all) for (let i = 0; i < r.length; i++) widths[i] = Math.max(widths[i] ?? 0, r[i]!.length);
  const line = (cells: string[]): string => {
    let out = '';
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!;
      out += i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0) + '  ';
    }
    return out.trimEnd();
  };
  return all.map(line).join('\n');
}

/** CSV with the interface's quoting and formula neutralising (src/shared/csv.ts), one record a line. */
export function csv(header: string[], rows: string[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

/** Text for the terminal: control characters shown escaped, but line breaks and tabs. */
export function terminalSafe(text: string): string {
  return escapeControls(text, '\n\t');
}

/** Text as printed on a line of its own: control characters escaped, a line break at the end. */
export function lineText(text: string): string {
  return terminalSafe(text.endsWith('\n') ? text : `${text}\n`);
}

/** Write text to stdout, control characters escaped. */
export function printOut(text: string): void {
  process.stdout.write(terminalSafe(text));
}

/** Write text to stderr, control characters escaped. */
export function printErr(text: string): void {
  process.stderr.write(terminalSafe(text));
}

/** Write to stdout, resolving once the data is handed over (waits for 'drain' under back-pressure). */
export function writeStdout(data: Buffer | string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(data)) resolve();
    else process.stdout.once('drain', () => resolve());
  });
}

/**
 * A run's log on its way to stdout (tail, attach without tmux): colours and
 * progress bars pass, every other escape sequence is shown escaped
 * (TerminalFilter). UTF-8 characters split between chunks are joined first.
 */
export function logOutput(): { write(data: Buffer): Promise<void>; end(): Promise<void> } {
  const decoder = new StringDecoder('utf8');
  const filter = new TerminalFilter();
  return {
    write: (data) => {
      const text = filter.push(decoder.write(data));
      return text ? writeStdout(text) : Promise.resolve();
    },
    end: () => {
      const text = filter.push(decoder.end()) + filter.end();
      return text ? writeStdout(text) : Promise.resolve();
    },
  };
}
