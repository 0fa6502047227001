import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { composeConfig, ConfigError, freezeConfig } from '../../../../../src/main/core/configs/compose';
import { tmpDir } from '../../../../helpers/tmp';

function files(spec: Record<string, string>): string {
  const dir = tmpDir();
  for (const [name, text] of Object.entries(spec)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('composeConfig', () => {
  it('merges defaults in order, nested, maps deeply, lists replaced, own keys on top', () => {
    const dir = files({
      'base/model.yaml': 'model:\n  name: llama-7b\n  layers: [1, 2, 3]\n  dtype: bf16\n',
      'base/train.yaml': 'defaults: [model]\ntraining:\n  lr: 1.0e-5\n  steps: 100\nmodel:\n  dtype: fp16\n',
      'dpo.yaml': 'defaults:\n  - base/train\nmodel:\n  layers: [9]\ntraining:\n  steps: 200\n',
    });
    const c = composeConfig(path.join(dir, 'dpo.yaml'));
    expect(c.config).toEqual({
      model: { name: 'llama-7b', layers: [9], dtype: 'fp16' },
      training: { lr: 1e-5, steps: 200 },
    });
    expect(c.files.map((f) => path.relative(dir, f))).toEqual([
      'base/model.yaml',
      'base/train.yaml',
      'dpo.yaml',
    ]);
    expect(c.base).toMatchObject({ training: { steps: 100 } });
    expect(c.origins.get('training.steps')).toMatchObject({
      file: path.join(dir, 'dpo.yaml'),
      line: 6,
      column: 3,
    });
  });

  it('has no base without a defaults list, (or an empty one), so no "changes from base"', () => {
    const dir = files({
      'plain.yaml': 'model:\n  name: tiny\ntraining:\n  lr: 0.1\n',
      'empty.yaml': 'defaults: []\nmodel:\n  name: tiny\n',
    });
    const plain = composeConfig(path.join(dir, 'plain.yaml'), { overrides: ['training.lr=0.2'] });
    expect(plain.config).toEqual({ model: { name: 'tiny' }, training: { lr: 0.2 } });
    expect(plain.base).toBeNull();
    expect(composeConfig(path.join(dir, 'empty.yaml')).base).toBeNull();
  });

  it('keeps the config before the overrides apart, for "changes made by overrides"', () => {
    const dir = files({
      'base.yaml': 'model:\n  name: tiny\ntraining:\n  lr: 0.1\n  steps: 10\nnote: lr ${training.lr}\n',
      'child.yaml': 'defaults: [base]\ntraining:\n  steps: 20\n',
    });
    const child = composeConfig(path.join(dir, 'child.yaml'), { overrides: ['training.lr=0.5'] });
    expect(child.base).toMatchObject({ training: { steps: 10, lr: 0.1 } });
    expect(child.beforeOverrides).toEqual({
      model: { name: 'tiny' },
      training: { lr: 0.1, steps: 20 },
      note: 'lr 0.1',
    });
    expect(child.config).toMatchObject({ training: { lr: 0.5, steps: 20 }, note: 'lr 0.5' });
    expect(composeConfig(path.join(dir, 'child.yaml')).beforeOverrides).toBeNull();
  });

  it('applies typed overrides last and refuses unknown keys with their nearest neighbours', () => {
    const dir = files({ 'c.yaml': 'dpo:\n  beta: 0.1\ntraining:\n  lr: 0.001\n  seed: 1\n' });
    const file = path.join(dir, 'c.yaml');
    const c = composeConfig(file, {
      overrides: ['dpo.beta=0.5', 'training.seed=7', '+training.tags=[a, b]'],
    });
    expect(c.config).toEqual({ dpo: { beta: 0.5 }, training: { lr: 0.001, seed: 7, tags: ['a', 'b'] } });
    const e = errorOf(() => composeConfig(file, { overrides: ['training.lrr=0.1'] }));
    expect(e.message).toMatch(/no config defines 'training.lrr' \(nearest: training\.lr/);
    expect(e.message).toMatch(/\+training\.lrr=0\.1/);
    expect(errorOf(() => composeConfig(file, { overrides: ['+dpo.beta=1'] })).message).toMatch(
      /already defined/,
    );
    expect(composeConfig(file, { overrides: ['++dpo.beta=1', '++x.y=2'] }).config).toMatchObject({
      dpo: { beta: 1 },
      x: { y: 2 },
    });
  });

  it('interpolates ${dotted.path}, typed when whole, as text inside strings', () => {
    const dir = files({
      'c.yaml':
        'model:\n  name: m7b\n  size: 7\nrun:\n  tag: "${model.name}-x${model.size}"\n  size: ${model.size}\n  lit: "\\\\${model.name}"\n',
    });
    const c = composeConfig(path.join(dir, 'c.yaml'), { overrides: ['model.size=13'] });
    expect(c.config.run).toEqual({ tag: 'm7b-x13', size: 13, lit: '${model.name}' });
  });

  it('names file, line and column for every kind of error', () => {
    const dir = files({
      'bad.yaml': 'a: 1\nb: [1, 2\n',
      'dup.yaml': 'a: 1\nb: 2\na: 3\n',
      'missing.yaml': 'defaults:\n  - nothere\na: 1\n',
      'cyc1.yaml': 'defaults: [cyc2]\n',
      'cyc2.yaml': 'x: 1\ndefaults: [cyc1]\n',
      'interp.yaml': 'a:\n  b: ${a.c}\n',
      'bomb.yaml':
        [
          'a: &a [x, x, x, x, x, x, x, x, x]',
          ...'bcdefgh'.split('').map(
            (c, i) =>
              `${c}: &${c} [${Array(9)
                .fill('*' + 'abcdefgh'[i])
                .join(', ')}]`,
          ),
        ].join('\n') + '\n',
    });
    const at = (name: string): ConfigError => errorOf(() => composeConfig(path.join(dir, name)));
    expect(at('bad.yaml').pos).toMatchObject({ file: path.join(dir, 'bad.yaml') });
    expect(at('bad.yaml').pos!.line).toBeGreaterThanOrEqual(2);
    expect(at('dup.yaml').pos).toMatchObject({ line: 3, column: 1 });
    expect(at('dup.yaml').message).toMatch(/unique/i);
    expect(at('missing.yaml').pos).toMatchObject({ line: 2, column: 5 });
    expect(at('missing.yaml').message).toMatch(/default 'nothere' not found/);
    expect(at('cyc1.yaml').message).toMatch(/cycle in defaults: cyc1\.yaml → cyc2\.yaml → cyc1\.yaml/);
    expect(at('cyc1.yaml').pos).toMatchObject({ file: path.join(dir, 'cyc2.yaml'), line: 2 });
    expect(at('interp.yaml').pos).toMatchObject({ line: 2, column: 3 });
    expect(at('interp.yaml').message).toMatch(/no key a\.c/);
    expect(at('bomb.yaml').message).toMatch(/alias/i);
  });
});

describe('freezeConfig', () => {
  it('is complete and plain, names the run, and reads back to exactly the resolved values', () => {
    const dir = files({
      'base.yaml':
        'experiment:\n  name: x\n  output_dir: ./out\ntraining:\n  lr: 1e-5\n  epochs: 3.0\n  flag: "yes"\n',
      'run.yaml': 'defaults: [base]\ntraining:\n  note: "${experiment.name}"\n',
    });
    const c = composeConfig(path.join(dir, 'run.yaml'));
    const frozen = freezeConfig(c, { name: 'exp001_x', outputDir: '/w/experiments/exp001_x' });
    expect(frozen.text).not.toMatch(/defaults|\$\{/);
    expect(frozen.text).toContain('epochs: 3.0');
    expect(parse(frozen.text)).toEqual(frozen.config);
    expect(frozen.config).toMatchObject({
      experiment: { name: 'exp001_x', output_dir: '/w/experiments/exp001_x' },
      training: { lr: 1e-5, flag: 'yes', note: 'x' },
    });
  });
});
