import { describe, expect, it } from 'vitest';
import { isAlwaysDifferKey } from '../../../src/shared/identity-keys';
import { comparePatches } from '../../../src/shared/patch-files';
import { diffRequirements, normalizePackageName } from '../../../src/shared/requirements-diff';
import { diffConfigPair } from '../../../src/shared/run-diff';

describe('requirements diff', () => {
  it('matches package names as PEP 503 normalises them', () => {
    expect(normalizePackageName('Typing_Extensions')).toBe('typing-extensions');
    expect(normalizePackageName('zope.interface')).toBe('zope-interface');
    expect(normalizePackageName('A__b-.c')).toBe('a-b-c');
    const d = diffRequirements(
      'Typing_Extensions==4.9.0\nPyYAML==6.0.1\n',
      'typing-extensions==4.9.0\npyyaml==6.0.2\n',
    );
    expect(d.unchanged).toBe(1);
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(d.changed).toEqual([{ name: 'pyyaml', from: '6.0.1', to: '6.0.2' }]);
  });

  it('lists added, removed and changed packages by name', () => {
    const a = 'numpy==1.26.4\ntqdm==4.66.1\ntorch==2.1.0\n';
    const b = 'torch==2.2.0\nnumpy==1.26.4\nrich==13.7.0\naccelerate==0.27.0\n';
    const d = diffRequirements(a, b);
    expect(d.added).toEqual([
      { name: 'accelerate', version: '0.27.0' },
      { name: 'rich', version: '13.7.0' },
    ]);
    expect(d.removed).toEqual([{ name: 'tqdm', version: '4.66.1' }]);
    expect(d.changed).toEqual([{ name: 'torch', from: '2.1.0', to: '2.2.0' }]);
    expect(d.unchanged).toBe(1);
  });

  it('keeps what pip freeze writes besides pins: local builds, editables, extras, markers, comments', () => {
    const a = [
      '# pip freeze',
      'mypkg==0.1.0',
      'requests[socks]==2.31.0 ; python_version >= "3.8"',
      '-e git+https://example.invalid/lib.git@abc123#egg=mylib',
      '--index-url https://pypi.invalid/simple',
      '',
    ].join('\n');
    const b = [
      'mypkg @ file:///home/me/mypkg',
      'requests==2.32.0',
      '-e git+https://example.invalid/lib.git@def456#egg=mylib',
    ].join('\r\n');
    const d = diffRequirements(a, b);
    expect(d.changed).toEqual([
      {
        name: 'mylib',
        from: '-e git+https://example.invalid/lib.git@abc123#egg=mylib',
        to: '-e git+https://example.invalid/lib.git@def456#egg=mylib',
      },
      { name: 'mypkg', from: '0.1.0', to: '@ file:///home/me/mypkg' },
      { name: 'requests', from: '2.31.0', to: '2.32.0' },
    ]);
    expect(d.skipped).toEqual([{ side: 'a', line: 5, text: '--index-url https://pypi.invalid/simple' }]);
  });
});

describe('keys that always differ', () => {
  it('names the run and its folder, never a setting that happens to be called name', () => {
    for (const k of ['experiment.name', 'experiment.output_dir', 'output_dir', 'wandb.run_name'])
      expect(isAlwaysDifferKey(k)).toBe(true);
    for (const k of [
      'model.name',
      'algorithm.name',
      'training.lr',
      'experiment.seed',
      'data.output_dir_suffix',
    ])
      expect(isAlwaysDifferKey(k)).toBe(false);
  });

  it('are left out of the changed keys of a diff and listed apart', () => {
    const d = diffConfigPair(
      {
        experiment: { name: 'exp001', output_dir: 'experiments/exp001' },
        model: { name: 'llama-7b' },
        lr: 1,
      },
      {
        experiment: { name: 'exp002', output_dir: 'experiments/exp002' },
        model: { name: 'llama-13b' },
        wd: 0.1,
      },
    );
    expect(d.changed).toEqual([{ key: 'model.name', from: 'llama-7b', to: 'llama-13b' }]);
    expect(d.added).toEqual([{ key: 'wd', value: 0.1 }]);
    expect(d.removed).toEqual([{ key: 'lr', value: 1 }]);
    expect(d.identity.map((r) => r.key)).toEqual(['experiment.name', 'experiment.output_dir']);
  });
});

describe('patches compared', () => {
  const section = (file: string, body: string): string =>
    `diff --git a/${file} b/${file}\nindex 1111111..2222222 100644\n--- a/${file}\n+++ b/${file}\n@@ -1 +1 @@\n${body}\n`;
  it('tells files changed alike, differently, and by one run only', () => {
    const a = section('same.py', '-x\n+y') + section('differ.py', '-a\n+b') + section('only_a.py', '+z');
    const b = section('same.py', '-x\n+y') + section('differ.py', '-a\n+c\n+d');
    const rows = comparePatches(a, b);
    expect(rows.map((r) => [r.path, r.a?.added ?? null, r.b?.added ?? null, r.same])).toEqual([
      ['differ.py', 1, 2, false],
      ['only_a.py', 1, null, false],
      ['same.py', 1, 1, true],
    ]);
    expect(comparePatches(null, null)).toEqual([]);
  });
});
