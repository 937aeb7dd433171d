/** Bounded concurrency (shared/limit.ts): the stores and the use cases rely on its order and its bound. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapLimit } from '#shared/limit.ts';
import { deferred } from '../support/barrier.ts';

describe('mapLimit', () => {
  it('runs each item once, keeps input order, and never has more than `limit` in flight', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 40 }), fc.integer({ min: 1, max: 12 }), async (delays, limit) => {
        let inFlight = 0;
        let peak = 0;
        const calls: number[] = [];
        const out = await mapLimit(delays, limit, async (d, i) => {
          calls.push(i);
          peak = Math.max(peak, ++inFlight);
          // Items finish out of order: a later one may end before an earlier one.
          for (let k = 0; k < d; k++) await Promise.resolve();
          inFlight--;
          return `${i}:${d}`;
        });
        expect(out).toEqual(delays.map((d, i) => `${i}:${d}`));
        expect(calls.sort((a, b) => a - b)).toEqual(delays.map((_, i) => i));
        expect(peak).toBeLessThanOrEqual(limit);
        if (delays.length >= limit) expect(peak).toBe(limit);
      }),
    );
  });

  it('stops at the first failure it meets and rejects with it', async () => {
    await expect(mapLimit([1, 2, 3], 2, async (x) => (x === 2 ? Promise.reject(new Error('two')) : x))).rejects.toThrow('two');
  });

  it('after a failure starts nothing new, and rejects only once what was in flight has settled, with the first error', async () => {
    // Items 0..2 are in flight (limit 3), each held by a barrier of its own; 3..9 wait their turn.
    const gates = Array.from({ length: 10 }, () => deferred<string>());
    const started: number[] = [];
    const settled: number[] = [];
    let rejected = false;
    const run = mapLimit([...gates.keys()], 3, async (i) => {
      started.push(i);
      try {
        return await gates[i]!.promise;
      } finally {
        settled.push(i);
      }
    }).catch((err: unknown) => {
      rejected = true;
      throw err;
    });
    await flush();
    expect(started).toEqual([0, 1, 2]);

    gates[1]!.reject(new Error('first'));
    await flush();
    expect(started, 'nothing new started after the failure').toEqual([0, 1, 2]);
    expect(rejected, 'items 0 and 2 are still in flight').toBe(false);

    gates[0]!.resolve('late');
    await flush();
    expect(rejected, 'item 2 is still in flight').toBe(false);
    gates[2]!.reject(new Error('second'));
    await expect(run).rejects.toThrow('first');
    expect(settled.sort()).toEqual([0, 1, 2]);
    expect(started).toEqual([0, 1, 2]);
  });

  it('a failure in any position, with any limit: nothing starts after it, every started item settles before the rejection', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 6 }), fc.nat(), async (n, limit, at) => {
        const failAt = at % n;
        const gates = Array.from({ length: n }, () => deferred<number>());
        const started: number[] = [];
        let unsettled = 0;
        let startedAfterFailure = 0;
        let failed = false;
        const run = mapLimit([...gates.keys()], limit, async (i) => {
          if (failed) startedAfterFailure++;
          started.push(i);
          unsettled++;
          try {
            return await gates[i]!.promise;
          } finally {
            unsettled--;
          }
        });
        const outcome = run.then(
          () => ({ ok: true as const, unsettled }),
          (err: unknown) => ({ ok: false as const, unsettled, err }),
        );
        // Release items one at a time in input order, the chosen one failing.
        for (let i = 0; i < n; i++) {
          await flush();
          if (!started.includes(i)) continue;
          if (i === failAt) {
            failed = true;
            gates[i]!.reject(new Error(`item ${i}`));
          } else gates[i]!.resolve(i);
        }
        const r = await outcome;
        expect(r.ok).toBe(false);
        expect(r.unsettled, 'in flight when it rejected').toBe(0);
        expect(startedAfterFailure).toBe(0);
        if (!r.ok) expect((r.err as Error).message).toBe(`item ${failAt}`);
      }),
    );
  });
});

/** Lets every pending promise callback run (no timers: nothing here waits on time). */
async function flush() {
  for (let k = 0; k < 20; k++) await Promise.resolve();
}
