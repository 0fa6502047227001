/**
 * Operations over experiments wherever each one is, written once for every
 * face (the host's requests, the CLI's commands): each location goes to its
 * backend (./resolve.ts), each backend is asked once for all of its own, and
 * answers name experiments as the user gave them. Local and remote
 * experiments mix freely.
 */
import type { ExperimentDetail } from '../../../shared/model';
import type { VerifyResult } from '../../../shared/verify';
import type { VerifyOptions } from '../verify/verify';
import type { ExportSource } from './backend';
import { mapByBackend, resolveBackend, type Backends } from './resolve';
import { reworded } from './reworded';

/** Details of experiments, in order (one round trip per SSH host); a missing one fails, naming it. */
export function detailsAcross(locations: string[], backends: Backends): Promise<ExperimentDetail[]> {
  return mapByBackend(locations, backends, (b, l) => b.details(l));
}

/**
 * Verify a reproduction against its original, either or both remote: their
 * metrics are read from local folders (a remote one's mirrored here first),
 * and the answer and its errors name each side as given.
 */
export async function verifyAcross(
  original: string,
  reproduced: string,
  backends: Backends,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  // Either side may be a folder or its metrics.jsonl file.
  const [o, r] = await mapByBackend([original, reproduced], backends, async (b, l) =>
    (await b.localMetrics(l, { allowFile: true })).map((m, i) => ({ dir: m.dir, as: b.normalize(l[i]!) })),
  );
  const text = (message: string): string => {
    for (const s of [o!, r!]) if (s.dir !== s.as) message = message.split(s.dir).join(s.as);
    return message;
  };
  try {
    // Loaded here: the commands that only read details (show, compare) never verify.
    const { verifyRuns } = await import('../verify/verify');
    const v = await verifyRuns(o!.dir, r!.dir, options);
    return {
      ...v,
      original: o!.dir === o!.as ? v.original : o!.as,
      reproduced: r!.dir === r!.as ? v.reproduced : r!.as,
      warnings: v.warnings.map(text),
      message: text(v.message),
    };
  } catch (err) {
    throw reworded(err, text);
  }
}

/**
 * Run `fn` on a local copy of the experiment for a bundle (a local one where
 * it is, a remote one fetched with its commit); the copy is removed after,
 * and errors name the experiment as given.
 */
export async function withExportSource<T>(
  location: string,
  backends: Backends,
  opts: { withLogs?: boolean; withCheckpoint?: boolean },
  fn: (source: ExportSource, shown: string) => Promise<T>,
): Promise<T> {
  const backend = await resolveBackend(location, backends);
  const source = await backend.exportSource(location, opts);
  try {
    return await fn(source, backend.normalize(location));
  } catch (err) {
    throw reworded(err, source.text);
  } finally {
    source.cleanup();
  }
}
