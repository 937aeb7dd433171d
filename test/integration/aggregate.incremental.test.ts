/**
 * The order aggregation handler (RULES.md 2.2.1, 2.3, 2.2.2; shared/usecases/aggregate.ts) on the
 * embedded stack: incremental runs recount only what changed and land on exact totals, repeated runs
 * change nothing, concurrent runs cannot double count, late binding events move counts both ways,
 * and a full recount equals the incremental result.
 *
 * The base season:
 *  - P1 bound to S1 and S2 since 2023-11-01; deposit 10,000,000.
 *  - P2 bound to S2 and S3 since 2023-11-01; deposit 3,000,000. (S2 counts for both.)
 *  - P3 is bound to nothing (yet); S4 has orders but no binding.
 */
import { describe, expect, it } from 'vitest';

import { PayloadError } from '#shared/payloads.ts';
import type { AggregateResult } from '#shared/usecases/aggregate.ts';
import { AT, CAMPAIGN, dailyOrders, ev, fedSeason, newSeason, withPk, type Season } from '../support/season-fixture.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';

const BASE = [
  ...ev.providers(['P1', 'P2', 'P3'], AT.certified, AT.regularized),
  ...ev.binds('P1', ['S1', 'S2'], AT.boundBefore),
  ...ev.binds('P2', ['S2', 'S3'], AT.boundBefore),
  ...ev.ordersAt('S1', { 'S1-a': '2023-12-10T10:00:00+08:00', 'S1-b': '2023-12-11T10:00:00+08:00' }),
  ...ev.ordersAt('S2', { 'S2-a': '2023-12-01T00:00:00+08:00', 'S2-b': '2023-12-20T10:00:00+08:00', 'S2-c': '2024-01-20T10:00:00+08:00' }),
  ev.order('S2-gift', 'S2', '2024-01-21T10:00:00+08:00', true),
  ...ev.ordersAt('S3', { 'S3-a': '2023-12-15T10:00:00+08:00', 'S3-b': '2024-02-29T23:59:59+08:00' }),
  ev.order('S3-late', 'S3', '2024-03-01T00:00:00+08:00'), // after the period
  ...ev.ordersAt('S4', { 'S4-a': '2023-12-05T10:00:00+08:00', 'S4-b': '2024-01-10T10:00:00+08:00', 'S4-c': '2024-01-20T12:00:00+08:00', 'S4-d': '2024-02-10T10:00:00+08:00' }),
  ev.paid('PAY-1', 'P1', 10_000_000, AT.depositPaid),
  ev.paid('PAY-2', 'P2', 3_000_000, AT.depositPaid),
];

const BASE_TOTALS = {
  P1: { paidOrders: 5, depositBalanceFen: 10_000_000, stores: ['S1', 'S2'], byDay: { '2023-12-01': 1, '2023-12-10': 1, '2023-12-11': 1, '2023-12-20': 1, '2024-01-20': 1 } },
  P2: { paidOrders: 5, depositBalanceFen: 3_000_000, stores: ['S2', 'S3'], byDay: { '2023-12-01': 1, '2023-12-15': 1, '2023-12-20': 1, '2024-01-20': 1, '2024-02-29': 1 } },
};

type Done = Extract<AggregateResult, { status: 'done' }>;

const baseSeason = () => fedSeason(BASE);

/** The provider totals as read back from the aggregates table. */
async function totals(s: Season) {
  const items = await s.stores.aggregates.providerTotals(RENEWAL_2024);
  return Object.fromEntries(
    items.sort((a, b) => a.providerId.localeCompare(b.providerId)).map((t) => [t.providerId, { paidOrders: t.paidOrders, depositBalanceFen: t.depositBalanceFen, stores: t.stores, byDay: t.byDay }]),
  );
}

/** The aggregates table without the run bookkeeping (watermark, lock). */
async function counts(s: Season) {
  return (await s.scan('aggregates')).filter((i) => !String(i.pk).startsWith('RUN#'));
}

const done = (r: AggregateResult): Done => {
  expect(r.status).toBe('done');
  return r as Done;
};

