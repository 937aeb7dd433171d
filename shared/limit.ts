/**
 * Bounded concurrency, for the stores (batch requests, change-log shards) and the use cases (notices,
 * providers) alike: a plain helper with no I/O of its own, so it sits below both.
 */

/** Runs `fn` over `xs` with at most `limit` in flight; results are in input order. */
export async function mapLimit<T, R>(xs: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, xs.length) }, async () => {
      while (next < xs.length) {
        const i = next++;
        out[i] = await fn(xs[i]!, i);
      }
    }),
  );
  return out;
}
