/**
 * The per-node system files of a multi-node job (shared/system-metrics.ts):
 * which names under logs/ are a node's samples, and which node names a
 * request may ask for — never a path out of logs/.
 */
import { describe, expect, it } from 'vitest';
import { systemFileName, systemFileNode } from '../../../src/shared/system-metrics';

describe('per-node system files', () => {
  it('knows logs/system-<node>.jsonl by its name, and nothing else', () => {
    expect(systemFileNode('system-gpu-node-02.jsonl')).toBe('gpu-node-02');
    expect(systemFileNode('system-n1.cluster_a.jsonl')).toBe('n1.cluster_a');
    for (const other of [
      'system.jsonl',
      'system-.jsonl',
      'system-a b.jsonl',
      'system-a.jsonl\n',
      'metrics.jsonl',
    ])
      expect(systemFileNode(other), other).toBeNull();
  });

  it('names the wrapper’s file and a node’s file, and refuses a node name that is a path', () => {
    expect(systemFileName()).toBe('system.jsonl');
    expect(systemFileName('node2')).toBe('system-node2.jsonl');
    for (const bad of ['../../etc/passwd', 'a/b', '', 'x y'])
      expect(() => systemFileName(bad), bad).toThrow(/is not a node name/);
  });
});
