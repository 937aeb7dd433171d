/**
 * Bounded concurrency, for the stores (batch requests, change-log shards) and the use cases (notices,
 * providers) alike: a plain helper with no I/O of its own, so it sits below both.
 */

/**
 * Runs `fn` over `xs` with at most `limit` in flight; results are in input order.
 *
 * At the first failure it starts nothing new, waits until every call already in flight has settled,
 * and only then rejects, with that first error (later ones are dropped). So when the caller moves
 * on (gives a lock back, reports the run failed), nothing it started is still writing: a write that
 * outlived its run could land after a newer run's and undo it.
 */
export async function mapLimit<T, R>(xs: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  await Promise.all(
    Array.from({ length: Math.min(limit, xs.length) }, async () => {
      while (!failure && next < xs.length) {
        const i = next++;
        try {
          out[i] = await fn(xs[i]!, i);
        } catch (err) {
          failure ??= { err };
        }
      }
    }),
  );
  if (failure) throw failure.err;
  return out;
}
