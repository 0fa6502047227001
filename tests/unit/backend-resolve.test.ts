/**
 * The one decision of where a location lives (core/backend/resolve.ts): which
 * backend serves it, and answers of a batched operation coming back in the
 * order asked even when the locations are spread over backends.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExperimentBackend } from '../../src/main/core/backend/backend';
import {
  backendKind,
  mapByBackend,
  normalizeLocation,
  resolveBackend,
  type Backends,
} from '../../src/main/core/backend/resolve';

/** A backend that only answers `details` with its own name and each location (others are never called). */
function fake(kind: string, calls: string[][]): ExperimentBackend {
  return {
    kind,
    details: async (locations: string[]) => {
      calls.push(locations);
      return locations.map((l) => `${kind}:${l}`);
    },
  } as unknown as ExperimentBackend; // a stand-in with the one method these tests call
}

describe('resolveBackend', () => {
  it('sends ssh:// and host:/path to SSH, paths (even C:/x and relative ones) to the local disk', async () => {
    expect(backendKind('ssh://gpu1/data/exp')).toBe('ssh');
    expect(backendKind('alice@gpu1:/data/exp')).toBe('ssh');
    expect(backendKind('gpu1:runs')).toBe('ssh');
    expect(backendKind('/data/exp')).toBe('local');
    expect(backendKind('experiments/exp001')).toBe('local');
    expect(backendKind('./a:b')).toBe('local'); // a slash before the colon: a local file name
    expect(backendKind('C:/x')).toBe('local'); // a Windows drive, as git reads it
    // A malformed ssh:// location goes to SSH, which says what is wrong with it.
    expect(backendKind('ssh://bad host/x')).toBe('ssh');
    const local = fake('local', []);
    const ssh = fake('ssh', []);
    const backends: Backends = { local, ssh: async () => ssh };
    expect(await resolveBackend('/x', backends)).toBe(local);
    expect(await resolveBackend('ssh://h/x', backends)).toBe(ssh);
  });

  it('does not load the SSH backend for local locations', async () => {
    let loaded = false;
    const backends: Backends = {
      local: fake('local', []),
      ssh: () => {
        loaded = true;
        return fake('ssh', []);
      },
    };
    await mapByBackend(['/a', '/b'], backends, (b, l) => b.details(l));
    expect(loaded).toBe(false);
  });

  it('normalizes a local path to an absolute one and keeps a remote one as written', () => {
    expect(normalizeLocation('experiments/exp001')).toBe(path.resolve('experiments/exp001'));
    expect(normalizeLocation('gpu1:runs/exp001')).toBe('gpu1:runs/exp001');
  });

  it('asks each backend once for all of its locations and answers in the order asked', async () => {
    const localCalls: string[][] = [];
    const sshCalls: string[][] = [];
    const ssh = fake('ssh', sshCalls);
    const backends: Backends = { local: fake('local', localCalls), ssh: () => ssh };
    const asked = ['/a', 'ssh://h/b', '/c', 'h2:/d'];
    const answers = await mapByBackend(asked, backends, (b, l) => b.details(l));
    expect(answers).toEqual(['local:/a', 'ssh:ssh://h/b', 'local:/c', 'ssh:h2:/d']);
    expect(localCalls).toEqual([['/a', '/c']]);
    expect(sshCalls).toHaveLength(1);
  });
});
