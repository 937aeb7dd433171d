/**
 * Property tests around every boundary instant of the rules: each instant is rendered as `…Z` and as
 * `…+08:00`, parsed back, and the rule must flip exactly at the boundary (start included, end excluded) with
 * both renderings agreeing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDays,
  bindingIntervals,
  type BindingEvent,
  CHINA_OFFSET_MINUTES,
  datesInRange,
  decide,
  depositBalanceAtClose,
  eligibility,
  type Interval,
  intervalsFor,
  isCovered,
  localDate,
  localMidnightUtc,
  orderCounts,
  parseInstant,
  periodWindow,
  toUtcIso,
  withThreshold,
} from '#shared/rules/index.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';

const DAY = 86_400_000;
const c = withThreshold(RENEWAL_2024, 1);
const EARLY = Date.UTC(2023, 5, 1);
const ALWAYS: Interval[] = [{ startMs: EARLY, endMs: Infinity }];

/** Independent of the code under test: the CST wall clock is UTC shifted by 8 hours. */
function renderCst(ms: number): string {
  return new Date(ms + 8 * 3_600_000).toISOString().replace('Z', '+08:00');
}

/** Both renderings of `ms`, parsed back; they must round-trip before any rule sees them. */
function parsedForms(ms: number): number[] {
  return [toUtcIso(ms), renderCst(ms)].map((s) => {
    const parsed = parseInstant(s);
    expect(parsed, s).toBe(ms);
    return parsed as number;
  });
}

/** Offsets near the boundary: the instants either side, a few seconds, and up to three days. */
const delta = fc.oneof(fc.constantFrom(-1, 0, 1), fc.integer({ min: -5_000, max: 5_000 }), fc.integer({ min: -3 * DAY, max: 3 * DAY }));

/**
 * For every offset, `rule` at boundary + offset must equal `beforeValue` strictly before the boundary and
 * `!beforeValue` from it on, identically for the Z and +08:00 renderings.
 */
function flipsAt(boundary: number, beforeValue: boolean, rule: (ms: number) => boolean): void {
  fc.assert(
    fc.property(delta, (d) => {
      const expected = d < 0 ? beforeValue : !beforeValue;
      for (const ms of parsedForms(boundary + d)) expect(rule(ms)).toBe(expected);
    }),
  );
}

const w = periodWindow(c);
const cutoff = localMidnightUtc('2023-12-01', CHINA_OFFSET_MINUTES);

describe('boundaries flip exactly, in Z and +08:00 alike', () => {
  it('2.1 period start 2023-12-01T00:00+08:00 is included', () => {
    expect(w.startMs).toBe(Date.UTC(2023, 10, 30, 16));
    flipsAt(w.startMs, false, (ms) => orderCounts(c, { paidAtMs: ms, gift: false }, ALWAYS));
  });

  it('2.1 period end 2024-03-01T00:00+08:00 is excluded', () => {
    expect(w.endMs).toBe(Date.UTC(2024, 1, 29, 16));
    flipsAt(w.endMs, true, (ms) => orderCounts(c, { paidAtMs: ms, gift: false }, ALWAYS));
  });

  it('1 certifiedBefore: in scope strictly before 2023-12-01T00:00+08:00', () => {
    expect(cutoff).toBe(Date.UTC(2023, 10, 30, 16));
    flipsAt(cutoff, true, (ms) => eligibility(c, { certifiedAtMs: ms, regularizedAtMs: EARLY }).assessed);
    flipsAt(cutoff, true, (ms) => decide(c, { certifiedAtMs: ms, regularizedAtMs: EARLY, paidOrders: 5, depositBalanceFen: 10_000_000 }).outcome === 'retained');
  });

  it('2.1 regularizedBefore: assessed strictly before 2023-12-01T00:00+08:00', () => {
    flipsAt(cutoff, true, (ms) => eligibility(c, { certifiedAtMs: EARLY, regularizedAtMs: ms }).assessed);
  });

  it('2.2.2 deposit cut-off: a payment or deduction counts strictly before the period end', () => {
    flipsAt(w.endMs, true, (ms) => depositBalanceAtClose(c, [{ kind: 'paid', amountFen: 10_000_000, atMs: ms }]) === 10_000_000);
    flipsAt(w.endMs, true, (ms) => {
      const balance = depositBalanceAtClose(c, [
        { kind: 'paid', amountFen: 10_000_000, atMs: EARLY },
        { kind: 'deducted', amountFen: 1, atMs: ms },
      ]);
      return decide(c, { certifiedAtMs: EARLY, regularizedAtMs: EARLY, paidOrders: 1, depositBalanceFen: balance }).outcome === 'revoked';
    });
  });

  it('2.3 binding start is included and binding end excluded, wherever they fall in the period', () => {
    const inPeriod = fc.integer({ min: w.startMs + 3 * DAY, max: w.endMs - 10 * DAY });
    fc.assert(
      fc.property(inPeriod, fc.integer({ min: 3 * DAY, max: 6 * DAY }), delta, (start, length, d) => {
        const end = start + length;
        const iv = intervalsFor(
          bindingIntervals([
            { providerId: 'p', storeId: 's', kind: 'ended', atMs: end },
            { providerId: 'p', storeId: 's', kind: 'started', atMs: start },
          ]),
          'p',
          's',
        );
        for (const ms of parsedForms(start + d)) expect(orderCounts(c, { paidAtMs: ms, gift: false }, iv)).toBe(d >= 0);
        for (const ms of parsedForms(end + d)) expect(orderCounts(c, { paidAtMs: ms, gift: false }, iv)).toBe(d < 0);
      }),
    );
  });

  it('2.1 leap day 2024-02-29 (CST) starts inside the period and ends with it', () => {
    const leapStart = localMidnightUtc('2024-02-29', CHINA_OFFSET_MINUTES);
    const leapEnd = localMidnightUtc('2024-03-01', CHINA_OFFSET_MINUTES);
    expect([leapStart, leapEnd]).toEqual([Date.UTC(2024, 1, 28, 16), w.endMs]);
    flipsAt(leapStart, false, (ms) => localDate(ms, CHINA_OFFSET_MINUTES) >= '2024-02-29');
    flipsAt(leapEnd, true, (ms) => localDate(ms, CHINA_OFFSET_MINUTES) <= '2024-02-29');
    flipsAt(leapEnd, true, (ms) => orderCounts(c, { paidAtMs: ms, gift: false }, ALWAYS));
    // The days before the leap day and the leap day itself are all in the period: no flip at its start.
    fc.assert(
      fc.property(
        fc.oneof(
          delta.filter((d) => d < DAY),
          fc.constant(DAY - 1),
        ),
        (d) => {
          for (const ms of parsedForms(leapStart + d)) expect(orderCounts(c, { paidAtMs: ms, gift: false }, ALWAYS)).toBe(true);
        },
      ),
    );
  });
});

