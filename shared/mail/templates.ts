/**
 * The provider mails: the outcome of a renewal campaign (retained / revoked, and corrections of either) and
 * the weekly progress reminder during the season. Pure: no I/O, no clock; every input is passed in.
 *
 * Each mail is Chinese first, then English, in both the HTML and the plain-text part. Its structure is
 * written once here and filled from each language's copy (./copy.ts); both parts are rendered from the
 * resulting block lists (./document.ts), so they say the same thing. Every figure an outcome mail states
 * comes from the stored decision (its evidence, RULES.md clause 2.3), never from the campaign, so the mail
 * reproduces what was decided even if the campaign changes later; the campaign gives only the names (of
 * the rules, the zone, the exit procedure).
 */
import { isEmailAddress } from '../events.ts';
import type { DecisionChange, StoredDecision } from '../model.ts';
import type { Bilingual, Campaign } from '../rules/campaign.ts';
import { ordersPerWeek, progressFigures, type ProgressFigures, seasonDays, weekOf, weekStatus } from '../rules/progress.ts';
import { type Figures, shortfall, unmetRequirements } from '../rules/rules.ts';
import { daysBetween, isValidDate, localDate, parseInstant, utcOffsetLabel } from '../rules/time.ts';
import { COPY, type MailCopy } from './copy.ts';
import { type Block, type FooterItem, type Inline, type MailDocument, renderHtml, renderText, type Runs, type TableRow, type Tone, type WeekRow } from './document.ts';
import { displayName, formatCount, formatFen, headerSafe } from '../text/format.ts';
import { labelOf } from '../text/labels.ts';

export { escapeHtml, formatFen, headerSafe } from '../text/format.ts';

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

export interface MailSettings {
  /** Where providers send objections and feedback (RULES.md clause 3). */
  feedbackMailbox: string;
  /** The exit-and-refund procedure (clause 3): by name, or an https URL, which becomes a link under the campaign's title of it. */
  exitRefundProcedure: string;
}

/** A mail that must not be rendered from this input: the message says which input and why. */
export class MailTemplateError extends Error {
  override name = 'MailTemplateError';
}

// ---------------------------------------------------------------------------------------------------
// Validation of inputs: a wrong mail is worse than none, so a missing or contradictory input throws.

function fail(message: string): never {
  throw new MailTemplateError(message);
}

/** Ops configuration, checked on every render: no silent defaults for what must be set. */
function checkSettings(s: MailSettings): void {
  if (!isEmailAddress(s.feedbackMailbox)) fail(`settings.feedbackMailbox must be one email address, got '${s.feedbackMailbox}'`);
  if (headerSafe(s.exitRefundProcedure) === '') fail('settings.exitRefundProcedure must name or link the exit-and-refund procedure');
}

/** A `YYYY-MM-DD` date from an input, or a MailTemplateError naming the field. */
function date(value: string | undefined, field: string): string {
  if (value === undefined || !isValidDate(value)) fail(`${field} must be a 'YYYY-MM-DD' date, got '${String(value)}'`);
  return value;
}

function count(value: number | undefined, field: string): number {
  if (value === undefined || !Number.isSafeInteger(value) || value < 0) fail(`${field} must be a non-negative integer, got ${String(value)}`);
  return value;
}

function fen(value: number | undefined, field: string): number {
  if (value === undefined || !Number.isSafeInteger(value)) fail(`${field} must be an integer number of fen, got ${String(value)}`);
  return value;
}

