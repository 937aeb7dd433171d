/**
 * Progress through the season: its days, its weeks, and how far a provider is from the requirements.
 * Pure arithmetic on calendar dates and counts (no clock, no I/O), in one place for every reader: the
 * progress mail, notify's weekly notices, the CLI's season chart and the report page all count weeks
 * and days as this module does.
 *
 * A week of the season is 7 days from the period's first day, numbered from 1; the last may be shorter
 * (13 weeks for renewal-2024's 91 days, the last of them full).
 */
import type { Campaign } from './campaign.ts';
import { type Figures, shortfall } from './rules.ts';
import { addDays, datesInRange, daysBetween } from './time.ts';

/** The season's first and last day, both inclusive: a Campaign is one, and so is a progress snapshot. */
export type Season = Pick<Campaign, 'periodStartDate' | 'periodEndDate'>;

/** Every date of the season, in order; empty when it ends before it starts. */
export function seasonDays(s: Season): string[] {
  return datesInRange(s.periodStartDate, addDays(s.periodEndDate, 1));
}

/** A week of the season: 7 days from the period's first day (the last may be shorter), numbered from 1. */
export interface SeasonWeek {
  number: number;
  days: readonly string[];
}

/** The season's days in weeks of 7 from its first day. */
export function weeksOf(days: readonly string[]): SeasonWeek[] {
  const weeks: SeasonWeek[] = [];
  for (let i = 0; i < days.length; i += 7) weeks.push({ number: weeks.length + 1, days: days.slice(i, i + 7) });
  return weeks;
}

/** The week of the season `date` falls in, clamped to the season: week 1 before it, the last week after it. */
export function weekOf(s: Season, date: string): number {
  const weeks = Math.ceil(seasonLength(s) / 7);
  return Math.max(1, Math.min(weeks, Math.floor(daysBetween(s.periodStartDate, date) / 7) + 1));
}

/** A week with the orders counted on its days. */
export interface WeekOrders extends SeasonWeek {
  orders: number;
}

/** Orders per week: each week sums `byDay` over its own days, so a day outside the season counts nowhere (clause 2.1). */
export function ordersPerWeek(days: readonly string[], byDay: Readonly<Record<string, number>>): WeekOrders[] {
  return weeksOf(days).map((w) => ({ ...w, orders: w.days.reduce((sum, d) => sum + (Object.hasOwn(byDay, d) ? byDay[d]! : 0), 0) }));
}

/** Where a week stands on `date`: over, running (it holds `date`), or not started. */
export function weekStatus(w: SeasonWeek, date: string): 'past' | 'current' | 'ahead' {
  const first = w.days[0];
  const last = w.days.at(-1);
  if (first === undefined || last === undefined || daysBetween(first, date) < 0) return 'ahead';
  return daysBetween(date, last) >= 0 ? 'current' : 'past';
}

/** Days in the season; 0 when it ends before it starts. */
function seasonLength(s: Season): number {
  return Math.max(0, daysBetween(s.periodStartDate, s.periodEndDate) + 1);
}

/**
 * Days of the season from `date` through its last day, BOTH inclusive: orders paid on `date` itself still
 * count. The whole season before or at its start, 1 on its last day, 0 after it.
 */
export function daysLeft(s: Season, date: string): number {
  return Math.max(0, Math.min(seasonLength(s), daysBetween(date, s.periodEndDate) + 1));
}

/** Days of the season up to and including `date`, at least 1 (a pace is never divided by 0), at most the season. */
export function daysElapsed(s: Season, date: string): number {
  return Math.max(1, Math.min(seasonLength(s), daysBetween(s.periodStartDate, date) + 1));
}

/** Paid orders so far at the pace so far, carried to the season's end (rounded down): the report page's projection. */
export function projectedOrders(s: Season, date: string, paidOrders: number): number {
  return Math.floor((paidOrders * seasonLength(s)) / daysElapsed(s, date));
}

/** How far a provider is from the requirements on a day of the season (what the progress mail states). */
export interface ProgressFigures {
  /** See `daysLeft`: `date` itself and the last day both count. */
  daysLeft: number;
  /** Orders still needed to reach the threshold; 0 once reached. */
  ordersMissing: number;
  /** `ceil(ordersMissing / daysLeft)`; 0 when nothing is missing or no day is left (the season is over). */
  ordersPerDayNeeded: number;
  /** Deposit still to pay; 0 once paid in full. */
  depositMissingFen: number;
  /** Paid orders as a whole percentage of the threshold, rounded down and capped at 100. */
  percent: number;
}

/** The progress figures as of `date`; throws a RangeError for a threshold that is not positive. */
export function progressFigures(s: Season, date: string, f: Figures): ProgressFigures {
  if (!(f.thresholdOrders > 0)) throw new RangeError(`thresholdOrders must be positive, got ${f.thresholdOrders}`);
  const left = daysLeft(s, date);
  const { ordersMissing, depositMissingFen } = shortfall(f);
  const ordersPerDayNeeded = left > 0 ? ceilDiv(ordersMissing, left) : 0;
  const percent = f.paidOrders >= f.thresholdOrders ? 100 : Math.floor((f.paidOrders * 100) / f.thresholdOrders);
  return { daysLeft: left, ordersMissing, ordersPerDayNeeded, depositMissingFen, percent };
}

/** Integer ceil of a / b for a >= 0, b > 0, without a float quotient. */
function ceilDiv(a: number, b: number): number {
  const q = Math.floor(a / b);
  return q * b < a ? q + 1 : q;
}