describe('bindingIntervals depends only on the set of events', () => {
  // Few ids and few instants, so ties between start and end at one instant are common.
  const event = fc.record({
    providerId: fc.constantFrom('p1', 'p2'),
    storeId: fc.constantFrom('s1', 's2'),
    kind: fc.constantFrom<BindingEvent['kind']>('started', 'ended'),
    atMs: fc.integer({ min: 0, max: 12 }),
  });
  const events = fc.array(event, { maxLength: 25 });
  const shuffledWithDuplicates = events.chain((es) =>
    fc
      .subarray(es)
      .chain((dups) => fc.shuffledSubarray([...es, ...dups], { minLength: es.length + dups.length }))
      .map((mixed) => [es, mixed] as const),
  );

  it('is invariant under shuffling and duplicating the input', () => {
    fc.assert(
      fc.property(shuffledWithDuplicates, ([original, mixed]) => {
        expect(bindingIntervals(mixed)).toEqual(bindingIntervals(original));
      }),
    );
  });

  it('covers t iff a start at or before t has no end after it up to t (an end and a start at one instant: still bound)', () => {
    // Stated from clause 2.3 and RULES.md's rebinding decision, not from the code's walk: a binding
    // covers [start, end); an end stops coverage only from its instant on, and a start at that same
    // instant (a rebind) keeps the store bound. So t is covered iff some start s <= t is not followed
    // by an end in (s, t].
    fc.assert(
      fc.property(events, fc.integer({ min: -1, max: 14 }), (es, t) => {
        const bindings = bindingIntervals(es);
        for (const p of ['p1', 'p2']) {
          for (const s of ['s1', 's2']) {
            const mine = es.filter((e) => e.providerId === p && e.storeId === s);
            const starts = mine.filter((e) => e.kind === 'started' && e.atMs <= t).map((e) => e.atMs);
            const ends = mine.filter((e) => e.kind === 'ended').map((e) => e.atMs);
            const bound = starts.some((start) => !ends.some((end) => start < end && end <= t));
            expect(isCovered(intervalsFor(bindings, p, s), t), JSON.stringify({ p, s, t, mine })).toBe(bound);
          }
        }
      }),
    );
  });

  it('yields sorted, non-empty, non-touching intervals', () => {
    fc.assert(
      fc.property(events, (es) => {
        for (const stores of bindingIntervals(es).values()) {
          for (const list of stores.values()) {
            list.forEach((iv, i) => {
              expect(iv.endMs).toBeGreaterThan(iv.startMs);
              if (i > 0) expect(iv.startMs).toBeGreaterThan(list[i - 1]!.endMs);
            });
          }
        }
      }),
    );
  });
});

describe('localDate and localMidnightUtc round-trip', () => {
  const days = datesInRange('2023-01-01', '2025-01-01');

  it('for every day of 2023 and 2024 in CST', () => {
    expect(days).toHaveLength(365 + 366);
    for (const day of days) {
      const midnight = localMidnightUtc(day, CHINA_OFFSET_MINUTES);
      expect(renderCst(midnight)).toBe(`${day}T00:00:00.000+08:00`);
      expect(localDate(midnight, CHINA_OFFSET_MINUTES)).toBe(day);
      expect(localDate(midnight + DAY - 1, CHINA_OFFSET_MINUTES)).toBe(day);
      expect(localDate(midnight - 1, CHINA_OFFSET_MINUTES)).toBe(addDays(day, -1));
    }
  });

  it('for any instant of those days and any offset within ±14:00', () => {
    fc.assert(
      fc.property(fc.constantFrom(...days), fc.integer({ min: 0, max: DAY - 1 }), fc.integer({ min: -840, max: 840 }), (day, into, offset) => {
        expect(localDate(localMidnightUtc(day, offset) + into, offset)).toBe(day);
      }),
    );
  });
});
