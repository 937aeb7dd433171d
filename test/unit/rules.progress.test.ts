/**
 * Progress through the season (shared/rules/progress.ts): the days left and elapsed, the pace still
 * needed, the weeks every reader numbers alike (the progress mail, notify, the season chart, the report
 * page), and the projection to the period's end.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { periodWindow } from '#shared/rules/campaign.ts';
import { daysElapsed, type Figures, ordersPerWeek, progressFigures, projectedOrders, weekOf, weeksOf, weekStatus } from '#shared/rules/index.ts';
import { addDays } from '#shared/rules/time.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';

const SEASON = { periodStartDate: '2023-12-01', periodEndDate: '2024-02-29' };
const base: Figures = { paidOrders: 6_000, thresholdOrders: 10_000, depositBalanceFen: 6_000_000, depositRequiredFen: 10_000_000 };
const figuresAt = (asOfDate: string, more: Partial<Figures> = {}) => progressFigures(SEASON, asOfDate, { ...base, ...more });

describe('progressFigures: days left counts asOfDate itself and the last day (both inclusive)', () => {
  it.each([
    ['2023-11-20', 91], // before the season: the whole season is ahead
    ['2023-12-01', 91], // first day: 2023-12-01 .. 2024-02-29, leap year
    ['2024-01-15', 46],
    ['2024-02-28', 2],
    ['2024-02-29', 1], // last day: that day is still left
    ['2024-03-01', 0], // the day after: over
    ['2024-06-01', 0],
  ])('as of %s: %d days left', (asOf, daysLeft) => {
    expect(figuresAt(asOf).daysLeft).toBe(daysLeft);
  });
});

describe('progressFigures: the pace needed', () => {
  it.each([
    [9_900, 3, 34], // 100 missing over 3 days: 33.3 → 34
    [9_901, 3, 33], // 99 over 3: exactly 33
    [9_999, 91, 1], // 1 over 91: still one a day
    [0, 91, 110], // 10,000 over 91: 109.9 → 110
  ])('%d of 10,000 with %d days left needs %d a day (rounded up)', (paidOrders, daysLeft, perDay) => {
    const f = figuresAt(addDays('2024-02-29', 1 - daysLeft), { paidOrders });
    expect(f.daysLeft).toBe(daysLeft);
    expect(f.ordersPerDayNeeded).toBe(perDay);
  });

  it('needs nothing once the threshold is reached, and shows 100 %', () => {
    const f = figuresAt('2024-01-15', { paidOrders: 12_000 });
    expect(f).toMatchObject({ ordersMissing: 0, ordersPerDayNeeded: 0, percent: 100 });
  });

  it('after the season no pace is stated, the orders missing still are', () => {
    const f = figuresAt('2024-03-05', { paidOrders: 9_000 });
    expect(f).toMatchObject({ daysLeft: 0, ordersMissing: 1_000, ordersPerDayNeeded: 0 });
  });

  it('rounds the percentage down: 9,999 of 10,000 is 99 %, not 100 %', () => {
    expect(figuresAt('2024-01-15', { paidOrders: 9_999 }).percent).toBe(99);
  });

  it('deposit missing is what is left to pay, never negative', () => {
    expect(figuresAt('2024-01-15', { depositBalanceFen: 6_000_000 }).depositMissingFen).toBe(4_000_000);
    expect(figuresAt('2024-01-15', { depositBalanceFen: 12_000_000 }).depositMissingFen).toBe(0);
    expect(figuresAt('2024-01-15', { depositBalanceFen: -500 }).depositMissingFen).toBe(10_000_500);
  });

  it('for any figures on any day: non-negative integers, and the pace is the least that reaches the threshold', () => {
    const snap = fc.record({
      asOffset: fc.integer({ min: -30, max: 120 }),
      paidOrders: fc.integer({ min: 0, max: 50_000 }),
      thresholdOrders: fc.integer({ min: 1, max: 50_000 }),
      depositBalanceFen: fc.integer({ min: -20_000_000, max: 20_000_000 }),
    });
    fc.assert(
      fc.property(snap, ({ asOffset, ...figures }) => {
        const f = figuresAt(addDays('2023-12-01', asOffset), figures);
        for (const v of Object.values(f)) {
          expect(Number.isSafeInteger(v)).toBe(true);
          expect(v).toBeGreaterThanOrEqual(0);
        }
        expect(f.daysLeft).toBeLessThanOrEqual(91);
        expect(f.percent).toBeLessThanOrEqual(100);
        if (f.daysLeft > 0) {
          expect(f.ordersPerDayNeeded * f.daysLeft).toBeGreaterThanOrEqual(f.ordersMissing);
          expect(Math.max(0, f.ordersPerDayNeeded - 1) * f.daysLeft).toBeLessThan(Math.max(1, f.ordersMissing));
        }
      }),
    );
  });

  it('refuses a threshold of 0, which no percentage can be taken of', () => {
    expect(() => figuresAt('2024-01-15', { thresholdOrders: 0 })).toThrow(RangeError);
  });
});

describe('weeks of the season: 7 days from its first day, numbered from 1', () => {
  const days = periodWindow(RENEWAL_2024).days;

  it('cuts the 91-day season into 13 full weeks, the first 2023-12-01 ~ 2023-12-07, the last 2024-02-23 ~ 2024-02-29', () => {
    const weeks = weeksOf(days);
    expect(weeks).toHaveLength(13);
    expect(weeks.map((w) => w.days.length)).toEqual(Array(13).fill(7));
    expect([weeks[0]!.days[0], weeks[0]!.days.at(-1)]).toEqual(['2023-12-01', '2023-12-07']);
    expect([weeks[12]!.number, weeks[12]!.days[0], weeks[12]!.days.at(-1)]).toEqual([13, '2024-02-23', '2024-02-29']);
  });

  it('leaves a shorter last week when the season is not whole weeks', () => {
    expect(weeksOf(['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05', '2024-01-06', '2024-01-07', '2024-01-08']).map((w) => w.days.length)).toEqual([7, 1]);
  });

  it.each([
    ['2023-11-20', 1], // before the season: the first week
    ['2023-12-01', 1],
    ['2023-12-07', 1],
    ['2023-12-08', 2],
    ['2024-01-15', 7],
    ['2024-02-29', 13],
    ['2024-03-10', 13], // after the season: the last week
  ])('%s is in week %d', (date, week) => {
    expect(weekOf(SEASON, date)).toBe(week);
  });

  it('numbers every day of the season as the week that holds it', () => {
    const weeks = weeksOf(days);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: days.length - 1 }), (i) => {
        const week = weeks[weekOf(RENEWAL_2024, days[i]!) - 1]!;
        expect(week.days).toContain(days[i]);
      }),
    );
  });

  it('says of each week whether it is over, running or ahead on a date', () => {
    const weeks = weeksOf(days);
    expect(weeks.slice(5, 8).map((w) => weekStatus(w, '2024-01-15'))).toEqual(['past', 'current', 'ahead']);
    expect(weekStatus(weeks[0]!, '2023-11-30')).toBe('ahead');
    expect(weekStatus(weeks[0]!, '2023-12-07')).toBe('current');
    expect(weekStatus(weeks[12]!, '2024-03-01')).toBe('past');
  });

  it('counts the orders of each week from its own days only: days outside the season count nowhere', () => {
    const byDay = { '2023-11-30': 999, '2023-12-01': 10, '2023-12-07': 5, '2023-12-08': 30, '2024-02-29': 4, '2024-03-01': 999 };
    const weeks = ordersPerWeek(days, byDay);
    expect(weeks.map((w) => w.orders)).toEqual([15, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
  });

  it('reads only own keys of the orders per day', () => {
    const byDay = Object.create({ '2023-12-01': 50 }) as Record<string, number>;
    expect(ordersPerWeek(days, byDay)[0]!.orders).toBe(0);
  });
});

describe('projection to the end of the season (the report page)', () => {
  it.each([
    ['2023-11-20', 1], // before the season: one day, never a division by zero
    ['2023-12-01', 1],
    ['2024-01-15', 46],
    ['2024-02-29', 91],
    ['2024-04-01', 91],
  ])('as of %s, %d day(s) of the season have elapsed', (date, days) => {
    expect(daysElapsed(SEASON, date)).toBe(days);
  });

  it('carries the pace so far to the season end, rounded down', () => {
    expect(projectedOrders(SEASON, '2024-01-15', 4_600)).toBe(9_100); // 100 a day over 46 days, times 91
    expect(projectedOrders(SEASON, '2024-01-15', 4_601)).toBe(9_101); // 9,101.97…
    expect(projectedOrders(SEASON, '2023-12-01', 10)).toBe(910);
    expect(projectedOrders(SEASON, '2024-03-05', 7_000)).toBe(7_000); // the season is over: what was counted
  });
});