describe('incremental aggregation', () => {
  it('recounts only the store that got new orders, and the totals are exact', async () => {
    const s = await baseSeason();
    const first = done(await s.aggregate());
    // S1, S2, S3 (binding changes) and S4 (orders); the days with a count: S1 2, S2 3, S3 2.
    expect(first).toMatchObject({ mode: 'full', window: { from: null }, ordersSeen: 13, storesRecounted: 4, storeDaysWritten: 7, providersUpdated: 2 });
    expect(await totals(s)).toEqual(BASE_TOTALS);

    // Three orders for S1 on two days: the day-by-day path.
    await s.feed([
      ev.order('S1-c', 'S1', '2024-01-02T09:00:00+08:00'),
      ev.order('S1-d', 'S1', '2024-01-02T21:00:00+08:00'),
      ev.order('S1-e', 'S1', '2024-01-02T16:30:00Z'), // 2024-01-03 00:30 CST
    ]);
    const second = done(await s.aggregate());
    expect(second).toMatchObject({ mode: 'incremental', window: { from: first.window.to }, ordersSeen: 3, storesRecounted: 1, storeDaysWritten: 2, providersUpdated: 1 });
    expect(await totals(s)).toEqual({
      P1: { ...BASE_TOTALS.P1, paidOrders: 8, byDay: { ...BASE_TOTALS.P1.byDay, '2024-01-02': 2, '2024-01-03': 1 } },
      P2: BASE_TOTALS.P2,
    });

    // Ten orders for the shared S2 on ten days: the whole-season path; both its providers move.
    await s.feed(dailyOrders('S2-x', 'S2', '2024-02-01', 10));
    const third = done(await s.aggregate());
    expect(third).toMatchObject({ mode: 'incremental', ordersSeen: 10, storesRecounted: 1, storeDaysWritten: 10, providersUpdated: 2 });
    const feb = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`2024-02-${String(i + 1).padStart(2, '0')}`, 1]));
    expect(await totals(s)).toEqual({
      P1: { ...BASE_TOTALS.P1, paidOrders: 18, byDay: { ...BASE_TOTALS.P1.byDay, '2024-01-02': 2, '2024-01-03': 1, ...feb } },
      P2: { ...BASE_TOTALS.P2, paidOrders: 15, byDay: { ...BASE_TOTALS.P2.byDay, ...feb } },
    });

    // An order after the period and a gift: seen, but nothing to recount or count.
    await s.feed([ev.order('S3-after', 'S3', '2024-03-02T10:00:00+08:00'), ev.order('S3-gift', 'S3', '2024-02-02T10:00:00+08:00', true)]);
    const fourth = done(await s.aggregate());
    expect(fourth).toMatchObject({ ordersSeen: 2, storeDaysWritten: 0, providersUpdated: 0 });
    expect((await totals(s)).P2!.paidOrders).toBe(15);

    // A deposit change re-sums its provider only.
    await s.feed([ev.paid('PAY-2b', 'P2', 7_000_000, '2024-02-20T10:00:00+08:00'), ev.deducted('DED-1', 'P1', 1, '2024-03-01T00:00:00+08:00')]);
    const fifth = done(await s.aggregate());
    expect(fifth).toMatchObject({ ordersSeen: 0, storesRecounted: 0, storeDaysWritten: 0, providersUpdated: 2 });
    const after = await totals(s);
    expect([after.P1!.depositBalanceFen, after.P2!.depositBalanceFen]).toEqual([10_000_000, 10_000_000]);
    expect([after.P1!.paidOrders, after.P2!.paidOrders]).toEqual([18, 15]);
  });
});

describe('idempotence', () => {
  it('a second run in a row changes nothing, nor does a redelivery of every event', async () => {
    const s = await baseSeason();
    done(await s.aggregate());
    const before = await counts(s);
    const again = done(await s.aggregate());
    expect(again).toMatchObject({ mode: 'incremental', ordersSeen: 0, storesRecounted: 0, storeDaysWritten: 0, providersUpdated: 0 });
    expect(await counts(s)).toEqual(before);

    expect(await s.feed(BASE)).toEqual({ accepted: 0, duplicates: BASE.length, rejected: 0, failed: 0 });
    const afterRedelivery = done(await s.aggregate());
    expect(afterRedelivery).toMatchObject({ ordersSeen: 0, storesRecounted: 0, storeDaysWritten: 0, providersUpdated: 0 });
    expect(await counts(s)).toEqual(before);
    expect(await totals(s)).toEqual(BASE_TOTALS);

    // A full recount over unchanged data rewrites no store-day either.
    const full = done(await s.aggregate({ campaignId: CAMPAIGN, full: true }));
    expect(full).toMatchObject({ mode: 'full', storeDaysWritten: 0 });
    expect(await totals(s)).toEqual(BASE_TOTALS);
  });
});

