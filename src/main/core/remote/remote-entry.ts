/**
 * The summary cache entry of a remote experiment (remote-workspace.ts): a
 * local entry plus the small files' texts, so one changed file re-derives.
 */
import type { CacheEntry } from '../summary/summary-store';
import type { SmallFileText } from '../workspace/files';
import { LAYOUT } from '../workspace/layout';
import type { RunKind } from './remote-run-files';

/** Bump when the remote part of an entry changes shape (2: logs/system.jsonl is shipped too; 3: TensorBoard/MLflow runs' files). */
export const REMOTE_ENTRY_VERSION = 3;

export type TextKey = 'config' | 'metadata' | 'failed' | 'status' | 'annotations';
export const TEXT_KEYS: TextKey[] = ['config', 'metadata', 'failed', 'status', 'annotations'];
export const TEXT_FILES: Record<TextKey, string> = {
  config: LAYOUT.config,
  metadata: LAYOUT.metadata,
  failed: LAYOUT.failed,
  status: LAYOUT.status,
  annotations: LAYOUT.annotations,
};

/** A summary cache entry of a remote experiment: the texts are kept so one changed file re-derives. */
export interface RemoteEntry extends CacheEntry {
  remote: {
    version: number;
    texts: Record<TextKey, SmallFileText>;
    more: boolean;
    /** logs/system.jsonl has bytes beyond what was read (ask for them as for metrics). */
    systemMore?: boolean;
    /** A TensorBoard or MLflow run: its files are mirrored by RemoteRunFiles and read from there. */
    other?: RunKind;
  };
}
