/**
 * A private tmux server per test file (TMUX_TMPDIR), so tests never touch the
 * user's tmux sessions, and everything they start is killed afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function privateTmux(): { env: Record<string, string>; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'expdesk-tmux-'));
  process.env.TMUX_TMPDIR = dir;
  delete process.env.TMUX;
  return {
    env: { TMUX_TMPDIR: dir },
    cleanup: () => {
      try {
        execFileSync('tmux', ['kill-server'], { env: { ...process.env, TMUX_TMPDIR: dir }, stdio: 'ignore' });
      } catch {
        // no server was started
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
