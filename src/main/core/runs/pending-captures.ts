/**
 * Environment captures still running beside runs that have started (pip
 * freeze, conda list, the GPU inventory: ./prepare.ts). A process that
 * launched runs waits for them before it exits (the CLI's entry, Electron's
 * quit), so what a run's record promises lands in its folder. No imports: the
 * CLI's entry loads this without loading the run machinery.
 */
const pending = new Set<Promise<unknown>>();

export function trackCapture(capture: Promise<unknown>): void {
  const settled = capture.catch(() => undefined).finally(() => pending.delete(settled));
  pending.add(settled);
}

/** Wait for every capture in progress; gives up after `limitMs` (each probe has its own timeout too). */
export async function settleCaptures(limitMs = 300_000): Promise<void> {
  if (pending.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs)));
  await Promise.race([Promise.all([...pending]), limit]);
  clearTimeout(timer);
}
