/**
 * What the readers of runs kept in several files share (a TensorBoard run's
 * event files, an MLflow run's metric files): MetricsTail's shape (`state`,
 * `ino`), so a MetricsFeed reads them like metrics.jsonl, and a state that
 * round-trips through the summary cache — each file's offset and inode kept
 * by the subclass, no fingerprint.
 */
import path from 'node:path';
import type { MetricsTailState } from './metrics-tail';

export abstract class MultiFileTail<S extends MetricsTailState> {
  /** Always null: each file's inode is checked on its own. */
  ino: number | null = null;
  protected st: S;

  constructor(
    /** The feed key: DIR/<a name no file has>; the run's folder is its dirname. */
    readonly key: string,
    state?: MetricsTailState,
  ) {
    this.st = this.normalize(state);
  }

  /** A full state from a cached (or empty, or older) one. */
  protected abstract normalize(state?: MetricsTailState): S;

  /** The fields every reader state has, from a cached one (missing ones start over). */
  protected common(s: Partial<MetricsTailState>): MetricsTailState {
    return {
      offset: s.offset ?? 0,
      lineCount: s.lineCount ?? 0,
      malformedCount: s.malformedCount ?? 0,
      malformed: s.malformed ?? [],
      fingerprint: '',
    };
  }

  get state(): S {
    return this.st;
  }

  set state(s: MetricsTailState) {
    this.st = this.normalize(s);
  }

  get dir(): string {
    return path.dirname(this.key);
  }
}
