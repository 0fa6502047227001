/**
 * The host's side of reproduction bundles (issue 5): a thin adapter over
 * core/bundle that forwards export progress as `bundle.progress` events (at
 * most every 200 ms); its errors (BundleError) are ExpdeskErrors, mapped to
 * ApiErrors by dispatch (./errors.ts). Where the experiment is (and
 * verification) is core/backend's: see ./interface-data.ts.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiError, type EventPayload, type RequestParams, type RequestResult } from '../../shared/contract';
import { defaultBundlePath, exportBundle, type BundleProgress, type LeftOut } from '../core/bundle/export';

/** Where a bundle goes when the interface gives no path: the user's Downloads folder, else home. */
export function defaultBundleDir(): string {
  const downloads = path.join(os.homedir(), 'Downloads');
  return existsSync(downloads) ? downloads : os.homedir();
}

/** At most this often per export, plus every phase change: enough for a progress bar, cheap on the wire. */
const PROGRESS_INTERVAL_MS = 200;

export async function exportBundleRequest(
  params: RequestParams<'bundle.export'>,
  emit: (payload: EventPayload<'bundle.progress'>) => void,
  /** What a remote fetch left out (host/remote.ts), named with the rest. */
  leftOut?: LeftOut[],
): Promise<RequestResult<'bundle.export'>> {
  const expDir = path.resolve(params.expDir);
  if (params.out !== undefined && !path.isAbsolute(params.out))
    throw new ApiError('bad-request', `out must be an absolute path, got ${params.out}`);
  const out = params.out ?? defaultBundlePath(expDir, defaultBundleDir());
  let lastPhase: string | null = null;
  let lastAt = 0;
  const onProgress = (p: BundleProgress): void => {
    const now = Date.now();
    if (p.phase === lastPhase && now - lastAt < PROGRESS_INTERVAL_MS) return;
    lastPhase = p.phase;
    lastAt = now;
    emit({ expDir, phase: p.phase, done: p.done, total: p.total });
  };
  return exportBundle({
    expDir,
    out,
    withCheckpoint: params.withCheckpoint,
    withLogs: params.withLogs,
    repository: params.repository,
    sourceFileLimitBytes: params.sourceFileLimitBytes,
    leftOut,
    onProgress,
  });
}
