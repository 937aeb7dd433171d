/**
 * When the season's schedules run, derived from the campaign (RULES.md clause 2.1, decision "period")
 * so that the schedules cannot drift from the rules. The infra tests pin the literal values.
 */
import { noticePublicationMs, periodWindow, type Campaign } from '#shared/rules/campaign.ts';

const MINUTE = 60_000;

export interface SeasonSchedule {
  campaignId: string;
  /** IANA zone the campaign's dates are in; the one-time and weekly schedules are written in it. */
  timeZone: Campaign['timeZone'];
  /** Recurring aggregation: from the period start to one hour after its end (late events). */
  aggregation: { rateMinutes: number; start: Date; end: Date };
  /** The one-time period-end evaluation: 30 minutes after the period has closed. */
  evaluation: { at: Date; wallClock: string };
  /** Weekly progress mail, Monday 10:00 in the campaign's zone, while the period runs. */
  progress: { cron: string; start: Date; end: Date };
  /** The one-time publication of the delisting notice: the notice date at its hour (clause 3), after the evaluation. */
  notice: { at: Date; wallClock: string };
}

/** `instant` as the wall clock of a fixed-offset zone, `YYYY-MM-DDThh:mm:ss`: what `at(...)` takes. */
export function wallClock(instantMs: number, offsetMinutes: number): string {
  return new Date(instantMs + offsetMinutes * MINUTE).toISOString().slice(0, 19);
}

export function seasonSchedule(c: Campaign): SeasonSchedule {
  const w = periodWindow(c);
  const evaluationAt = w.endMs + 30 * MINUTE;
  return {
    campaignId: c.campaignId,
    timeZone: c.timeZone,
    aggregation: { rateMinutes: 15, start: new Date(w.startMs), end: new Date(w.endMs + 60 * MINUTE) },
    evaluation: { at: new Date(evaluationAt), wallClock: wallClock(evaluationAt, c.utcOffsetMinutes) },
    // EventBridge cron fields: minute hour day-of-month month day-of-week year.
    progress: { cron: 'cron(0 10 ? * MON *)', start: new Date(w.startMs), end: new Date(w.endMs) },
    notice: { at: new Date(noticePublicationMs(c)), wallClock: wallClock(noticePublicationMs(c), c.utcOffsetMinutes) },
  };
}
