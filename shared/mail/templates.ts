/**
 * The provider mails: the outcome of the 2024 renewal (retained / revoked, and corrections of either) and
 * the weekly progress reminder during the season. Pure: no I/O, no clock; every input is passed in.
 *
 * Each mail is Chinese first, then English, in both the HTML and the plain-text part; both parts are
 * rendered from one block list per language (./document.ts), so they say the same thing. Every figure an
 * outcome mail states comes from the stored decision (its evidence, RULES.md clause 2.3), never from the
 * campaign, so the mail reproduces what was decided even if the campaign changes later.
 */
import { isEmailAddress } from '../events.ts';
import type { DecisionChange, StoredDecision } from '../model.ts';
import type { Campaign } from '../rules/campaign.ts';
import type { Reason } from '../rules/rules.ts';
import { addDays, daysBetween, isValidDate, localDate, parseInstant } from '../rules/time.ts';
import { type Block, type Inline, type Lang, type MailDocument, renderHtml, renderText, type Runs, type TableRow, type WeekRow } from './document.ts';
import { formatCount, formatFen, headerSafe } from './format.ts';

export { escapeHtml, formatFen, headerSafe } from './format.ts';

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

export interface MailSettings {
  /** Where providers send objections and feedback (RULES.md clause 3). */
  feedbackMailbox: string;
  /** Name or https URL of 《抖店服务市场服务商退出退保流程说明》 (clause 3); a URL becomes a link. */
  exitRefundProcedure: string;
}

/** A mail that must not be rendered from this input: the message says which input and why. */
export class MailTemplateError extends Error {
  override name = 'MailTemplateError';
}

// ---------------------------------------------------------------------------------------------------
// Names of the documents the mails cite

/** The rules' titles, as the mails and the public notice cite them. */
export const RENEWAL_RULES_ZH = '《抖音电商产业带服务商2024年续牌规则》';
export const RENEWAL_RULES_EN = 'Douyin E-commerce Industrial-Belt Service Provider 2024 Renewal Rules';
const REGULAR_RULES_ZH = '《抖音电商产业带服务商常规考核规则》';
const REGULAR_RULES_EN = 'Douyin E-commerce Industrial-Belt Service Provider Regular Assessment Rules';
const EXIT_PROCEDURE_ZH = '《抖店服务市场服务商退出退保流程说明》';
const SIGNATURE = { zh: '抖音电商', en: 'Douyin E-commerce' } as const;

const OUTCOME_LABEL: Record<Lang, Record<string, string>> = {
  zh: { retained: '保留认证', revoked: '取消认证', not_assessed: '不参与考核' },
  en: { retained: 'retained', revoked: 'revoked', not_assessed: 'not assessed' },
};

/** Each reason in words, as the mails and the public notice state it. */
export const REASON_LABEL: Record<Lang, Record<Reason, string>> = {
  zh: {
    orders_below_threshold: '支付订单量未达考核线',
    deposit_not_paid_in_full: '保证金未缴足',
    not_in_scope: '不在适用范围内',
    not_regularized: '未转正',
  },
  en: {
    orders_below_threshold: 'paid orders below the threshold',
    deposit_not_paid_in_full: 'deposit not paid in full',
    not_in_scope: 'not in scope',
    not_regularized: 'not regularized',
  },
};

/** Labels of the decision fields a correction may list; an unknown field is shown by its name. */
const FIELD_LABEL: Record<string, { zh: string; en: string }> = {
  outcome: { zh: '考核结果', en: 'Result' },
  reasons: { zh: '未达标项', en: 'Requirements not met' },
  paidOrders: { zh: '支付订单量', en: 'Paid orders' },
  thresholdOrders: { zh: '考核线', en: 'Threshold' },
  depositBalanceFen: { zh: '保证金余额', en: 'Deposit balance' },
  depositRequiredFen: { zh: '保证金要求', en: 'Required deposit' },
  noticeDate: { zh: '摘牌公示日期', en: 'Delisting notice date' },
  reapplyFrom: { zh: '可再次申请日期', en: 'May re-apply from' },
  clauses: { zh: '依据条款', en: 'Clauses' },
  rulesVersion: { zh: '规则版本', en: 'Rules version' },
};

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

