/**
 * fn over items with at most `limit` calls in flight, results in order. The
 * host keeps the chart columns of a few experiments at a time (MetricsFeeds);
 * asking for 50 runs' series at once makes them evict each other, so views
 * that read many runs' series ask a few at a time.
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
