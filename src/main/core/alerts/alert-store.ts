/**
 * What alerts have fired, remembered across restarts: one marker file per
 * run and cause in Expdesk's state directory (userStateDir()/alerts, beside
 * the run records of core/runs/run-record.ts), never in the experiment folder.
 * A marker is created with O_EXCL, so of several Expdesk processes watching
 * one run (the app and an `expdesk watch`) exactly one fires each alert.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { userStateDir } from '../app/paths';

/** Causes of alerts, and `seen-running`: the run was watched while it ran (its end is news, not history). */
export type AlertMark = 'failed' | 'nonfinite' | 'stalled' | 'completed' | 'seen-running';

export class AlertStore {
  constructor(private readonly root: string = path.join(userStateDir(), 'alerts')) {}

  private file(location: string, mark: AlertMark): string {
    const key = createHash('sha256').update(location).digest('hex');
    return path.join(this.root, key.slice(0, 2), `${key}.${mark}`);
  }

  /**
   * Take the mark for this run; true only for the first taker ever. When the
   * state folder cannot be written the alert still fires (a repeat beats silence).
   */
  claim(location: string, mark: AlertMark): boolean {
    const file = this.file(location, mark);
    try {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      closeSync(openSync(file, 'wx', 0o600));
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code !== 'EEXIST';
    }
  }

  has(location: string, mark: AlertMark): boolean {
    return existsSync(this.file(location, mark));
  }
}
