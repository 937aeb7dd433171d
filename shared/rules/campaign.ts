/**
 * The renewal campaign as data: every product decision of RULES.md is a named parameter here, so a later
 * campaign (RULES.md clause 3: the regular rules of 2024) is a new value, not a code change.
 */
import { addDays, CHINA_OFFSET_MINUTES, datesInRange, localMidnightUtc, toUtcIso } from './time.ts';

/** Stable clause ids of the source rules (RULES.md, "Clauses"), cited by code and stored in decisions. */
export const CLAUSES = {
  '1': 'Scope: providers certified before 2023-12-01',
  '2.1': 'Assessed providers and assessment period',
  '2.2.1': 'Paid orders of bound stores reach the threshold',
  '2.2.2': 'Deposit of CNY 100,000 paid in full before the period ends',
  '2.2.3': 'Outcome at period end: retained or revoked',
  '2.3': 'Order count: paid, non-gift orders; platform data decide',
  '3': 'Revocation: delisting notice, feedback, deposit refund, 90-day re-application bar',
} as const;

export type ClauseId = keyof typeof CLAUSES;

export interface Campaign {
  campaignId: string;
  /** Stored with every decision so it can be reproduced (RULES.md decision "data authority", 2.3). */
  rulesVersion: string;
  /** Every rule date is a China Standard Time calendar date (RULES.md decision "time zone"). */
  timeZone: 'Asia/Shanghai';
  /** UTC+8; Asia/Shanghai has no DST (RULES.md decision "time zone"). */
  utcOffsetMinutes: number;
  /** First day of the assessment period, inclusive (clause 2.1). */
  periodStartDate: string;
  /** Last day of the assessment period, inclusive; the period ends at the next local midnight (clause 2.1). */
  periodEndDate: string;
  /** In scope iff certifiedAt is before this date's local midnight (clause 1). */
  certifiedBeforeDate: string;
  /** Assessed iff regularizedAt is before this date's local midnight (clause 2.1). */
  regularizedBeforeDate: string;
  /** Paid orders needed to keep the status; the source gives no number (clause 2.2.1). */
  thresholdOrders: number;
  /** Deposit balance in integer fen needed at the period end (clause 2.2.2). */
  depositRequiredFen: number;
  /** Date of the delisting notice (公示之日), fixed so that re-runs do not move it (clause 3). */
  noticeDate: string;
  /**
   * Local time of day (`HH:MM`) on the notice date at which the notice is published: after the
   * period-end evaluation (00:30), in office hours (clause 3; issue 11 chose 10:00).
   */
  noticeTime: string;
  /** Days after the notice date before a revoked provider may re-apply (clause 3). */
  reapplyAfterDays: number;
  /** Where providers send feedback on their outcome (clause 3). */
  feedbackMailbox: string;
  /**
   * The exit-and-deposit-refund procedure a revoked provider follows to leave the store service market
   * (clause 3), by its title: what the outcome mail quotes unless ops configure their own text or link,
   * and the title it puts before such a link.
   */
  exitRefundProcedure: string;
  /** The title of these rules, as the mails and the public notice cite them. */
  rulesTitle: Bilingual;
  /** The title of the rules that assess a retained provider after this campaign (clause 3: the regular rules). */
  nextRulesTitle: Bilingual;
  /** `timeZone` in words, for people; its offset is `utcOffsetMinutes` (see `utcOffsetLabel`). */
  timeZoneName: Bilingual;
}

/** A text in both languages of the mails and the notice: Chinese first, then English. */
export interface Bilingual {
  zh: string;
  en: string;
}

