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

/**
 * A gate for work that arrives over time (a streamed answer's items): at most
 * `limit` calls of the returned function run at once, the rest wait in order.
 */
export function limiter(limit: number): <R>(fn: () => Promise<R>) => Promise<R> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <R>(fn: () => Promise<R>): Promise<R> => {
    if (running < limit) running++;
    else await new Promise<void>((go) => waiting.push(go)); // the finishing call hands its slot over
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