describe('concurrent runs', () => {
  it('two runs at once: one busy or both done, and the totals are exact either way', async () => {
    const s = await baseSeason();
    const results = await Promise.all([s.aggregate(), s.aggregate()]);
    const statuses = results.map((r) => r.status).sort();
    expect([
      ['busy', 'done'],
      ['done', 'done'],
    ]).toContainEqual(statuses);
    expect(await totals(s)).toEqual(BASE_TOTALS);
    expect(await s.stores.aggregates.lockHolder(CAMPAIGN)).toBeUndefined();
    expect(done(await s.aggregate())).toMatchObject({ storeDaysWritten: 0, providersUpdated: 0 });
  });

  it('a run that holds the lock makes the next one busy; a lease that ran out is taken over', async () => {
    const s = await baseSeason();
    expect(await s.stores.aggregates.begin(CAMPAIGN, 'ghost', new Date(), 60_000)).toMatchObject({ acquired: true });
    const busy = await s.aggregate();
    expect(busy).toMatchObject({ status: 'busy', holder: { owner: 'ghost' } });
    expect(await counts(s)).toEqual([]); // it wrote nothing
    expect(await s.stores.aggregates.watermark(CAMPAIGN)).toBeUndefined();

    // The ghost died long ago: its lease ended five minutes back.
    await s.stores.aggregates.finish(CAMPAIGN, 'ghost');
    expect(await s.stores.aggregates.begin(CAMPAIGN, 'dead', new Date(Date.now() - 20 * 60_000), 15 * 60_000)).toMatchObject({ acquired: true });
    expect(done(await s.aggregate())).toMatchObject({ mode: 'full', providersUpdated: 2 });
    expect(await totals(s)).toEqual(BASE_TOTALS);
    expect(await s.stores.aggregates.lockHolder(CAMPAIGN)).toBeUndefined();
  });
});

describe('late binding events', () => {
  it("a binding delivered after its store's orders were aggregated brings them in; a late end takes them out (half-open)", async () => {
    const s = await baseSeason();
    done(await s.aggregate());
    expect((await totals(s)).P3).toBeUndefined();

    await s.feed([ev.bind('P3', 'S4', '2024-01-01T00:00:00+08:00')]);
    const bound = done(await s.aggregate());
    expect(bound).toMatchObject({ ordersSeen: 0, storesRecounted: 1, providersUpdated: 1 });
    expect((await totals(s)).P3).toEqual({ paidOrders: 3, depositBalanceFen: 0, stores: ['S4'], byDay: { '2024-01-10': 1, '2024-01-20': 1, '2024-02-10': 1 } });

    // The binding ended at 12:00 CST on 2024-01-20: S4-c, paid exactly then, is out; S4-d after it too.
    await s.feed([ev.unbind('P3', 'S4', '2024-01-20T04:00:00Z')]);
    const ended = done(await s.aggregate());
    expect(ended).toMatchObject({ storesRecounted: 1, providersUpdated: 1 });
    expect((await totals(s)).P3).toEqual({ paidOrders: 1, depositBalanceFen: 0, stores: ['S4'], byDay: { '2024-01-10': 1 } });
    const all = await totals(s);
    expect([all.P1, all.P2]).toEqual([BASE_TOTALS.P1, BASE_TOTALS.P2]);

    // The end of P2's S2 binding arrives late too: S2 keeps counting for P1 only.
    await s.feed([ev.unbind('P2', 'S2', '2023-12-15T00:00:00+08:00')]);
    done(await s.aggregate());
    const later = await totals(s);
    expect(later.P1).toEqual(BASE_TOTALS.P1);
    expect(later.P2).toEqual({ ...BASE_TOTALS.P2, paidOrders: 3, byDay: { '2023-12-01': 1, '2023-12-15': 1, '2024-02-29': 1 } });
  });
});

