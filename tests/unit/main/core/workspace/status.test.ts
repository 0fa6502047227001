import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { deriveStatus, RECENT_WRITE_MS } from '../../../../../src/main/core/workspace/status';
import { parseStatusFile } from '../../../../../src/main/core/workspace/status-file';
import { parseFailedText } from '../../../../../src/main/core/workspace/files';

const none = { failed: null, statusFile: null, hasFinalCheckpoint: false, lastWriteMs: null };

describe('deriveStatus', () => {
  it('FAILED.txt means failed, with its step and traceback', () => {
    const failed = parseFailedText(
      'Failed at step 137\nTraceback (most recent call last):\n  x\nRuntimeError: boom\n',
    );
    const s = deriveStatus({ ...none, failed, hasFinalCheckpoint: true });
    expect(s).toMatchObject({ state: 'failed', source: 'failed-file', failedAtStep: 137 });
    expect(s.traceback).toBe('Traceback (most recent call last):\n  x\nRuntimeError: boom');
  });

  it("trusts Expdesk's status file", () => {
    const sf = parseStatusFile({ schema: 'expdesk.status/1', state: 'stopped', exit_code: 130 }).value;
    expect(deriveStatus({ ...none, statusFile: sf })).toMatchObject({
      state: 'stopped',
      source: 'status-file',
    });
  });

  it('does not trust a running status whose process is gone on this host', () => {
    const sf = parseStatusFile({
      schema: 'expdesk.status/1',
      state: 'running',
      pid: 2 ** 22 + 12345,
      hostname: os.hostname(),
    }).value;
    expect(deriveStatus({ ...none, statusFile: sf })).toMatchObject({
      state: 'unknown',
      source: 'status-file',
    });
  });

  it('labels inferences as inferred', () => {
    expect(deriveStatus({ ...none, hasFinalCheckpoint: true })).toMatchObject({
      state: 'completed',
      source: 'inferred',
    });
    const now = 1_000_000_000;
    expect(deriveStatus({ ...none, lastWriteMs: now - 5000, now })).toMatchObject({
      state: 'running',
      source: 'inferred',
    });
    expect(deriveStatus({ ...none, lastWriteMs: now - RECENT_WRITE_MS - 1, now })).toMatchObject({
      state: 'unknown',
      source: 'inferred',
    });
  });

  it('reports a status file of the wrong shape as a problem', () => {
    const r = parseStatusFile({ state: 'exploded' });
    expect(r.value).toBeNull();
    expect(r.problems[0]!.file).toBe('expdesk_status.json');
  });
});
