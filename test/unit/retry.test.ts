/** The one backoff (shared/retry.ts): the waits it computes, and the loop it runs. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retry, retryDelayMs, type Attempt, type RetryPolicy } from '#shared/retry.ts';

const arbPolicy = fc
  .record({ baseMs: fc.integer({ min: 1, max: 10_000 }), factor: fc.integer({ min: 1, max: 1000 }), jitter: fc.double({ min: 0, max: 1, noNaN: true }), attempts: fc.integer({ min: 1, max: 12 }) })
  .map(({ baseMs, factor, jitter, attempts }): RetryPolicy => ({ baseMs, capMs: baseMs * factor, jitter, attempts }));
const arbRandom = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('retryDelayMs', () => {
  it('an exact policy (jitter 0) waits 100, 200, 400, 800, then stays at its cap', () => {
    const p: RetryPolicy = { attempts: 10, baseMs: 100, capMs: 1_000, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6, 20].map((n) => retryDelayMs(p, n))).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it('jitter 0.5 waits between half of the plain wait and all of it, and uses both ends', () => {
    const p: RetryPolicy = { attempts: 10, baseMs: 400, capMs: 20_000, jitter: 0.5 };
    expect(retryDelayMs(p, 3, () => 0)).toBe(1_600);
    expect(retryDelayMs(p, 3, () => 0.999_999)).toBeCloseTo(800, 2);
    expect(retryDelayMs(p, 9, () => 0.5)).toBe(15_000); // capped at 20 s, then three quarters of it
  });

  it('never waits longer than the cap nor less than the jittered base, and never less for a later retry', () => {
    fc.assert(
      fc.property(arbPolicy, fc.integer({ min: 1, max: 60 }), arbRandom, (p, n, r) => {
        const wait = retryDelayMs(p, n, () => r);
        expect(wait).toBeLessThanOrEqual(p.capMs);
        expect(wait).toBeGreaterThanOrEqual(p.baseMs * (1 - p.jitter) - 1e-9);
        expect(retryDelayMs(p, n + 1, () => r)).toBeGreaterThanOrEqual(wait);
      }),
    );
  });

  it('a suggested wait (until a lease ends) replaces the doubling, still within base and cap', () => {
    const p: RetryPolicy = { attempts: Infinity, baseMs: 2_000, capMs: 15_000, jitter: 0 };
    expect(retryDelayMs(p, 1, Math.random, 7_500)).toBe(7_500);
    expect(retryDelayMs(p, 1, Math.random, 100)).toBe(2_000);
    expect(retryDelayMs(p, 1, Math.random, -5_000)).toBe(2_000);
    expect(retryDelayMs(p, 9, Math.random, 59_000)).toBe(15_000);
  });
});

/** A clock that moves only when slept, remembering every wait. */
function fakeClock(start = Date.parse('2024-02-29T16:30:00Z')) {
  let t = start;
  const waits: number[] = [];
  return { waits, now: () => new Date(t), sleep: async (ms: number) => void (waits.push(ms), (t += ms)) };
}

describe('retry', () => {
  const exact: RetryPolicy = { attempts: 4, baseMs: 100, capMs: 10_000, jitter: 0 };

  it('stops at the first try that is done: no wait after it', async () => {
    const clock = fakeClock();
    const tries: number[] = [];
    const r = await retry(exact, async (n): Promise<Attempt<string, string>> => (tries.push(n), n < 3 ? { again: `fail ${n}` } : { done: 'ok' }), clock);
    expect(r).toEqual({ ok: true, value: 'ok', attempts: 3 });
    expect(tries).toEqual([1, 2, 3]);
    expect(clock.waits).toEqual([100, 200]);
  });

  it('gives up after `attempts` tries with the last reason, without a wait after the last', async () => {
    const clock = fakeClock();
    const r = await retry(exact, async (n): Promise<Attempt<never, string>> => ({ again: `fail ${n}` }), clock);
    expect(r).toEqual({ ok: false, attempts: 4, last: 'fail 4' });
    expect(clock.waits).toEqual([100, 200, 400]);
  });

  it('a single attempt never waits', async () => {
    const clock = fakeClock();
    expect(await retry({ ...exact, attempts: 1 }, async () => ({ again: 'x' }), clock)).toEqual({ ok: false, attempts: 1, last: 'x' });
    expect(clock.waits).toEqual([]);
  });

  it('withinMs: gives up once that much time has passed since the first try, however many attempts are left', async () => {
    const clock = fakeClock();
    const policy: RetryPolicy = { attempts: Infinity, baseMs: 2_000, capMs: 15_000, jitter: 0, withinMs: 60_000 };
    const told: number[] = [];
    const r = await retry(policy, async () => ({ again: 'held', afterMs: 59_000 }), { ...clock, onWait: (_why, ms) => told.push(ms) });
    // 15 s waits (the suggestion capped): tries at 0, 15, 30, 45 and 60 s; the last finds the minute spent.
    expect(r).toEqual({ ok: false, attempts: 5, last: 'held' });
    expect(clock.waits).toEqual([15_000, 15_000, 15_000, 15_000]);
    expect(told).toEqual(clock.waits);
    await expect(retry(policy, async () => ({ done: 1 }), { sleep: clock.sleep })).rejects.toThrow(/needs a clock/);
  });

  it('a throwing try ends the loop with its error (retry never catches)', async () => {
    const clock = fakeClock();
    let n = 0;
    await expect(retry(exact, async () => (++n === 2 ? Promise.reject(new Error('permanent')) : { again: 'transient' }), clock)).rejects.toThrow('permanent');
    expect(n).toBe(2);
    expect(clock.waits).toEqual([100]);
  });

  it('for any policy and any run of failures: at most `attempts` tries, one wait between each two, each within base and cap', async () => {
    await fc.assert(
      fc.asyncProperty(arbPolicy, fc.integer({ min: 0, max: 15 }), arbRandom, async (p, failures, r) => {
        const clock = fakeClock();
        let tries = 0;
        const out = await retry(p, async (n) => (++tries, n > failures ? { done: n } : { again: n }), { ...clock, random: () => r });
        expect(tries).toBe(Math.min(failures + 1, p.attempts));
        expect(out.ok).toBe(failures < p.attempts);
        expect(clock.waits).toHaveLength(tries - 1);
        for (const w of clock.waits) {
          expect(w).toBeLessThanOrEqual(p.capMs);
          expect(w).toBeGreaterThanOrEqual(p.baseMs * (1 - p.jitter) - 1e-9);
        }
      }),
    );
  });
});
