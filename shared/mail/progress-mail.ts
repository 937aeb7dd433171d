/**
 * The weekly progress mail (templates.ts): the season's counted orders so far against the threshold,
 * week by week, and the deposit.
 */
import type { Campaign } from '../rules/campaign.ts';
import { ordersPerWeek, progressFigures, type ProgressFigures, seasonDays, weekOf, weekStatus } from '../rules/progress.ts';
import { daysBetween } from '../rules/time.ts';
import { type MailCopy } from './copy.ts';
import { type Block, type Runs, type WeekRow } from './document.ts';
import { displayName, formatCount, formatFen } from '../text/format.ts';
import { checkSettings, compose, count, date, fail, fen, footerItem, mailtoRuns, subjectOf, zoneNote, type MailSettings, type RenderedMail } from './compose.ts';

export interface ProgressSnapshot {
  providerId: string;
  providerName: string;
  email: string;
  /** CST date the figures are as of, e.g. '2024-01-15'. */
  asOfDate: string;
  paidOrders: number;
  thresholdOrders: number;
  /** CST date -> counted orders, only days with orders. */
  ordersByDay: Record<string, number>;
  depositBalanceFen: number;
  depositRequiredFen: number;
  /** The season, both dates inclusive: '2023-12-01', '2024-02-29'. */
  periodStartDate: string;
  periodEndDate: string;
}

function checkSnapshot(s: ProgressSnapshot): void {
  const start = date(s.periodStartDate, 'snapshot.periodStartDate');
  const end = date(s.periodEndDate, 'snapshot.periodEndDate');
  if (daysBetween(start, end) < 0) fail(`snapshot.periodEndDate ${end} is before periodStartDate ${start}`);
  date(s.asOfDate, 'snapshot.asOfDate');
  count(s.paidOrders, 'snapshot.paidOrders');
  if (count(s.thresholdOrders, 'snapshot.thresholdOrders') === 0) fail('snapshot.thresholdOrders must be positive');
  fen(s.depositBalanceFen, 'snapshot.depositBalanceFen');
  fen(s.depositRequiredFen, 'snapshot.depositRequiredFen');
  for (const [day, n] of Object.entries(s.ordersByDay)) {
    date(day, 'snapshot.ordersByDay key');
    count(n, `snapshot.ordersByDay['${day}']`);
  }
}

interface ProgressContext {
  s: ProgressSnapshot;
  f: ProgressFigures;
  week: number;
  weeks: readonly ChartWeek[];
  name: string;
  ordersMet: boolean;
  depositMet: boolean;
  settings: MailSettings;
  campaign: Campaign;
}

/** A week of the chart: its orders, and whether it has started and holds the as-of day. */
interface ChartWeek {
  number: number;
  start: string;
  end: string;
  orders: number;
  started: boolean;
  current: boolean;
}

/**
 * The weekly progress reminder during the season: orders against the threshold with a bar, the days left,
 * the daily pace still needed, the deposit, and a per-week chart, all drawn with table cells (HTML) or
 * block characters (text), so no client needs scripts or images. Not an outcome: it says so. Throws a
 * MailTemplateError naming the field of a snapshot that cannot be right.
 */
export function renderProgressMail(input: { snapshot: ProgressSnapshot; campaign: Campaign; settings: MailSettings }): RenderedMail {
  const { snapshot: s, campaign, settings } = input;
  checkSettings(settings);
  checkSnapshot(s);
  const f = progressFigures(s, s.asOfDate, s);
  const weeks = ordersPerWeek(seasonDays(s), s.ordersByDay).map((w): ChartWeek => {
    const status = weekStatus(w, s.asOfDate);
    return { number: w.number, start: w.days[0]!, end: w.days.at(-1)!, orders: w.orders, started: status !== 'ahead', current: status === 'current' };
  });
  const week = weekOf(s, s.asOfDate);
  const name = displayName(s.providerName, s.providerId);
  const subject = subjectOf((t) => t.progress.subject(week), name);
  const ctx: ProgressContext = { s, f, week, weeks, name, ordersMet: f.ordersMissing === 0, depositMet: f.depositMissingFen === 0, settings, campaign };
  const footer = [
    footerItem('rulesVersion', campaign.rulesVersion),
    footerItem('asOf', `${s.asOfDate} ${zoneNote(campaign)}`),
    footerItem('providerId', s.providerId),
    footerItem('recipient', s.email),
  ];
  return compose(
    subject,
    'info',
    (t) => progressBlocks(t, ctx),
    footer,
    (t) => t.progress.footerNote,
  );
}

/** The body of the progress mail in one language. */
function progressBlocks(t: MailCopy, c: ProgressContext): Block[] {
  const p = t.progress;
  const { s, f } = c;
  const pace: Runs = c.ordersMet ? p.paceReached : f.daysLeft === 0 ? p.paceOver : p.pace(formatCount(f.ordersPerDayNeeded));
  const deposit: Runs = c.depositMet
    ? p.depositPaid(formatFen(s.depositBalanceFen), formatFen(s.depositRequiredFen))
    : p.depositMissing(formatFen(s.depositBalanceFen), formatFen(s.depositRequiredFen), formatFen(f.depositMissingFen), s.periodEndDate);
  const intro = { providerId: s.providerId, periodStart: s.periodStartDate, periodEnd: s.periodEndDate, asOf: s.asOfDate, rules: c.campaign.rulesTitle, zone: c.campaign.timeZoneName };
  return [
    { kind: 'title', text: p.title(c.week, c.weeks.length) },
    { kind: 'p', runs: [t.greeting(c.name)] },
    { kind: 'p', runs: [p.intro(intro)] },
    { kind: 'heading', text: p.ordersHeading },
    { kind: 'p', runs: p.ordersDone(formatCount(s.paidOrders), formatCount(s.thresholdOrders), f.percent) },
    { kind: 'bar', percent: f.percent, tone: c.ordersMet ? 'good' : 'info' },
    {
      kind: 'list',
      items: [p.missing(formatCount(f.ordersMissing)), p.daysLeft(formatCount(f.daysLeft), s.asOfDate, s.periodEndDate), pace, deposit],
    },
    { kind: 'heading', text: p.weeksHeading },
    { kind: 'weeks', rows: weekRows(c.weeks, t, s.asOfDate) },
    { kind: 'p', runs: [p.weeksNote(s.periodStartDate, s.asOfDate)] },
    { kind: 'p', runs: p.closing(mailtoRuns(c.settings.feedbackMailbox)) },
    { kind: 'p', runs: [t.signature] },
  ];
}

/** The chart's rows: bars in percent of the busiest week that has started; weeks ahead have no bar. */
function weekRows(weeks: readonly ChartWeek[], t: MailCopy, asOfDate: string): WeekRow[] {
  const max = Math.max(0, ...weeks.map((w) => (w.started ? w.orders : 0)));
  return weeks.map((w) => ({
    label: t.progress.weekLabel(String(w.number).padStart(2, ' ')),
    range: `${w.start} ~ ${w.end}`,
    orders: w.started ? w.orders : undefined,
    ordersText: w.started ? formatCount(w.orders) : '—',
    percent: max === 0 || w.orders === 0 ? 0 : Math.max(1, Math.round((w.orders * 100) / max)),
    current: w.current,
    currentNote: t.progress.thisWeek(asOfDate),
  }));
}
