/**
 * What stop trusts: the kernel's word on a pid (start time, process group),
 * read right even for a process whose name is built to confuse a parser, and
 * a record that matches only the very process it was made for.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bootId,
  processIdentity,
  readRunRecord,
  runRecordFile,
  signalRecordedGroup,
  stillRunning,
  RUN_RECORD_SCHEMA,
  type RunRecord,
} from '../../../../../src/main/core/runs/run-record';
import { envOverrides } from '../../../../helpers/env';
import { tmpDir } from '../../../../helpers/tmp';

const env = envOverrides();
afterAll(() => env.restore());

describe.skipIf(process.platform !== 'linux')('run records', () => {
  it('reads pid, start time and group right for a process named "x) 1 2 (y"', async () => {
    const dir = tmpDir();
    const odd = path.join(dir, 'x) 1 2 (y');
    copyFileSync('/bin/sleep', odd);
    chmodSync(odd, 0o755);
    const p = spawn(odd, ['300'], { detached: true, stdio: 'ignore' });
    try {
      await new Promise((r) => p.once('spawn', r));
      const id = processIdentity(p.pid!);
      expect(id).not.toBeNull();
      expect(id!.pgid).toBe(p.pid);
      expect(id!.start).toMatch(/^\d+$/);
      expect(id!.zombie).toBe(false);
      const rec: RunRecord = {
        schema: RUN_RECORD_SCHEMA,
        exp_dir: dir,
        hostname: os.hostname(),
        boot_id: bootId(),
        wrapper: { pid: p.pid!, start: id!.start, pgid: p.pid! },
        child: { pid: p.pid!, start: id!.start, pgid: p.pid! },
        tmux_session: null,
      };
      expect(stillRunning(rec, rec.wrapper)).toBe(true);
      // A reused pid has another start time; another boot or host proves nothing either.
      expect(stillRunning(rec, { ...rec.wrapper, start: String(Number(id!.start) + 1) })).toBe(false);
      expect(stillRunning({ ...rec, boot_id: 'another-boot' }, rec.wrapper)).toBe(false);
      expect(stillRunning({ ...rec, hostname: 'elsewhere' }, rec.wrapper)).toBe(false);
      // Never a group the command does not lead, never pid 1.
      expect(signalRecordedGroup({ ...rec, child: { ...rec.child!, pgid: 1 } }, 'SIGTERM')).toBe(false);
      expect(signalRecordedGroup({ ...rec, child: { ...rec.child!, start: '1' } }, 'SIGTERM')).toBe(false);
      expect(processIdentity(p.pid!)!.zombie).toBe(false);
      const gone = new Promise((r) => p.once('exit', r));
      expect(signalRecordedGroup(rec, 'SIGTERM')).toBe(true);
      await gone;
      expect(stillRunning(rec, rec.wrapper)).toBe(false);
    } finally {
      p.kill('SIGKILL');
    }
  });

  it('a record is found only for the real path it was made for', () => {
    env.set({ EXPDESK_STATE_DIR: tmpDir('expdesk-state-') });
    const dir = tmpDir();
    const exp = path.join(dir, 'exp001');
    mkdirSync(exp);
    const file = runRecordFile(exp);
    mkdirSync(path.dirname(file), { recursive: true });
    const rec = {
      schema: RUN_RECORD_SCHEMA,
      exp_dir: exp,
      hostname: os.hostname(),
      boot_id: bootId(),
      wrapper: { pid: 1234, start: '5', pgid: 1234 },
      child: null,
      tmux_session: null,
    };
    writeFileSync(file, JSON.stringify(rec));
    expect(readRunRecord(exp)).toMatchObject({ exp_dir: exp });
    // The same key with another folder named inside (a tampered record) proves nothing.
    writeFileSync(file, JSON.stringify({ ...rec, exp_dir: path.join(dir, 'other') }));
    expect(readRunRecord(exp)).toBeNull();
    // pid 1 is never a recorded process.
    writeFileSync(file, JSON.stringify({ ...rec, wrapper: { pid: 1, start: '5', pgid: 1 } }));
    expect(readRunRecord(exp)).toBeNull();
  });
});
