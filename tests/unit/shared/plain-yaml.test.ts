/**
 * The fast config reader never disagrees with `yaml`: on the seed's configs it
 * reads them, and on thousands of mutations of them it either gives exactly
 * what `yaml` gives (with no error from `yaml`) or declines (null), leaving
 * the text — and its problems — to `yaml`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePlainYaml } from '../../../src/shared/plain-yaml';
import { REPO } from '../../helpers/cli';
import { tmpDir } from '../../helpers/tmp';

/** What files.ts's full path gives: the value, or an error when `yaml` reports one. */
function viaYaml(text: string): { value: unknown } | { error: string } {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, schema: 'core' });
  if (doc.errors.length) return { error: doc.errors[0]!.message };
  try {
    return { value: doc.toJS({ maxAliasCount: 100 }) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** The seed's configs (all in the subset), then the demo's inputs (flow lists: mostly not). */
let seedConfigs: string[] = [];
let configs: string[] = [];

beforeAll(() => {
  const root = tmpDir();
  execFileSync('python3', [path.join(REPO, 'tests/fixtures/seed_writer.py'), root], { stdio: 'ignore' });
  const seedExps = path.join(root, 'experiments');
  const seed = readdirSync(seedExps)
    .map((e) => path.join(seedExps, e, 'config.yaml'))
    .filter((f) => {
      try {
        readFileSync(f);
        return true;
      } catch {
        return false;
      }
    });
  const demo = readdirSync(path.join(REPO, 'resources/demo/configs')).map((f) =>
    path.join(REPO, 'resources/demo/configs', f),
  );
  seedConfigs = seed.map((f) => readFileSync(f, 'utf8'));
  configs = [...seedConfigs, ...demo.map((f) => readFileSync(f, 'utf8'))];
});

/** A small deterministic generator, so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const INSERTS = [
  '#',
  ' #',
  ':',
  ': ',
  '-',
  '- ',
  "'",
  '"',
  '[',
  ']',
  '{',
  '}',
  '&a',
  '*a',
  '!!str ',
  '|',
  '>',
  '%',
  '?',
  ' ',
  '  ',
  '\n',
  '\n  ',
  '\t',
  '0',
  '00',
  '.',
  'e',
  'E',
  '+',
  'x',
  'o',
  '_',
  '~',
  'null',
  'true',
  'True',
  'yes',
  '.inf',
  '.nan',
  '-0',
  '1e3',
  '0x1F',
  '0o17',
  '1_000',
  '\\',
  "''",
  'é',
  '\r',
  '<<: ',
  'key: v\n',
];

function mutate(text: string, r: () => number): string {
  const lines = text.split('\n');
  const n = 1 + Math.floor(r() * 3);
  let out = text;
  for (let k = 0; k < n; k++) {
    const op = r();
    if (op < 0.5) {
      const at = Math.floor(r() * (out.length + 1));
      out = out.slice(0, at) + INSERTS[Math.floor(r() * INSERTS.length)] + out.slice(at);
    } else if (op < 0.7) {
      const at = Math.floor(r() * out.length);
      out = out.slice(0, at) + out.slice(at + 1 + Math.floor(r() * 3));
    } else if (op < 0.85) {
      const i = Math.floor(r() * lines.length);
      out = out + '\n' + (lines[i] ?? '');
    } else {
      out = out.replace(/\n {2}/, r() < 0.5 ? '\n   ' : '\n ');
    }
  }
  return out;
}

describe('parsePlainYaml', () => {
  it("reads the seed's configs exactly as yaml does", () => {
    expect(seedConfigs.length).toBe(4);
    for (const text of seedConfigs) {
      const fast = parsePlainYaml(text);
      expect(fast).not.toBeNull();
      expect(viaYaml(text)).toEqual({ value: fast });
    }
  });

  it('never disagrees with yaml on 8,000 mutated configs: same value, or declines', () => {
    const r = rng(20261201);
    let accepted = 0;
    for (let i = 0; i < 8_000; i++) {
      const text = mutate(configs[i % configs.length]!, r);
      const fast = parsePlainYaml(text);
      if (fast === null) continue;
      accepted++;
      // The text in the comparison, so that a failure shows the case.
      expect({ text, full: viaYaml(text) }).toEqual({ text, full: { value: fast } });
    }
    // The mutations are mostly harmless (a changed digit, an added space): many stay in the subset.
    expect(accepted).toBeGreaterThan(800);
  }, 180_000);

  it.each([
    ['a flow mapping', 'a: {b: 1}\n'],
    ['an anchor and alias', 'a: &x 1\nb: *x\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['a comment after a value', 'a: 1 # one\n'],
    ['a comment after a quoted value', "a: 'x' # one\n"],
    ['a block scalar', 'a: |\n  text\n'],
    ['a multi-line plain scalar', 'a: one\n  two\n'],
    ['a leading-zero number', 'a: 007\n'],
    ['a hexadecimal number', 'a: 0x1F\n'],
    ['a list of mappings', 'a:\n- b: 1\n'],
    ['a tab', 'a:\n\tb: 1\n'],
    ['a tag', 'a: !!str 1\n'],
    ['a document marker', '---\na: 1\n'],
  ])('leaves %s to yaml', (_what, text) => {
    expect(parsePlainYaml(text)).toBeNull();
  });

  it('reads lists at the key’s indentation, quoted scalars, nulls and numbers as yaml does', () => {
    const text = [
      'data:',
      '  datasets:',
      '  - Anthropic/hh-rlhf',
      "  - 'it''s: quoted'",
      '  max_length: 1024',
      'training:',
      '  lr: 5.0e-07',
      '  resume_from_checkpoint: null',
      '  bf16: true',
      '  empty:',
      '  note: "plain double"',
      '  tags: []',
      'model: 7b-instruct',
      '',
    ].join('\n');
    const fast = parsePlainYaml(text);
    expect(fast).toEqual({
      data: { datasets: ['Anthropic/hh-rlhf', "it's: quoted"], max_length: 1024 },
      training: {
        lr: 5e-7,
        resume_from_checkpoint: null,
        bf16: true,
        empty: null,
        note: 'plain double',
        tags: [],
      },
      model: '7b-instruct',
    });
    expect(viaYaml(text)).toEqual({ value: fast });
  });
});
