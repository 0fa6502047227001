/**
 * fn over items with at most `limit` calls in flight, results in the items'
 * order. One implementation for the core (bounded stats and reads) and the
 * renderer (views that ask for many runs' series at once: the host keeps
 * every run's chart columns within a points budget, and 50 requests at once
 * would push each other out of it).
 */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
