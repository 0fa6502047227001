/**
 * The documents a newcomer reads stay true: every request and event of the
 * contract is named in docs/architecture.md, and every command of the CLI
 * appears in the README's command list.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, requests } from '../../src/shared/contract';
import { buildProgram } from '../../src/cli/main';

const REPO = path.resolve(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(path.join(REPO, file), 'utf8');

describe('docs', () => {
  it('docs/architecture.md names every request and event of the contract', () => {
    const doc = read('docs/architecture.md');
    const missing = [...Object.keys(requests), ...Object.keys(events)].filter(
      (n) => !doc.includes(`\`${n}\``),
    );
    expect(missing).toEqual([]);
  });

  it('the README lists every command of the CLI', () => {
    const readme = read('README.md');
    const commands = buildProgram().commands.map((c) => c.name());
    expect(commands.length).toBeGreaterThan(5);
    const missing = commands.filter((c) => !readme.includes(`expdesk ${c} `));
    expect(missing).toEqual([]);
  });
});