function isHttpsUrl(s: string): boolean {
  return /^https:\/\/[^\s<>"']+$/i.test(s);
}

/** A text of the copy in both languages. */
function both(text: (t: MailCopy) => string): Bilingual {
  return { zh: text(COPY.zh), en: text(COPY.en) };
}

/** The subject: both languages' halves, the correction mark first when there is one, then the name. */
function subjectOf(half: (t: MailCopy) => string, name: string, correction?: (t: MailCopy) => string): string {
  const mark = correction ? both(correction) : undefined;
  const halves = both(half);
  return headerSafe(`${mark ? `【${mark.zh} ${mark.en}】` : ''}${halves.zh} / ${halves.en} — ${name}`);
}

/** One footer line, its label from each language's copy. */
function footerItem(label: keyof MailCopy['footer'], value: string): FooterItem {
  return { ...both((t) => t.footer[label]), value };
}

/** A mail: its body built once from each language's copy (Chinese first), the footer, and the copy's closing note. */
function compose(subject: string, accent: Tone, body: (t: MailCopy) => Block[], footer: readonly FooterItem[], note: (t: MailCopy) => string): RenderedMail {
  const doc: MailDocument = { title: subject, accent, zh: body(COPY.zh), en: body(COPY.en), footer, footerNotes: [both(note)] };
  return { subject, html: renderHtml(doc), text: renderText(doc) };
}

/** An instant's zone as the footer states it: `(北京时间 China Standard Time, UTC+8)`. */
function zoneNote(c: Campaign): string {
  return `(${c.timeZoneName.zh} ${c.timeZoneName.en}, ${utcOffsetLabel(c.utcOffsetMinutes)})`;
}

function mailtoRuns(mailbox: string): Inline {
  return { href: `mailto:${mailbox}`, text: mailbox };
}

// ---------------------------------------------------------------------------------------------------
// Outcome mail

/** The decision's figures (its stored evidence, clause 2.3), which requirements it says were met, and what is missing. */
interface Evidence extends Figures {
  ordersMet: boolean;
  depositMet: boolean;
  ordersMissing: number;
  depositMissingFen: number;
}

/**
 * The evidence as the decision states it. The mail must not contradict itself, so a decision whose
 * reasons are not what the rules make of its own figures (clause 2.2.3), or whose outcome does not follow
 * from its reasons, is refused.
 */
function evidenceOf(d: StoredDecision, where: string): Evidence {
  const figures: Figures = {
    paidOrders: count(d.paidOrders, `${where}: paidOrders`),
    thresholdOrders: count(d.thresholdOrders, `${where}: thresholdOrders`),
    depositBalanceFen: fen(d.depositBalanceFen, `${where}: depositBalanceFen`),
    depositRequiredFen: fen(d.depositRequiredFen, `${where}: depositRequiredFen`),
  };
  const unmet = unmetRequirements(figures);
  if ([...d.reasons].sort().join() !== [...unmet].sort().join()) {
    fail(`${where}: reasons [${d.reasons.join(', ')}] do not match its figures, which fail [${unmet.join(', ')}]`);
  }
  if ((d.outcome === 'retained') !== (d.reasons.length === 0)) fail(`${where}: outcome '${d.outcome}' does not match its figures`);
  return {
    ...figures,
    ordersMet: !d.reasons.includes('orders_below_threshold'),
    depositMet: !d.reasons.includes('deposit_not_paid_in_full'),
    ...shortfall(figures),
  };
}

interface OutcomeFacts {
  name: string;
  providerId: string;
  periodStart: string;
  periodEnd: string;
  ev: Evidence;
  revoked?: { noticeDate: string; reapplyFrom: string; reapplyDays: number };
  correction?: { previousRevision: number; changes: readonly DecisionChange[] | undefined };
  settings: MailSettings;
  campaign: Campaign;
}

/**
 * The outcome mail of a final decision: retained, or revoked with every failing figure and the clause 3
 * consequences. Throws a MailTemplateError for `not_assessed` (they get no outcome mail, RULES.md decision
 * "assessed"), for a preview (`final: false`: a preview sends no outcome mail, decision "evaluation time"),
 * for a decision of another campaign, and for a decision whose evidence is missing or contradicts its
 * outcome. A revision above 1 is a correction: the subject says so and the body lists what changed.
 */
export function renderOutcomeMail(input: { decision: StoredDecision; campaign: Campaign; settings: MailSettings }): RenderedMail {
  const { decision: d, campaign, settings } = input;
  const where = `decision of ${d.providerId} (revision ${d.revision})`;
  if (d.outcome === 'not_assessed') fail(`${where}: not_assessed providers get no outcome mail (RULES.md, "assessed")`);
  if (d.outcome !== 'retained' && d.outcome !== 'revoked') fail(`${where}: unknown outcome '${String(d.outcome)}'`);
  if (!d.final) fail(`${where}: a preview decision sends no outcome mail (RULES.md, "evaluation time")`);
  if (d.campaignId !== campaign.campaignId) fail(`${where}: belongs to campaign '${d.campaignId}', not '${campaign.campaignId}'`);
  if (!Number.isSafeInteger(d.revision) || d.revision < 1) fail(`${where}: revision must be a positive integer`);
  checkSettings(settings);
  const decidedAtMs = parseInstant(d.decidedAt);
  if (decidedAtMs === undefined) fail(`${where}: decidedAt must be an ISO-8601 instant with offset, got '${d.decidedAt}'`);

  const ev = evidenceOf(d, where);
  let revoked: OutcomeFacts['revoked'];
  if (d.outcome === 'revoked') {
    const noticeDate = date(d.noticeDate, `${where}: noticeDate`);
    const reapplyFrom = date(d.reapplyFrom, `${where}: reapplyFrom`);
    const reapplyDays = daysBetween(noticeDate, reapplyFrom);
    if (reapplyDays < 0) fail(`${where}: reapplyFrom ${reapplyFrom} is before noticeDate ${noticeDate}`);
    revoked = { noticeDate, reapplyFrom, reapplyDays };
  }
  const facts: OutcomeFacts = {
    name: displayName(d.providerName, d.providerId),
    providerId: d.providerId,
    periodStart: campaign.periodStartDate,
    periodEnd: campaign.periodEndDate,
    ev,
    revoked,
    correction: d.revision > 1 ? { previousRevision: d.corrects ?? d.revision - 1, changes: d.changes } : undefined,
    settings,
    campaign,
  };

  const isRevoked = revoked !== undefined;
  const subject = subjectOf((t) => t.outcome.subject(isRevoked), facts.name, facts.correction ? (t) => t.outcome.subjectCorrection : undefined);
  const footer = [
    footerItem('rulesVersion', d.rulesVersion),
    footerItem('decisionDate', `${localDate(decidedAtMs, campaign.utcOffsetMinutes)} ${zoneNote(campaign)}`),
    footerItem('revision', String(d.revision)),
    footerItem('clauses', d.clauses.join(', ')),
    footerItem('providerId', d.providerId),
    footerItem('recipient', d.email),
  ];
  return compose(
    subject,
    isRevoked ? 'bad' : 'good',
    (t) => outcomeBlocks(t, facts),
    footer,
    (t) => t.outcome.footerNote,
  );
}

/** The body of the outcome mail in one language. */
function outcomeBlocks(t: MailCopy, f: OutcomeFacts): Block[] {
  const o = t.outcome;
  const { ev, campaign } = f;
  const mailbox = mailtoRuns(f.settings.feedbackMailbox);
  const blocks: Block[] = [{ kind: 'title', text: o.title(f.revoked !== undefined) }];
  if (f.correction) blocks.push(correctionBox(t, f.correction));
  blocks.push({ kind: 'p', runs: [t.greeting(f.name)] }, { kind: 'p', runs: [o.intro({ providerId: f.providerId, periodStart: f.periodStart, periodEnd: f.periodEnd, rules: campaign.rulesTitle })] });
  const r = f.revoked;
  if (!r) {
    blocks.push(
      { kind: 'result', tone: 'good', text: o.retained.result },
      { kind: 'heading', text: o.figuresHeading },
      figuresTable(t, ev),
      { kind: 'p', runs: [o.retained.nextRules(campaign.nextRulesTitle, campaign.noticeDate.slice(0, 4))] },
      { kind: 'p', runs: o.retained.feedback(mailbox) },
      { kind: 'p', runs: [t.signature] },
    );
    return blocks;
  }
  const failing: Runs[] = [];
  if (!ev.ordersMet) failing.push(o.revoked.ordersFailing(formatCount(ev.paidOrders), formatCount(ev.thresholdOrders), formatCount(ev.ordersMissing)));
  if (!ev.depositMet) failing.push(o.revoked.depositFailing(formatFen(ev.depositBalanceFen), formatFen(ev.depositRequiredFen), formatFen(ev.depositMissingFen)));
  blocks.push(
    { kind: 'result', tone: 'bad', text: o.revoked.result },
    { kind: 'p', runs: [o.revoked.revocation] },
    { kind: 'list', items: failing },
    { kind: 'heading', text: o.figuresHeading },
    figuresTable(t, ev),
    { kind: 'heading', text: o.revoked.nextHeading },
    {
      kind: 'list',
      items: [
        o.revoked.delisting(r.noticeDate),
        o.revoked.reapplying(r.reapplyDays, r.reapplyFrom),
        o.revoked.exit(exitProcedureRuns(f.settings.exitRefundProcedure, campaign)),
        o.revoked.objections(mailbox),
      ],
    },
    { kind: 'p', runs: [o.revoked.authoritative] },
    { kind: 'p', runs: [t.signature] },
  );
  return blocks;
}

/** A URL is linked under the campaign's title of the procedure; any other text is quoted as it is. */
function exitProcedureRuns(procedure: string, c: Campaign): Runs {
  return isHttpsUrl(procedure) ? [`${c.exitRefundProcedure} `, { href: procedure, text: procedure }] : [headerSafe(procedure)];
}

/** Each requirement's figure against what it requires, and whether the decision found it met. */
function figuresTable(t: MailCopy, ev: Evidence): Block {
  const { head, orders, deposit } = t.outcome.table;
  const row = (copy: typeof orders, figure: string, required: string, met: boolean): TableRow => ({
    cells: [copy.label, copy.value(figure), copy.requirement(required), met ? copy.met : copy.notMet],
    tone: met ? 'good' : 'bad',
  });
  return {
    kind: 'table',
    head,
    rows: [row(orders, formatCount(ev.paidOrders), formatCount(ev.thresholdOrders), ev.ordersMet), row(deposit, formatFen(ev.depositBalanceFen), formatFen(ev.depositRequiredFen), ev.depositMet)],
  };
}

function correctionBox(t: MailCopy, c: NonNullable<OutcomeFacts['correction']>): Block {
  const copy = t.outcome.correction;
  const changes = c.changes ?? [];
  // A correction from revoked to retained must say plainly that the earlier revocation no longer holds.
  const withdrawn = changes.some((ch) => ch.field === 'outcome' && ch.from === 'revoked' && ch.to === 'retained');
  const items: Runs[] = changes.map((ch) => [
    { bold: labelOf(t.labels.field, ch.field) ?? headerSafe(ch.field) },
    `${t.colon}${changeValue(ch.field, ch.from, t)} → ${changeValue(ch.field, ch.to, t)}`,
  ]);
  return {
    kind: 'box',
    tone: 'warn',
    title: copy.title,
    paras: [[copy.replaces(c.previousRevision, withdrawn)], [items.length > 0 ? copy.changes : copy.noChanges]],
    items,
  };
}

/** A changed value in the words of the mail: money via formatFen, outcomes and reasons by their labels. */
function changeValue(field: string, value: unknown, t: MailCopy): string {
  if (value === undefined || value === null) return t.none;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return field.endsWith('Fen') ? formatFen(value) : formatCount(value);
  if (field === 'outcome' && typeof value === 'string') {
    const label = labelOf(t.labels.outcome, value);
    if (label !== undefined) return label;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return t.none;
    const parts = value.map((v) => (field === 'reasons' && typeof v === 'string' ? labelOf(t.labels.reason, v) : undefined) ?? changeValue('', v, t));
    return parts.join(t.listSeparator);
  }
  if (typeof value === 'string') return headerSafe(value);
  return headerSafe(JSON.stringify(value) ?? String(value));
}

// ---------------------------------------------------------------------------------------------------
// Progress mail

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
