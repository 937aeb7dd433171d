/**
 * The full recount's state (shared/usecases/tally.ts): it consumes orders from an async iterator,
 * page by page, and holds store-day counts only. Its size is stores × bound providers × season days
 * whatever the number of orders, it keeps no order, and it counts what the rules count.
 */
import { describe, expect, it } from 'vitest';
import type { BindingIntervals } from '#shared/rules/index.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';
import { StoreDayTally, type TallyOrder } from '#shared/usecases/tally.ts';
import { plusDays, reference, renewal2024 } from '../support/reference.ts';

const START = Date.parse('2023-11-30T16:00:00Z'); // 2023-12-01 00:00 CST
const DAY = 86_400_000;
/** The bindings the tally is given, as the platform would state them and as the intervals they make. */
const BINDINGS = [
  { providerId: 'P1', storeId: 'S1', atMs: START - DAY },
  { providerId: 'P1', storeId: 'S2', atMs: START - DAY },
  { providerId: 'P2', storeId: 'S2', atMs: START + 10 * DAY }, // S2 counts for P2 from day 10
];
const bindings: BindingIntervals = new Map();
for (const b of BINDINGS) (bindings.get(b.providerId) ?? bindings.set(b.providerId, new Map()).get(b.providerId)!).set(b.storeId, [{ startMs: b.atMs, endMs: Infinity }]);

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

  it('counts what the reference evaluator counts, per provider and CST day', async () => {
    const tally = new StoreDayTally(RENEWAL_2024, bindings);
    const all: TallyOrder[] = [];
    for await (const p of pages(3_000)) all.push(...p);
    await tally.consume(pages(3_000));
    // The same facts as platform events, decided by the reference for a one-day period on each day of
    // the season: its count of that day is what the tally must hold for it. Independent of the tally's
    // (and the rules') day arithmetic and binding intervals.
    const events = [
      ...['P1', 'P2'].map((providerId) => ({
        type: 'provider.upserted',
        providerId,
        name: providerId,
        email: `${providerId}@example.com`,
        certifiedAt: '2023-01-01T00:00:00Z',
        regularizedAt: '2023-01-02T00:00:00Z',
      })),
      ...BINDINGS.map((b) => ({ type: 'binding.started', providerId: b.providerId, storeId: b.storeId, at: new Date(b.atMs).toISOString() })),
      ...all.map((o, i) => ({ type: 'order.paid', orderId: `O${i}`, storeId: o.storeId, paidAt: o.paidAt, gift: o.gift })),
    ];
    const days = Array.from({ length: 91 }, (_, i) => plusDays('2023-12-01', i));
    const want: Record<string, Record<string, number>> = { P1: {}, P2: {} };
    for (const day of days) {
      for (const d of reference({ ...renewal2024(1), periodStartDate: day, periodEndDate: day }, events).decisions) {
        if (d.paidOrders) want[d.providerId]![day] = d.paidOrders;
      }
    }
    for (const providerId of ['P1', 'P2']) {
      const got: Record<string, number> = {};
      for (const s of tally.stores()) (tally.daily(s)[providerId] ?? []).forEach((n, i) => n && (got[days[i]!] = (got[days[i]!] ?? 0) + n));
      expect(got).toEqual(want[providerId]);
      expect(Object.values(want[providerId]!).reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
    }
    // And the season as a whole is the sum of its days.
    const season = reference(renewal2024(1), events).decisions.map((d) => [d.providerId, d.paidOrders]);
    expect(season).toEqual(['P1', 'P2'].map((p) => [p, Object.values(want[p]!).reduce((a, b) => a + b, 0)]));
  });
});