describe('full recount', () => {
  const WAVES = [
    BASE,
    [ev.order('S1-c', 'S1', '2024-01-02T09:00:00+08:00'), ev.bind('P3', 'S4', '2024-01-01T00:00:00+08:00'), ...dailyOrders('S3-x', 'S3', '2024-01-25', 12)],
    [ev.unbind('P3', 'S4', '2024-01-20T04:00:00Z'), ev.unbind('P2', 'S2', '2023-12-15T00:00:00+08:00'), ev.deducted('DED-2', 'P2', 500_000, '2024-01-01T00:00:00Z')],
    [ev.bind('P2', 'S2', '2024-02-01T00:00:00+08:00'), ...dailyOrders('S2-y', 'S2', '2024-01-30', 4), ev.order('S4-e', 'S4', '2024-01-19T10:00:00+08:00')],
  ];
  const EXPECTED = {
    P1: {
      paidOrders: 10,
      depositBalanceFen: 10_000_000,
      stores: ['S1', 'S2'],
      byDay: { ...BASE_TOTALS.P1.byDay, '2024-01-02': 1, '2024-01-30': 1, '2024-01-31': 1, '2024-02-01': 1, '2024-02-02': 1 },
    },
    P2: {
      paidOrders: 17,
      depositBalanceFen: 2_500_000,
      stores: ['S2', 'S3'],
      byDay: {
        '2023-12-01': 1,
        '2023-12-15': 1,
        ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [new Date(Date.UTC(2024, 0, 25 + i)).toISOString().slice(0, 10), 1])),
        // S3-x and, S2 being bound to P2 again from 2024-02-01, S2-y on the same two days.
        '2024-02-01': 2,
        '2024-02-02': 2,
        '2024-02-29': 1,
      },
    },
    P3: { paidOrders: 2, depositBalanceFen: 0, stores: ['S4'], byDay: { '2024-01-10': 1, '2024-01-19': 1 } },
  };

  it('equals the incremental totals, on the same tables and on fresh ones fed everything at once', async () => {
    const incremental = await newSeason();
    for (const wave of WAVES) {
      await incremental.feed(wave);
      done(await incremental.aggregate());
    }
    expect(await totals(incremental)).toEqual(EXPECTED);
    // The non-empty store-days with their counts, read from the store items (a count per provider and season day).
    const nonEmptyDays = async (s: Season) =>
      withPk(await counts(s), 'SC#').flatMap((i) => {
        const daily = i.daily as Record<string, number[]>;
        const days = Math.max(0, ...Object.values(daily).map((a) => a.length));
        return Array.from({ length: days }, (_, d) => [i.pk, d, Object.fromEntries(Object.entries(daily).flatMap(([p, a]) => (a[d] ? [[p, a[d]]] : [])))] as const).filter(
          ([, , c]) => Object.keys(c).length > 0,
        );
      });
    const incrementalDays = await nonEmptyDays(incremental);

    const fullSame = done(await incremental.aggregate({ campaignId: CAMPAIGN, full: true }));
    expect(fullSame).toMatchObject({ mode: 'full', storeDaysWritten: 0 });
    expect(await totals(incremental)).toEqual(EXPECTED);

    const fresh = await newSeason();
    await fresh.feed(WAVES.flat());
    expect(done(await fresh.aggregate({ campaignId: CAMPAIGN, full: true }))).toMatchObject({ mode: 'full' });
    expect(await totals(fresh)).toEqual(EXPECTED);
    expect(await nonEmptyDays(fresh)).toEqual(incrementalDays);
  });
});

describe('aggregate payload', () => {
  it('a bad payload throws PayloadError naming the field, and nothing runs', async () => {
    const s = await newSeason();
    const cases: [unknown, RegExp][] = [
      [{}, /^campaignId: is required/],
      [{ campaignId: 'renewal-1999' }, /^campaignId: unknown campaign/],
      [{ campaignId: CAMPAIGN, full: 'yes' }, /^full: must be true or false/],
      [{ campaignId: CAMPAIGN, since: '2024-01-01T00:00:00Z' }, /^since: not a field of this payload/],
      [null, /^payload: must be a JSON object/],
    ];
    for (const [payload, message] of cases) {
      const err = await s.aggregate(payload).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(payload)).toBeInstanceOf(PayloadError);
      expect((err as Error).message).toMatch(message);
    }
    expect(await s.scan('aggregates')).toEqual([]);
  });
});
