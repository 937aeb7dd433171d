/**
 * The full recount's state (shared/usecases/tally.ts): it consumes orders from an async iterator,
 * page by page, and holds store-day counts only. Its size is stores × bound providers × season days
 * whatever the number of orders, it keeps no order, and it counts what the rules count.
 */
import { describe, expect, it } from 'vitest';
import { bindingIntervals, orderCounts, intervalsFor } from '#shared/rules/index.ts';
import { StoreDayTally, type TallyOrder } from '#shared/usecases/tally.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';

const START = Date.parse('2023-11-30T16:00:00Z'); // 2023-12-01 00:00 CST
const DAY = 86_400_000;
const bindings = bindingIntervals([
  { providerId: 'P1', storeId: 'S1', kind: 'started', atMs: START - DAY },
  { providerId: 'P1', storeId: 'S2', kind: 'started', atMs: START - DAY },
  { providerId: 'P2', storeId: 'S2', kind: 'started', atMs: START + 10 * DAY }, // S2 counts for P2 from day 10
]);

/** `n` orders over three stores (S3 unbound) and 95 days (a few after the season), made on demand. */
async function* pages(n: number, pageSize = 500, made?: { count: number }): AsyncGenerator<TallyOrder[]> {
  for (let i = 0; i < n; i += pageSize) {
    const page: TallyOrder[] = [];
    for (let j = i; j < Math.min(n, i + pageSize); j++) {
      page.push({ storeId: `S${(j % 3) + 1}`, paidAt: new Date(START + ((j * 7_919_000) % (95 * DAY))).toISOString(), gift: j % 17 === 0 });
    }
    if (made) made.count += page.length;
    yield page;
  }
}

describe('StoreDayTally', () => {
  it('holds stores × bound providers × season days counters, the same for 1,000 orders as for 40,000', async () => {
    const small = new StoreDayTally(RENEWAL_2024, bindings);
    const large = new StoreDayTally(RENEWAL_2024, bindings);
    await small.consume(pages(1_000));
    await large.consume(pages(40_000));
    // S1: P1; S2: P1 and P2; 91 season days each.
    expect(small.counters).toBe(3 * 91);
    expect(large.counters).toBe(3 * 91);
    expect([small.ordersSeen, large.ordersSeen]).toEqual([1_000, 40_000]);
    expect(large.stores().sort()).toEqual(['S1', 'S2']);
    expect([...large.storesSeen].sort()).toEqual(['S1', 'S2', 'S3']);
  });

  it('reads the iterator lazily: it asks for the next page only after counting the last one', async () => {
    const made = { count: 0 };
    const seenAtPage: number[] = [];
    const tally = new StoreDayTally(RENEWAL_2024, bindings);
    await tally.consume(pages(2_000, 500, made), (seen) => seenAtPage.push(made.count - seen));
    // When each page is counted, nothing beyond it has been made: no orders are held ahead.
    expect(seenAtPage).toEqual([0, 0, 0, 0]);
  });

  it('keeps nothing of an order: its state is numbers per store, provider and day', async () => {
    const tally = new StoreDayTally(RENEWAL_2024, bindings);
    await tally.consume(pages(5_000));
    const state = JSON.stringify(tally.stores().map((s) => tally.daily(s)));
    expect(state).not.toMatch(/T\d\d:|S3|gift/);
    for (const s of tally.stores()) for (const row of Object.values(tally.daily(s))) expect(row).toHaveLength(91);
  });

  it('counts what the rules count, per provider and CST day', async () => {
    const tally = new StoreDayTally(RENEWAL_2024, bindings);
    const all: TallyOrder[] = [];
    for await (const p of pages(3_000)) all.push(...p);
    await tally.consume(pages(3_000));
    for (const providerId of ['P1', 'P2']) {
      // Brute force over the rules, independent of the tally's day arithmetic: CST date of each counted order.
      const want: Record<string, number> = {};
      for (const o of all) {
        if (!orderCounts(RENEWAL_2024, { paidAtMs: Date.parse(o.paidAt), gift: o.gift }, intervalsFor(bindings, providerId, o.storeId))) continue;
        const day = new Date(Date.parse(o.paidAt) + 8 * 3_600_000).toISOString().slice(0, 10);
        want[day] = (want[day] ?? 0) + 1;
      }
      const got: Record<string, number> = {};
      const days = Array.from({ length: 91 }, (_, i) => new Date(START + 8 * 3_600_000 + i * DAY).toISOString().slice(0, 10));
      for (const s of tally.stores()) (tally.daily(s)[providerId] ?? []).forEach((n, i) => n && (got[days[i]!] = (got[days[i]!] ?? 0) + n));
      expect(got).toEqual(want);
      expect(Object.values(want).reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
    }
  });
});