/**
 * The name as one line of text, for the subject and the bodies alike (and the public notice and the
 * report page); the id stands in for a blank name.
 */
export function displayName(name: string, providerId: string): string {
  return headerSafe(name) || headerSafe(providerId);
}

function isHttpsUrl(s: string): boolean {
  return /^https:\/\/[^\s<>"']+$/i.test(s);
}

// ---------------------------------------------------------------------------------------------------
// Outcome mail

/** The figures of an assessed decision, taken from its stored evidence (clause 2.3). */
interface Evidence {
  paidOrders: number;
  thresholdOrders: number;
  depositBalanceFen: number;
  depositRequiredFen: number;
  ordersMet: boolean;
  depositMet: boolean;
  ordersMissing: number;
  depositMissingFen: number;
}

function evidenceOf(d: StoredDecision, where: string): Evidence {
  const paidOrders = count(d.paidOrders, `${where}: paidOrders`);
  const thresholdOrders = count(d.thresholdOrders, `${where}: thresholdOrders`);
  const depositBalanceFen = fen(d.depositBalanceFen, `${where}: depositBalanceFen`);
  const depositRequiredFen = fen(d.depositRequiredFen, `${where}: depositRequiredFen`);
  const ordersMet = paidOrders >= thresholdOrders;
  const depositMet = depositBalanceFen >= depositRequiredFen;
  // The mail must not contradict itself: the stored reasons are exactly the failing figures (clause 2.2.3).
  const expected: Reason[] = [];
  if (!ordersMet) expected.push('orders_below_threshold');
  if (!depositMet) expected.push('deposit_not_paid_in_full');
  const reasons = [...d.reasons].sort();
  if (reasons.join() !== [...expected].sort().join()) {
    fail(`${where}: reasons [${d.reasons.join(', ')}] do not match its figures, which fail [${expected.join(', ')}]`);
  }
  if ((d.outcome === 'retained') !== (expected.length === 0)) {
    fail(`${where}: outcome '${d.outcome}' does not match its figures`);
  }
  return {
    paidOrders,
    thresholdOrders,
    depositBalanceFen,
    depositRequiredFen,
    ordersMet,
    depositMet,
    ordersMissing: Math.max(0, thresholdOrders - paidOrders),
    depositMissingFen: Math.max(0, depositRequiredFen - depositBalanceFen),
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
    correction: d.revision > 1 ? { previousRevision: d.revision - 1, changes: d.changes } : undefined,
    settings,
  };

  const result = revoked
    ? '【产业带服务商续牌结果】已取消认证 / Renewal result: certification revoked'
    : '【产业带服务商续牌结果】已保留认证 / Renewal result: certification retained';
  const subject = headerSafe(`${facts.correction ? '【更正 Correction】' : ''}${result} — ${facts.name}`);

  const doc: MailDocument = {
    title: subject,
    accent: revoked ? 'bad' : 'good',
    zh: outcomeZh(facts),
    en: outcomeEn(facts),
    footer: [
      { zh: '规则版本', en: 'Rules version', value: d.rulesVersion },
      { zh: '决定日期', en: 'Decision date', value: `${localDate(decidedAtMs, campaign.utcOffsetMinutes)} (北京时间 China Standard Time, UTC+8)` },
      { zh: '修订', en: 'Revision', value: String(d.revision) },
      { zh: '依据条款', en: 'Clauses', value: d.clauses.join(', ') },
      { zh: '服务商ID', en: 'Provider ID', value: d.providerId },
      { zh: '收件人', en: 'Recipient', value: d.email },
    ],
    footerNotes: [
      {
        zh: '本邮件所列数据均取自该考核决定的存档记录，以平台系统统计和核算的数据为准。',
        en: 'Every figure in this email is taken from the recorded decision; the platform’s own statistics are authoritative.',
      },
    ],
  };
  return { subject, html: renderHtml(doc), text: renderText(doc) };
}

function figuresTable(lang: Lang, ev: Evidence): Block {
  if (lang === 'zh') {
    const rows: TableRow[] = [
      {
        cells: ['绑定店铺支付订单量（不含赠品订单）', `${formatCount(ev.paidOrders)} 单`, `不低于 ${formatCount(ev.thresholdOrders)} 单`, ev.ordersMet ? '达标' : '未达标'],
        tone: ev.ordersMet ? 'good' : 'bad',
      },
      {
        cells: ['考核周期结束时的保证金余额', formatFen(ev.depositBalanceFen), `缴足 ${formatFen(ev.depositRequiredFen)}`, ev.depositMet ? '已缴足' : '未缴足'],
        tone: ev.depositMet ? 'good' : 'bad',
      },
    ];
    return { kind: 'table', head: ['考核项', '贵方数据', '要求', '结果'], rows };
  }
  const rows: TableRow[] = [
    {
      cells: ['Paid orders of bound stores (gift orders excluded)', formatCount(ev.paidOrders), `at least ${formatCount(ev.thresholdOrders)}`, ev.ordersMet ? 'met' : 'not met'],
      tone: ev.ordersMet ? 'good' : 'bad',
    },
    {
      cells: ['Deposit balance at the end of the period', formatFen(ev.depositBalanceFen), `${formatFen(ev.depositRequiredFen)} paid in full`, ev.depositMet ? 'paid in full' : 'not paid in full'],
      tone: ev.depositMet ? 'good' : 'bad',
    },
  ];
  return { kind: 'table', head: ['Criterion', 'Your figure', 'Requirement', 'Result'], rows };
}

function correctionBox(lang: Lang, c: NonNullable<OutcomeFacts['correction']>): Block[] {
  const changes = c.changes ?? [];
  // A correction from revoked to retained must say plainly that the earlier revocation no longer holds.
  const withdrawn = changes.some((ch) => ch.field === 'outcome' && ch.from === 'revoked' && ch.to === 'retained');
  const items: Runs[] = changes.map((ch) => [
    { bold: fieldLabel(ch.field, lang) },
    `${lang === 'zh' ? '：' : ': '}${changeValue(ch.field, ch.from, lang)} → ${changeValue(ch.field, ch.to, lang)}`,
  ]);
  if (lang === 'zh') {
    return [
      {
        kind: 'box',
        tone: 'warn',
        title: '更正通知',
        paras: [
          [`本邮件更正并取代此前发送的第 ${c.previousRevision} 版通知，请以本邮件为准。${withdrawn ? '此前通知中的取消认证决定（含摘牌公示）已撤销，贵方继续保持抖音电商产业带服务商身份。' : ''}`],
          [items.length > 0 ? '变更内容：' : '变更内容：未记录具体变更字段，以下为更正后的完整结果。'],
        ],
        items,
      },
    ];
  }
  return [
    {
      kind: 'box',
      tone: 'warn',
      title: 'Correction',
      paras: [
        [`This notice replaces the earlier notice of revision ${c.previousRevision}; please rely on this one.${withdrawn ? ' The revocation announced there, including the public delisting, is withdrawn: you keep your status as a Douyin E-commerce industrial-belt service provider.' : ''}`],
        [items.length > 0 ? 'What changed:' : 'What changed: no field-level changes were recorded; the full corrected result follows.'],
      ],
      items,
    },
  ];
}

function fieldLabel(field: string, lang: Lang): string {
  return Object.hasOwn(FIELD_LABEL, field) ? (FIELD_LABEL[field] as { zh: string; en: string })[lang] : headerSafe(field);
}

/** A changed value in the words of the mail: money via formatFen, outcomes and reasons by their labels. */
function changeValue(field: string, value: unknown, lang: Lang): string {
  const none = lang === 'zh' ? '（无）' : '(none)';
  if (value === undefined || value === null) return none;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return field.endsWith('Fen') ? formatFen(value) : formatCount(value);
  if (field === 'outcome' && typeof value === 'string' && Object.hasOwn(OUTCOME_LABEL[lang], value)) return OUTCOME_LABEL[lang][value] as string;
  if (Array.isArray(value)) {
    if (value.length === 0) return none;
    const labels = REASON_LABEL[lang] as Record<string, string>;
    const parts = value.map((v) => (field === 'reasons' && typeof v === 'string' && Object.hasOwn(labels, v) ? (labels[v] as string) : changeValue('', v, lang)));
    return parts.join(lang === 'zh' ? '、' : ', ');
  }
  if (typeof value === 'string') return headerSafe(value);
  return headerSafe(JSON.stringify(value) ?? String(value));
}

function exitProcedureRuns(procedure: string): Runs {
  return isHttpsUrl(procedure) ? [`${EXIT_PROCEDURE_ZH} `, { href: procedure, text: procedure }] : [headerSafe(procedure)];
}

function mailtoRuns(mailbox: string): Inline {
  return { href: `mailto:${mailbox}`, text: mailbox };
}

function outcomeZh(f: OutcomeFacts): Block[] {
  const { ev } = f;
  const blocks: Block[] = [{ kind: 'title', text: `产业带服务商续牌结果：${f.revoked ? '已取消认证' : '已保留认证'}` }];
  if (f.correction) blocks.push(...correctionBox('zh', f.correction));
  blocks.push(
    { kind: 'p', runs: [`尊敬的${f.name}：`] },
    {
      kind: 'p',
      runs: [`根据${RENEWAL_RULES_ZH}，贵方（服务商ID：${f.providerId}）在考核周期（${f.periodStart} 至 ${f.periodEnd}）内的续牌考核已完成，结果如下。`],
    },
  );
  if (!f.revoked) {
    blocks.push(
      { kind: 'result', tone: 'good', text: '考核结果：达标，继续保持抖音电商产业带服务商身份' },
      { kind: 'heading', text: '考核数据' },
    figuresTable('zh', ev),
      { kind: 'p', runs: [`自即日起，平台将延用${REGULAR_RULES_ZH}对贵方进行2024年的常规考核，请继续按该规则的要求开展业务。`] },
      { kind: 'p', runs: ['考核数据以平台系统统计和核算的数据为准。如有意见或建议，可发送邮件至 ', mailtoRuns(f.settings.feedbackMailbox), '，平台将进行评议。'] },
      { kind: 'p', runs: [SIGNATURE.zh] },
    );
    return blocks;
  }
  const r = f.revoked;
  const failing: Runs[] = [];
  if (!ev.ordersMet) {
    failing.push([
      { bold: '支付订单量未达考核线' },
      `（第 2.2.1 条）：绑定店铺支付订单量 ${formatCount(ev.paidOrders)} 单，考核线 ${formatCount(ev.thresholdOrders)} 单，差 ${formatCount(ev.ordersMissing)} 单。`,
    ]);
  }
  if (!ev.depositMet) {
    failing.push([
      { bold: '保证金未缴足' },
      `（第 2.2.2 条）：考核周期结束时保证金余额 ${formatFen(ev.depositBalanceFen)}，须缴足 ${formatFen(ev.depositRequiredFen)}，尚差 ${formatFen(ev.depositMissingFen)}。`,
    ]);
  }
  blocks.push(
    { kind: 'result', tone: 'bad', text: '考核结果：未达标，取消产业带服务商认证身份' },
    {
      kind: 'p',
      runs: ['平台将取消贵方的抖音电商产业带服务商认证身份，解除相关产业带服务商合作协议及有关业务合作。未达标项如下：'],
    },
    { kind: 'list', items: failing },
    { kind: 'heading', text: '考核数据' },
    figuresTable('zh', ev),
    { kind: 'heading', text: '后续事项' },
    {
      kind: 'list',
      items: [
        [
          { bold: '摘牌公示' },
          `：平台将于 ${r.noticeDate} 在抖店服务市场进行摘牌公示。自公示之日（${r.noticeDate}）起，贵方不得以“抖音电商产业带服务商”身份对外开展业务，仅作为抖店服务市场服务商。`,
        ],
        [
          { bold: '再次申请' },
          `：原则上自公示之日起 ${r.reapplyDays} 天内不接受贵方的产业带服务商申请，最早可于 ${r.reapplyFrom} 起再次申请。如需再次申请产业带服务商认证，须在提报申请时特别说明此前被取消认证的情况。`,
        ],
        [{ bold: '退出退保' }, '：如决定退出抖店服务市场、退回保证金，请按照以下流程说明申请退店退保：', ...exitProcedureRuns(f.settings.exitRefundProcedure), '。'],
        [{ bold: '意见反馈' }, '：如对考核结果有异议，可发送邮件至 ', mailtoRuns(f.settings.feedbackMailbox), ' 反馈意见和建议，平台将进行评议。'],
      ],
    },
    { kind: 'p', runs: ['考核数据以平台系统统计和核算的数据为准。'] },
    { kind: 'p', runs: [SIGNATURE.zh] },
  );
  return blocks;
}

function outcomeEn(f: OutcomeFacts): Block[] {
  const { ev } = f;
  const blocks: Block[] = [{ kind: 'title', text: `Industrial-belt provider renewal: certification ${f.revoked ? 'revoked' : 'retained'}` }];
  if (f.correction) blocks.push(...correctionBox('en', f.correction));
  blocks.push(
    { kind: 'p', runs: [`Dear ${f.name},`] },
    {
      kind: 'p',
      runs: [
        `Your renewal assessment (provider ID: ${f.providerId}) under the ${RENEWAL_RULES_EN} (${RENEWAL_RULES_ZH}) for the assessment period ${f.periodStart} to ${f.periodEnd} is complete. The result:`,
      ],
    },
  );
  if (!f.revoked) {
    blocks.push(
      { kind: 'result', tone: 'good', text: 'Result: requirements met, certification retained' },
      { kind: 'heading', text: 'Assessment figures' },
    figuresTable('en', ev),
      {
        kind: 'p',
        runs: [`From now on, the platform assesses you during 2024 under the ${REGULAR_RULES_EN} (${REGULAR_RULES_ZH}); please keep meeting their requirements.`],
      },
      {
        kind: 'p',
        runs: ['The platform’s own statistics and accounting are authoritative. Comments and suggestions are welcome at ', mailtoRuns(f.settings.feedbackMailbox), '; the platform will review them.'],
      },
      { kind: 'p', runs: [SIGNATURE.en] },
    );
    return blocks;
  }
  const r = f.revoked;
  const failing: Runs[] = [];
  if (!ev.ordersMet) {
    failing.push([
      { bold: 'Paid orders below the threshold' },
      ` (clause 2.2.1): the bound stores had ${formatCount(ev.paidOrders)} paid orders against a threshold of ${formatCount(ev.thresholdOrders)}, ${formatCount(ev.ordersMissing)} short.`,
    ]);
  }
  if (!ev.depositMet) {
    failing.push([
      { bold: 'Deposit not paid in full' },
      ` (clause 2.2.2): the deposit balance at the end of the period was ${formatFen(ev.depositBalanceFen)} against the required ${formatFen(ev.depositRequiredFen)}, ${formatFen(ev.depositMissingFen)} missing.`,
    ]);
  }
  blocks.push(
    { kind: 'result', tone: 'bad', text: 'Result: requirements not met, certification revoked' },
    {
      kind: 'p',
      runs: ['The platform revokes your certification as a Douyin E-commerce industrial-belt service provider and terminates the related industrial-belt cooperation agreement. Requirements not met:'],
    },
    { kind: 'list', items: failing },
    { kind: 'heading', text: 'Assessment figures' },
    figuresTable('en', ev),
    { kind: 'heading', text: 'What happens next' },
    {
      kind: 'list',
      items: [
        [
          { bold: 'Public delisting' },
          `: on ${r.noticeDate} the platform publishes a delisting notice (摘牌公示) in the Douyin store service market (抖店服务市场). From that date you may not present yourself or do business as a “Douyin E-commerce industrial-belt service provider” (抖音电商产业带服务商); you remain an ordinary provider of the store service market.`,
        ],
        [
          { bold: 'Re-applying' },
          `: in principle, no application from you to become an industrial-belt provider is accepted within ${r.reapplyDays} days of the notice date; you may re-apply from ${r.reapplyFrom}. A new application must state explicitly that your certification was revoked earlier.`,
        ],
        [
          { bold: 'Leaving the market and deposit refund' },
          ': if you decide to leave the store service market and have your deposit refunded, apply through the exit-and-deposit-refund procedure: ',
          ...exitProcedureRuns(f.settings.exitRefundProcedure),
          '.',
        ],
        [{ bold: 'Objections' }, ': if you disagree with this result, email ', mailtoRuns(f.settings.feedbackMailbox), '; the platform will review your feedback.'],
      ],
    },
    { kind: 'p', runs: ['The platform’s own statistics and accounting are authoritative.'] },
    { kind: 'p', runs: [SIGNATURE.en] },
  );
  return blocks;
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

export interface ProgressFigures {
  /**
   * Days of the season from `asOfDate` through `periodEndDate`, BOTH inclusive: orders paid on the as-of
   * day itself still count. The whole season (91) before or at its start, 1 on its last day, 0 after it.
   */
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

/** Integer ceil of a / b for a >= 0, b > 0, without a float quotient. */
function ceilDiv(a: number, b: number): number {
  const q = Math.floor(a / b);
  return q * b < a ? q + 1 : q;
}

/** The figures a progress mail states, from the snapshot alone; throws a MailTemplateError on a bad snapshot. */
export function progressFigures(s: ProgressSnapshot): ProgressFigures {
  checkSnapshot(s);
  const seasonDays = daysBetween(s.periodStartDate, s.periodEndDate) + 1;
  const daysLeft = Math.max(0, Math.min(seasonDays, daysBetween(s.asOfDate, s.periodEndDate) + 1));
  const ordersMissing = Math.max(0, s.thresholdOrders - s.paidOrders);
  const ordersPerDayNeeded = daysLeft > 0 ? ceilDiv(ordersMissing, daysLeft) : 0;
  const depositMissingFen = Math.max(0, s.depositRequiredFen - s.depositBalanceFen);
  const percent = s.paidOrders >= s.thresholdOrders ? 100 : Math.floor((s.paidOrders * 100) / s.thresholdOrders);
  return { daysLeft, ordersMissing, ordersPerDayNeeded, depositMissingFen, percent };
}

interface Week {
  number: number;
  start: string;
  end: string;
  orders: number;
  started: boolean;
  current: boolean;
}

/** The season in weeks of 7 days from its first day (13 for a 91-day season); the last may be shorter. */
function seasonWeeks(s: ProgressSnapshot): Week[] {
  const seasonDays = daysBetween(s.periodStartDate, s.periodEndDate) + 1;
  const weeks: Week[] = [];
  for (let i = 0; i * 7 < seasonDays; i++) {
    const start = addDays(s.periodStartDate, i * 7);
    const end = addDays(s.periodStartDate, Math.min(seasonDays, i * 7 + 7) - 1);
    const started = daysBetween(start, s.asOfDate) >= 0;
    const current = started && daysBetween(s.asOfDate, end) >= 0;
    weeks.push({ number: i + 1, start, end, orders: 0, started, current });
  }
  for (const [day, n] of Object.entries(s.ordersByDay)) {
    const offset = daysBetween(s.periodStartDate, day);
    if (offset < 0 || offset >= seasonDays) continue; // outside the season: not counted (clause 2.1)
    const week = weeks[Math.floor(offset / 7)];
    if (week) week.orders += n;
  }
  return weeks;
}

/** The week of the season the as-of date falls in, 1-based, clamped to the season. */
function weekNumber(s: ProgressSnapshot, weeks: number): number {
  return Math.max(1, Math.min(weeks, Math.floor(daysBetween(s.periodStartDate, s.asOfDate) / 7) + 1));
}

function weekRows(weeks: readonly Week[], lang: Lang, asOfDate: string): WeekRow[] {
  const max = Math.max(0, ...weeks.map((w) => (w.started ? w.orders : 0)));
  return weeks.map((w) => {
    const label = lang === 'zh' ? `第 ${String(w.number).padStart(2, ' ')} 周` : `Week ${String(w.number).padStart(2, ' ')}`;
    const percent = max === 0 || w.orders === 0 ? 0 : Math.max(1, Math.round((w.orders * 100) / max));
    return {
      label,
      range: `${w.start} ~ ${w.end}`,
      orders: w.started ? w.orders : undefined,
      ordersText: w.started ? formatCount(w.orders) : '—',
      percent,
      current: w.current,
      currentNote: lang === 'zh' ? `本周（截至 ${asOfDate}）` : `this week, up to ${asOfDate}`,
    };
  });
}

/**
 * The weekly progress reminder during the season: orders against the threshold with a bar, the days left,
 * the daily pace still needed, the deposit, and a per-week chart, all drawn with table cells (HTML) or
 * block characters (text), so no client needs scripts or images. Not an outcome: it says so.
 */
export function renderProgressMail(input: { snapshot: ProgressSnapshot; campaign: Campaign; settings: MailSettings }): RenderedMail {
  const { snapshot: s, campaign, settings } = input;
  checkSettings(settings);
  const f = progressFigures(s);
  const weeks = seasonWeeks(s);
  const week = weekNumber(s, weeks.length);
  const name = displayName(s.providerName, s.providerId);
  const subject = headerSafe(`【续牌进度】第${week}周 / Renewal progress, week ${week} — ${name}`);
  const ordersMet = f.ordersMissing === 0;
  const depositMet = f.depositMissingFen === 0;
  const ctx: ProgressContext = { s, f, week, weeks, name, ordersMet, depositMet, settings };
  const doc: MailDocument = {
    title: subject,
    accent: 'info',
    zh: progressZh(ctx),
    en: progressEn(ctx),
    footer: [
      { zh: '规则版本', en: 'Rules version', value: campaign.rulesVersion },
      { zh: '数据截至', en: 'Figures as of', value: `${s.asOfDate} (北京时间 China Standard Time, UTC+8)` },
      { zh: '服务商ID', en: 'Provider ID', value: s.providerId },
      { zh: '收件人', en: 'Recipient', value: s.email },
    ],
    footerNotes: [
      {
        zh: '本邮件仅为进度提醒，不代表考核结果；考核结果以考核周期结束后的考核决定为准。',
        en: 'This is a progress reminder, not an assessment result; the result is decided after the period ends.',
      },
    ],
  };
  return { subject, html: renderHtml(doc), text: renderText(doc) };
}

interface ProgressContext {
  s: ProgressSnapshot;
  f: ProgressFigures;
  week: number;
  weeks: readonly Week[];
  name: string;
  ordersMet: boolean;
  depositMet: boolean;
  settings: MailSettings;
}

function progressZh(c: ProgressContext): Block[] {
  const { s, f } = c;
  const pace: Runs = c.ordersMet
    ? [{ bold: '已达到考核线' }, '，请继续保持。']
    : f.daysLeft === 0
      ? ['考核周期已结束，考核结果将另行通知。']
      : ['平均每天还需 ', { bold: `${formatCount(f.ordersPerDayNeeded)} 单` }, '（向上取整）。'];
  const deposit: Runs = c.depositMet
    ? ['保证金：已缴 ', { bold: formatFen(s.depositBalanceFen) }, `，要求 ${formatFen(s.depositRequiredFen)}，已缴足。`]
    : [
        '保证金：已缴 ',
        { bold: formatFen(s.depositBalanceFen) },
        `，要求 ${formatFen(s.depositRequiredFen)}，尚差 `,
        { bold: formatFen(f.depositMissingFen) },
        `，须于考核周期结束前（${s.periodEndDate} 当天结束前）缴足。`,
      ];
  return [
    { kind: 'title', text: `续牌考核进度 · 第 ${c.week} 周（共 ${c.weeks.length} 周）` },
    { kind: 'p', runs: [`尊敬的${c.name}：`] },
    {
      kind: 'p',
      runs: [
        `以下为贵方（服务商ID：${s.providerId}）在${RENEWAL_RULES_ZH}考核周期（${s.periodStartDate} 至 ${s.periodEndDate}）内的当前进度，数据截至 ${s.asOfDate}（北京时间），以平台系统统计和核算的数据为准。`,
      ],
    },
    { kind: 'heading', text: '支付订单量（不含赠品订单）' },
    { kind: 'p', runs: ['已完成 ', { bold: `${formatCount(s.paidOrders)} / ${formatCount(s.thresholdOrders)} 单` }, `（${f.percent}%）`] },
    { kind: 'bar', percent: f.percent, tone: c.ordersMet ? 'good' : 'info' },
    {
      kind: 'list',
      items: [
        ['距考核线还差 ', { bold: `${formatCount(f.ordersMissing)} 单` }, '。'],
        ['剩余 ', { bold: `${formatCount(f.daysLeft)} 天` }, `（含 ${s.asOfDate} 当天，至 ${s.periodEndDate} 止）。`],
        pace,
        deposit,
      ],
    },
    { kind: 'heading', text: '每周订单量' },
    { kind: 'weeks', rows: weekRows(c.weeks, 'zh', s.asOfDate) },
    { kind: 'p', runs: [`自考核周期第一天（${s.periodStartDate}）起每 7 天为一周；本周数据截至 ${s.asOfDate}，尚未开始的周显示为“—”。`] },
    {
      kind: 'p',
      runs: [
        '考核周期结束时，如支付订单量未达考核线或保证金未缴足，平台将取消产业带服务商认证身份。如有疑问，可发送邮件至 ',
        mailtoRuns(c.settings.feedbackMailbox),
        '。',
      ],
    },
    { kind: 'p', runs: [SIGNATURE.zh] },
  ];
}

function progressEn(c: ProgressContext): Block[] {
  const { s, f } = c;
  const pace: Runs = c.ordersMet
    ? [{ bold: 'Threshold reached' }, '; keep it up.']
    : f.daysLeft === 0
      ? ['The assessment period has ended; you will be notified of the result.']
      : ['Orders still needed per day: ', { bold: formatCount(f.ordersPerDayNeeded) }, ' (rounded up).'];
  const deposit: Runs = c.depositMet
    ? ['Deposit: ', { bold: formatFen(s.depositBalanceFen) }, ` paid of the required ${formatFen(s.depositRequiredFen)}, paid in full.`]
    : [
        'Deposit: ',
        { bold: formatFen(s.depositBalanceFen) },
        ` paid of the required ${formatFen(s.depositRequiredFen)}, `,
        { bold: formatFen(f.depositMissingFen) },
        ` missing; it must be paid in full before the period ends (by the end of ${s.periodEndDate}).`,
      ];
  return [
    { kind: 'title', text: `Renewal progress, week ${c.week} of ${c.weeks.length}` },
    { kind: 'p', runs: [`Dear ${c.name},`] },
    {
      kind: 'p',
      runs: [
        `Here is your progress (provider ID: ${s.providerId}) in the assessment period ${s.periodStartDate} to ${s.periodEndDate} of the ${RENEWAL_RULES_EN} (${RENEWAL_RULES_ZH}), as of ${s.asOfDate} (China Standard Time). The platform’s own statistics are authoritative.`,
      ],
    },
    { kind: 'heading', text: 'Paid orders (gift orders excluded)' },
    { kind: 'p', runs: [{ bold: `${formatCount(s.paidOrders)} of ${formatCount(s.thresholdOrders)}` }, ` orders (${f.percent}%)`] },
    { kind: 'bar', percent: f.percent, tone: c.ordersMet ? 'good' : 'info' },
    {
      kind: 'list',
      items: [
        ['Orders still missing: ', { bold: formatCount(f.ordersMissing) }, '.'],
        ['Days left: ', { bold: formatCount(f.daysLeft) }, ` (counting ${s.asOfDate} itself, through ${s.periodEndDate}).`],
        pace,
        deposit,
      ],
    },
    { kind: 'heading', text: 'Orders per week' },
    { kind: 'weeks', rows: weekRows(c.weeks, 'en', s.asOfDate) },
    { kind: 'p', runs: [`Weeks are 7-day blocks from the first day of the period (${s.periodStartDate}); this week counts up to ${s.asOfDate}; weeks that have not started show “—”.`] },
    {
      kind: 'p',
      runs: [
        'If, when the period ends, the paid orders are below the threshold or the deposit is not paid in full, the platform revokes the industrial-belt certification. Questions: ',
        mailtoRuns(c.settings.feedbackMailbox),
        '.',
      ],
    },
    { kind: 'p', runs: [SIGNATURE.en] },
  ];
}
