/**
 * The renewal campaign as data: every product decision of RULES.md is a named parameter here, so a later
 * campaign (RULES.md clause 3 and "Seasons after the first") is a new file, not a code change.
 */
import { addDays, CHINA_OFFSET_MINUTES, datesInRange, localMidnightUtc, toUtcIso } from './time.ts';

/** Stable clause ids of the source rules (RULES.md, "Clauses"), cited by code and stored in decisions. */
export const CLAUSES = {
  '1': "Scope: providers certified before the campaign's certification cut",
  '2.1': 'Assessed providers and assessment period',
  '2.2.1': 'Paid orders of bound stores reach the threshold',
  '2.2.2': 'Deposit paid in full before the period ends',
  '2.2.3': 'Outcome at period end: retained or revoked',
  '2.3': 'Order count: paid, non-gift orders; platform data decide',
  '3': 'Revocation: delisting notice, feedback, deposit refund, re-application bar',
} as const;

export type ClauseId = keyof typeof CLAUSES;

/**
 * A campaign as the rules read it: the resolved value of one file `campaigns/<campaignId>.json`
 * (OPS.md "Campaign files"; parsed by ./campaign-file.ts, loaded by ../campaigns.ts). The rules take
 * it as an argument and never look one up.
 */
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
  /**
   * Paid orders needed to keep the status (clause 2.2.1). The source gives no number: `null` until ops
   * decide it in the file, and then a run's or the deployment's threshold must give it (RULES.md
   * "threshold"); see `resolveThreshold`.
   */
  thresholdOrders: number | null;
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
  /** Whether the deployed stack gets this campaign's schedules (OPS.md "Campaign files"). */
  schedule: boolean;
}

/** A campaign whose threshold is known: what a decision, a mail or a preview is made with. */
export type ThresholdedCampaign = Campaign & { thresholdOrders: number };

/** A text in both languages of the mails and the notice: Chinese first, then English. */
export interface Bilingual {
  zh: string;
  en: string;
}

/** The zones a campaign may be written in, with their fixed offset and their name for people. */
export const CAMPAIGN_ZONES = Object.freeze({
  'Asia/Shanghai': Object.freeze({ utcOffsetMinutes: CHINA_OFFSET_MINUTES, name: Object.freeze({ zh: '北京时间', en: 'China Standard Time' }) }),
});

/** A copy of `c` with the threshold ops chose (clause 2.2.1); throws a RangeError naming `thresholdOrders`. */
export function withThreshold(c: Campaign, thresholdOrders: number): ThresholdedCampaign {
  if (!Number.isSafeInteger(thresholdOrders) || thresholdOrders <= 0) {
    throw new RangeError(`thresholdOrders must be a positive integer, got ${thresholdOrders}`);
  }
  return Object.freeze({ ...c, thresholdOrders });
}

/** Where a campaign's threshold came from: the run's own, the campaign file's, or the deployment's THRESHOLD_ORDERS. */
export type ThresholdSource = 'run' | 'campaign' | 'deployment';

/** No run, campaign or deployment gives a threshold (RULES.md "threshold"): nothing may be decided. */
export class MissingThresholdError extends RangeError {
  override name = 'MissingThresholdError';
  constructor(readonly campaignId: string) {
    super(
      `thresholdOrders: campaign ${campaignId} has no threshold (its file says null) and neither the run nor the deployment (THRESHOLD_ORDERS) gives one; ` +
        `set it in campaigns/${campaignId}.json, or pass --threshold / THRESHOLD_ORDERS`,
    );
  }
}

/**
 * The threshold a run uses (RULES.md "threshold"): the run's own wins; then the campaign file's, when
 * ops decided it there; the deployment's THRESHOLD_ORDERS only stands in for a campaign that leaves it
 * null (so one deployment-wide value never overrides a season's reviewed number). None of the three:
 * undefined.
 */
export function resolveThreshold(c: Campaign, given: { run?: number | undefined; deployment?: number | undefined } = {}): { thresholdOrders: number; source: ThresholdSource } | undefined {
  if (given.run !== undefined) return { thresholdOrders: given.run, source: 'run' };
  if (c.thresholdOrders !== null) return { thresholdOrders: c.thresholdOrders, source: 'campaign' };
  if (given.deployment !== undefined) return { thresholdOrders: given.deployment, source: 'deployment' };
  return undefined;
}

/** `c` with the threshold `resolveThreshold` picks, or a MissingThresholdError naming `thresholdOrders`. */
export function requireThreshold(c: Campaign, given: { run?: number | undefined; deployment?: number | undefined } = {}): ThresholdedCampaign {
  const t = resolveThreshold(c, given);
  if (!t) throw new MissingThresholdError(c.campaignId);
  return t.source === 'campaign' ? (c as ThresholdedCampaign) : withThreshold(c, t.thresholdOrders);
}

export interface PeriodWindow {
  startMs: number;
  /** Exclusive: the first instant after the period. */
  endMs: number;
  startIso: string;
  endIso: string;
  /** Every local calendar date of the period. */
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
 * China time (a notice date at 10:00 CST is 02:00Z that day).
 */
export function noticePublicationMs(c: Campaign): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(c.noticeTime);
  if (!m) throw new RangeError(`noticeTime must be 'HH:MM', got '${c.noticeTime}'`);
  return localMidnightUtc(c.noticeDate, c.utcOffsetMinutes) + (Number(m[1]) * 60 + Number(m[2])) * 60_000;
}
