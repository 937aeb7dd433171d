/** Bounded concurrency (shared/limit.ts): the stores and the use cases rely on its order and its bound. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapLimit } from '#shared/limit.ts';

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
});
