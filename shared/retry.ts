/**
 * The one backoff of the app. Every loop that tries work again after a failure states its numbers as a
 * `RetryPolicy`, and its waits come from `retryDelayMs`, so how long anything waits is written in one
 * place per loop and computed in one place for all. `retry` runs the loop itself for notify's sends and
 * its ledger writes, the import's redeliveries, the producer's sends to the intake queue, the
 * evaluation's wait for the aggregation lock and the embedded stack's polls; the stores' batch reads and
 * writes (store/batch.ts) run their own loop over what is left unprocessed, with `retryDelayMs`. Pure
 * apart from the sleep and the clock it is handed.
 */

export interface RetryPolicy {
  /** Tries in all, the first included (`Infinity`: bounded by `withinMs` alone). */
  readonly attempts: number;
  /** The wait before the first retry, ms; each later retry doubles it. Also the shortest wait. */
  readonly baseMs: number;
  /** The longest wait, ms. */
  readonly capMs: number;
  /**
   * The random share of each wait, 0..1: 0 waits exactly; 0.5 waits between half of it and all of it,
   * so that callers that failed together do not all come back at the same instant.
   */
  readonly jitter: number;
  /** Gives up once this much time has passed since the first try, whatever `attempts` allows (ms). */
  readonly withinMs?: number;
}

/**
 * The wait before retry `n` (1 = the first retry): `baseMs · 2^(n-1)`, at most `capMs`, less its random
 * share. A caller that knows when trying again makes sense (when a lease ends) suggests that wait
 * instead of the doubling; it is still kept within `baseMs`..`capMs`.
 */
export function retryDelayMs(p: RetryPolicy, n: number, random: () => number = Math.random, suggestedMs?: number): number {
  const wanted = suggestedMs ?? p.baseMs * 2 ** (n - 1);
  const bounded = Math.min(p.capMs, Math.max(p.baseMs, wanted));
  return bounded * (1 - p.jitter * random());
}

/** What one try ended in: done with a value, or worth another try (`why` is kept for the caller). */
export type Attempt<T, W> = { done: T } | { again: W; afterMs?: number };

export type RetryResult<T, W> = { ok: true; value: T; attempts: number } | { ok: false; attempts: number; last: W };

export interface RetryEnv<W = unknown> {
  sleep: (ms: number) => Promise<void>;
  /** Needed by a policy with `withinMs`. */
  now?: () => Date;
  random?: () => number;
  /** Told before each wait, with what the failed try said and how long the wait is. */
  onWait?: (why: W, waitMs: number) => void;
}

export const done = <T>(value: T): { done: T } => ({ done: value });
export const again = <W>(why: W, afterMs?: number): { again: W; afterMs?: number } => (afterMs === undefined ? { again: why } : { again: why, afterMs });

/**
 * Runs `attempt` (with its try number, from 1) until it is done or the policy gives up, waiting
 * `retryDelayMs` between tries. A try that must stop everything (a permanent error) returns `done`
 * with that answer, or throws: `retry` never catches.
 */
export async function retry<T, W>(policy: RetryPolicy, attempt: (n: number) => Promise<Attempt<T, W>>, env: RetryEnv<W>): Promise<RetryResult<T, W>> {
  if (policy.withinMs !== undefined && !env.now) throw new TypeError('a retry policy with withinMs needs a clock (env.now)');
  const started = env.now?.().getTime() ?? 0;
  for (let n = 1; ; n++) {
    const r = await attempt(n);
    if ('done' in r) return { ok: true, value: r.done, attempts: n };
    const spent = policy.withinMs !== undefined && env.now!().getTime() - started >= policy.withinMs;
    if (n >= policy.attempts || spent) return { ok: false, attempts: n, last: r.again };
    const wait = retryDelayMs(policy, n, env.random, r.afterMs);
    env.onWait?.(r.again, wait);
    await env.sleep(wait);
  }
}