/** The 2024 renewal as RULES.md specifies it. `thresholdOrders` is a placeholder that ops set before the run. */
export const RENEWAL_2024: Campaign = Object.freeze({
  campaignId: 'renewal-2024',
  rulesVersion: 'renewal-2024/1',
  timeZone: 'Asia/Shanghai',
  utcOffsetMinutes: CHINA_OFFSET_MINUTES,
  periodStartDate: '2023-12-01',
  periodEndDate: '2024-02-29',
  certifiedBeforeDate: '2023-12-01',
  regularizedBeforeDate: '2023-12-01',
  thresholdOrders: 10_000,
  depositRequiredFen: 10_000_000,
  noticeDate: '2024-03-01',
  noticeTime: '10:00',
  reapplyAfterDays: 90,
  feedbackMailbox: 'douyinpartner@bytedance.com',
  exitRefundProcedure: '《抖店服务市场服务商退出退保流程说明》',
  rulesTitle: Object.freeze({ zh: '《抖音电商产业带服务商2024年续牌规则》', en: 'Douyin E-commerce Industrial-Belt Service Provider 2024 Renewal Rules' }),
  nextRulesTitle: Object.freeze({ zh: '《抖音电商产业带服务商常规考核规则》', en: 'Douyin E-commerce Industrial-Belt Service Provider Regular Assessment Rules' }),
  timeZoneName: Object.freeze({ zh: '北京时间', en: 'China Standard Time' }),
});

export const CAMPAIGNS: Readonly<Record<string, Campaign>> = Object.freeze({ [RENEWAL_2024.campaignId]: RENEWAL_2024 });

/** The campaign with this id, or undefined; own keys only, so 'constructor' or '__proto__' find nothing. */
export function getCampaign(id: string): Campaign | undefined {
  return Object.hasOwn(CAMPAIGNS, id) ? CAMPAIGNS[id] : undefined;
}

/** A copy of `c` with the threshold ops chose (clause 2.2.1); throws a RangeError naming `thresholdOrders`. */
export function withThreshold(c: Campaign, thresholdOrders: number): Campaign {
  if (!Number.isSafeInteger(thresholdOrders) || thresholdOrders <= 0) {
    throw new RangeError(`thresholdOrders must be a positive integer, got ${thresholdOrders}`);
  }
  return Object.freeze({ ...c, thresholdOrders });
}

export interface PeriodWindow {
  startMs: number;
  /** Exclusive: the first instant after the period. */
  endMs: number;
  startIso: string;
  endIso: string;
  /** Every local calendar date of the period (91 for renewal-2024). */
  days: readonly string[];
}

/** The rules ask for the window once per order; only frozen campaigns are cached, as they cannot drift. */
const windows = new WeakMap<Campaign, PeriodWindow>();

/** The assessment period as the half-open instant range `[startMs, endMs)` (clause 2.1, decision "period"). */
export function periodWindow(c: Campaign): PeriodWindow {
  let w = windows.get(c);
  if (!w) {
    const dayAfter = addDays(c.periodEndDate, 1);
    const startMs = localMidnightUtc(c.periodStartDate, c.utcOffsetMinutes);
    const endMs = localMidnightUtc(dayAfter, c.utcOffsetMinutes);
    const days = Object.freeze(datesInRange(c.periodStartDate, dayAfter));
    w = Object.freeze({ startMs, endMs, startIso: toUtcIso(startMs), endIso: toUtcIso(endMs), days });
    if (Object.isFrozen(c)) windows.set(c, w);
  }
  return w;
}

/**
 * True once the period has ended, so the evaluation is final rather than a preview (RULES.md decision
 * "evaluation time").
 */
export function isPeriodClosed(c: Campaign, nowMs: number): boolean {
  return nowMs >= periodWindow(c).endMs;
}

/**
 * The instant the delisting notice is first published (clause 3): the notice date at `noticeTime`,
 * China time. 2024-03-01 10:00 CST = 2024-03-01T02:00:00Z for renewal-2024.
 */
export function noticePublicationMs(c: Campaign): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(c.noticeTime);
  if (!m) throw new RangeError(`noticeTime must be 'HH:MM', got '${c.noticeTime}'`);
  return localMidnightUtc(c.noticeDate, c.utcOffsetMinutes) + (Number(m[1]) * 60 + Number(m[2])) * 60_000;
}
