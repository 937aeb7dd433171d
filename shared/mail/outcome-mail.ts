/**
 * The outcome mail (templates.ts): retained or revoked, and the correction of either, with the figures
 * the stored decision was made from.
 */
import type { DecisionChange, StoredDecision } from '../model.ts';
import type { Campaign } from '../rules/campaign.ts';
import { type Figures, shortfall, unmetRequirements } from '../rules/rules.ts';
import { daysBetween, localDate, parseInstant } from '../rules/time.ts';
import { type MailCopy } from './copy.ts';
import { type Block, type Runs, type TableRow } from './document.ts';
import { displayName, formatCount, formatFen, headerSafe } from '../text/format.ts';
import { labelOf } from '../text/labels.ts';
import { checkSettings, compose, count, date, fail, fen, footerItem, isHttpsUrl, mailtoRuns, subjectOf, zoneNote, type MailSettings, type RenderedMail } from './compose.ts';

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
