/**
 * The words of the provider mails, as data: one table per language over one structure (`MailCopy`).
 * ./templates.ts builds every mail once from whichever table it is given, so the Chinese and the English
 * part say the same things in the same order; a sentence changes here, the structure does not.
 *
 * An entry is text, or a function from already formatted values (counts, money, dates) to text or to
 * runs of text (`Runs`, where a part is bold or a link). Titles, the zone's name and the exit procedure
 * come from the campaign.
 */
import type { Bilingual } from '../rules/campaign.ts';
import type { Inline, Lang, Runs } from './document.ts';
import { FIELD_LABEL, OUTCOME_LABEL, REASON_LABEL } from '../text/labels.ts';

export interface MailCopy {
  /** The words for the decision's values (./labels.ts). */
  labels: { outcome: Readonly<Record<string, string>>; reason: Readonly<Record<string, string>>; field: Readonly<Record<string, string>> };
  /** Between a label and its value. */
  colon: string;
  /** Between the items of a list of values. */
  listSeparator: string;
  /** A value that is not there. */
  none: string;
  greeting: (name: string) => string;
  signature: string;
  /** The footer's labels. */
  footer: { rulesVersion: string; decisionDate: string; revision: string; clauses: string; providerId: string; recipient: string; asOf: string };
  outcome: OutcomeCopy;
  progress: ProgressCopy;
}

/** One requirement's row of the outcome mail's figures table. */
interface RequirementRow {
  label: string;
  value: (figure: string) => string;
  requirement: (required: string) => string;
  met: string;
  notMet: string;
}

export interface OutcomeCopy {
  /** This language's half of the subject. */
  subject: (revoked: boolean) => string;
  /** This language's word in the subject's correction mark. */
  subjectCorrection: string;
  title: (revoked: boolean) => string;
  intro: (i: { providerId: string; periodStart: string; periodEnd: string; rules: Bilingual }) => string;
  figuresHeading: string;
  table: { head: readonly [criterion: string, figure: string, requirement: string, result: string]; orders: RequirementRow; deposit: RequirementRow };
  retained: {
    result: string;
    /** The regular assessment that follows (clause 3), in `year`: the year of the campaign's notice date (RULES.md "copy"). */
    nextRules: (title: Bilingual, year: string) => string;
    feedback: (mailbox: Inline) => Runs;
  };
  revoked: {
    result: string;
    revocation: string;
    ordersFailing: (paid: string, threshold: string, missing: string) => Runs;
    depositFailing: (balance: string, required: string, missing: string) => Runs;
    nextHeading: string;
    delisting: (noticeDate: string) => Runs;
    reapplying: (days: number, from: string) => Runs;
    exit: (procedure: Runs) => Runs;
    objections: (mailbox: Inline) => Runs;
    authoritative: string;
  };
  correction: {
    title: string;
    replaces: (previousRevision: number, withdrawn: boolean) => string;
    changes: string;
    noChanges: string;
  };
  footerNote: string;
}

export interface ProgressCopy {
  /** This language's half of the subject. */
  subject: (week: number) => string;
  title: (week: number, weeks: number) => string;
  intro: (i: { providerId: string; periodStart: string; periodEnd: string; asOf: string; rules: Bilingual; zone: Bilingual }) => string;
  ordersHeading: string;
  ordersDone: (paid: string, threshold: string, percent: number) => Runs;
  missing: (orders: string) => Runs;
  daysLeft: (days: string, asOf: string, periodEnd: string) => Runs;
  paceReached: Runs;
  paceOver: Runs;
  pace: (perDay: string) => Runs;
  depositPaid: (balance: string, required: string) => Runs;
  depositMissing: (balance: string, required: string, missing: string, periodEnd: string) => Runs;
  weeksHeading: string;
  /** A week's label in the chart; `number` is already padded to two columns. */
  weekLabel: (number: string) => string;
  thisWeek: (asOf: string) => string;
  weeksNote: (periodStart: string, asOf: string) => string;
  closing: (mailbox: Inline) => Runs;
  footerNote: string;
}

const ZH: MailCopy = {
  labels: { outcome: OUTCOME_LABEL.zh, reason: REASON_LABEL.zh, field: FIELD_LABEL.zh },
  colon: '：',
  listSeparator: '、',
  none: '（无）',
  greeting: (name) => `尊敬的${name}：`,
  signature: '抖音电商',
  footer: { rulesVersion: '规则版本', decisionDate: '决定日期', revision: '修订', clauses: '依据条款', providerId: '服务商ID', recipient: '收件人', asOf: '数据截至' },
  outcome: {
    subject: (revoked) => `【产业带服务商续牌结果】${revoked ? '已取消认证' : '已保留认证'}`,
    subjectCorrection: '更正',
    title: (revoked) => `产业带服务商续牌结果：${revoked ? '已取消认证' : '已保留认证'}`,
    intro: (i) => `根据${i.rules.zh}，贵方（服务商ID：${i.providerId}）在考核周期（${i.periodStart} 至 ${i.periodEnd}）内的续牌考核已完成，结果如下。`,
    figuresHeading: '考核数据',
    table: {
      head: ['考核项', '贵方数据', '要求', '结果'],
      orders: { label: '绑定店铺支付订单量（不含赠品订单）', value: (n) => `${n} 单`, requirement: (n) => `不低于 ${n} 单`, met: '达标', notMet: '未达标' },
      deposit: { label: '考核周期结束时的保证金余额', value: (fen) => fen, requirement: (fen) => `缴足 ${fen}`, met: '已缴足', notMet: '未缴足' },
    },
    retained: {
      result: '考核结果：达标，继续保持抖音电商产业带服务商身份',
      nextRules: (title, year) => `自即日起，平台将延用${title.zh}对贵方进行${year}年的常规考核，请继续按该规则的要求开展业务。`,
      feedback: (mailbox) => ['考核数据以平台系统统计和核算的数据为准。如有意见或建议，可发送邮件至 ', mailbox, '，平台将进行评议。'],
    },
    revoked: {
      result: '考核结果：未达标，取消产业带服务商认证身份',
      revocation: '平台将取消贵方的抖音电商产业带服务商认证身份，解除相关产业带服务商合作协议及有关业务合作。未达标项如下：',
      ordersFailing: (paid, threshold, missing) => [{ bold: '支付订单量未达考核线' }, `（第 2.2.1 条）：绑定店铺支付订单量 ${paid} 单，考核线 ${threshold} 单，差 ${missing} 单。`],
      depositFailing: (balance, required, missing) => [{ bold: '保证金未缴足' }, `（第 2.2.2 条）：考核周期结束时保证金余额 ${balance}，须缴足 ${required}，尚差 ${missing}。`],
      nextHeading: '后续事项',
      delisting: (date) => [
        { bold: '摘牌公示' },
        `：平台将于 ${date} 在抖店服务市场进行摘牌公示。自公示之日（${date}）起，贵方不得以“抖音电商产业带服务商”身份对外开展业务，仅作为抖店服务市场服务商。`,
      ],
      reapplying: (days, from) => [
        { bold: '再次申请' },
        `：原则上自公示之日起 ${days} 天内不接受贵方的产业带服务商申请，最早可于 ${from} 起再次申请。如需再次申请产业带服务商认证，须在提报申请时特别说明此前被取消认证的情况。`,
      ],
      exit: (procedure) => [{ bold: '退出退保' }, '：如决定退出抖店服务市场、退回保证金，请按照以下流程说明申请退店退保：', ...procedure, '。'],
      objections: (mailbox) => [{ bold: '意见反馈' }, '：如对考核结果有异议，可发送邮件至 ', mailbox, ' 反馈意见和建议，平台将进行评议。'],
      authoritative: '考核数据以平台系统统计和核算的数据为准。',
    },
    correction: {
      title: '更正通知',
      replaces: (previous, withdrawn) =>
        `本邮件更正并取代此前发送的第 ${previous} 版通知，请以本邮件为准。${withdrawn ? '此前通知中的取消认证决定（含摘牌公示）已撤销，贵方继续保持抖音电商产业带服务商身份。' : ''}`,
      changes: '变更内容：',
      noChanges: '变更内容：未记录具体变更字段，以下为更正后的完整结果。',
    },
    footerNote: '本邮件所列数据均取自该考核决定的存档记录，以平台系统统计和核算的数据为准。',
  },
  progress: {
    subject: (week) => `【续牌进度】第${week}周`,
    title: (week, weeks) => `续牌考核进度 · 第 ${week} 周（共 ${weeks} 周）`,
    intro: (i) =>
      `以下为贵方（服务商ID：${i.providerId}）在${i.rules.zh}考核周期（${i.periodStart} 至 ${i.periodEnd}）内的当前进度，数据截至 ${i.asOf}（${i.zone.zh}），以平台系统统计和核算的数据为准。`,
    ordersHeading: '支付订单量（不含赠品订单）',
    ordersDone: (paid, threshold, percent) => ['已完成 ', { bold: `${paid} / ${threshold} 单` }, `（${percent}%）`],
    missing: (orders) => ['距考核线还差 ', { bold: `${orders} 单` }, '。'],
    daysLeft: (days, asOf, end) => ['剩余 ', { bold: `${days} 天` }, `（含 ${asOf} 当天，至 ${end} 止）。`],
    paceReached: [{ bold: '已达到考核线' }, '，请继续保持。'],
    paceOver: ['考核周期已结束，考核结果将另行通知。'],
    pace: (perDay) => ['平均每天还需 ', { bold: `${perDay} 单` }, '（向上取整）。'],
    depositPaid: (balance, required) => ['保证金：已缴 ', { bold: balance }, `，要求 ${required}，已缴足。`],
    depositMissing: (balance, required, missing, end) => ['保证金：已缴 ', { bold: balance }, `，要求 ${required}，尚差 `, { bold: missing }, `，须于考核周期结束前（${end} 当天结束前）缴足。`],
    weeksHeading: '每周订单量',
    weekLabel: (n) => `第 ${n} 周`,
    thisWeek: (asOf) => `本周（截至 ${asOf}）`,
    weeksNote: (start, asOf) => `自考核周期第一天（${start}）起每 7 天为一周；本周数据截至 ${asOf}，尚未开始的周显示为“—”。`,
    closing: (mailbox) => ['考核周期结束时，如支付订单量未达考核线或保证金未缴足，平台将取消产业带服务商认证身份。如有疑问，可发送邮件至 ', mailbox, '。'],
    footerNote: '本邮件仅为进度提醒，不代表考核结果；考核结果以考核周期结束后的考核决定为准。',
  },
};

const EN: MailCopy = {
  labels: { outcome: OUTCOME_LABEL.en, reason: REASON_LABEL.en, field: FIELD_LABEL.en },
  colon: ': ',
  listSeparator: ', ',
  none: '(none)',
  greeting: (name) => `Dear ${name},`,
  signature: 'Douyin E-commerce',
  footer: { rulesVersion: 'Rules version', decisionDate: 'Decision date', revision: 'Revision', clauses: 'Clauses', providerId: 'Provider ID', recipient: 'Recipient', asOf: 'Figures as of' },
  outcome: {
    subject: (revoked) => `Renewal result: certification ${revoked ? 'revoked' : 'retained'}`,
    subjectCorrection: 'Correction',
    title: (revoked) => `Industrial-belt provider renewal: certification ${revoked ? 'revoked' : 'retained'}`,
    intro: (i) =>
      `Your renewal assessment (provider ID: ${i.providerId}) under the ${i.rules.en} (${i.rules.zh}) for the assessment period ${i.periodStart} to ${i.periodEnd} is complete. The result:`,
    figuresHeading: 'Assessment figures',
    table: {
      head: ['Criterion', 'Your figure', 'Requirement', 'Result'],
      orders: { label: 'Paid orders of bound stores (gift orders excluded)', value: (n) => n, requirement: (n) => `at least ${n}`, met: 'met', notMet: 'not met' },
      deposit: { label: 'Deposit balance at the end of the period', value: (fen) => fen, requirement: (fen) => `${fen} paid in full`, met: 'paid in full', notMet: 'not paid in full' },
    },
    retained: {
      result: 'Result: requirements met, certification retained',
      nextRules: (title, year) => `From now on, the platform assesses you during ${year} under the ${title.en} (${title.zh}); please keep meeting their requirements.`,
      feedback: (mailbox) => ['The platform’s own statistics and accounting are authoritative. Comments and suggestions are welcome at ', mailbox, '; the platform will review them.'],
    },
    revoked: {
      result: 'Result: requirements not met, certification revoked',
      revocation:
        'The platform revokes your certification as a Douyin E-commerce industrial-belt service provider and terminates the related industrial-belt cooperation agreement. Requirements not met:',
      ordersFailing: (paid, threshold, missing) => [
        { bold: 'Paid orders below the threshold' },
        ` (clause 2.2.1): the bound stores had ${paid} paid orders against a threshold of ${threshold}, ${missing} short.`,
      ],
      depositFailing: (balance, required, missing) => [
        { bold: 'Deposit not paid in full' },
        ` (clause 2.2.2): the deposit balance at the end of the period was ${balance} against the required ${required}, ${missing} missing.`,
      ],
      nextHeading: 'What happens next',
      delisting: (date) => [
        { bold: 'Public delisting' },
        `: on ${date} the platform publishes a delisting notice (摘牌公示) in the Douyin store service market (抖店服务市场). From that date you may not present yourself or do business as a “Douyin E-commerce industrial-belt service provider” (抖音电商产业带服务商); you remain an ordinary provider of the store service market.`,
      ],
      reapplying: (days, from) => [
        { bold: 'Re-applying' },
        `: in principle, no application from you to become an industrial-belt provider is accepted within ${days} days of the notice date; you may re-apply from ${from}. A new application must state explicitly that your certification was revoked earlier.`,
      ],
      exit: (procedure) => [
        { bold: 'Leaving the market and deposit refund' },
        ': if you decide to leave the store service market and have your deposit refunded, apply through the exit-and-deposit-refund procedure: ',
        ...procedure,
        '.',
      ],
      objections: (mailbox) => [{ bold: 'Objections' }, ': if you disagree with this result, email ', mailbox, '; the platform will review your feedback.'],
      authoritative: 'The platform’s own statistics and accounting are authoritative.',
    },
    correction: {
      title: 'Correction',
      replaces: (previous, withdrawn) =>
        `This notice replaces the earlier notice of revision ${previous}; please rely on this one.${withdrawn ? ' The revocation announced there, including the public delisting, is withdrawn: you keep your status as a Douyin E-commerce industrial-belt service provider.' : ''}`,
      changes: 'What changed:',
      noChanges: 'What changed: no field-level changes were recorded; the full corrected result follows.',
    },
    footerNote: 'Every figure in this email is taken from the recorded decision; the platform’s own statistics are authoritative.',
  },
  progress: {
    subject: (week) => `Renewal progress, week ${week}`,
    title: (week, weeks) => `Renewal progress, week ${week} of ${weeks}`,
    intro: (i) =>
      `Here is your progress (provider ID: ${i.providerId}) in the assessment period ${i.periodStart} to ${i.periodEnd} of the ${i.rules.en} (${i.rules.zh}), as of ${i.asOf} (${i.zone.en}). The platform’s own statistics are authoritative.`,
    ordersHeading: 'Paid orders (gift orders excluded)',
    ordersDone: (paid, threshold, percent) => [{ bold: `${paid} of ${threshold}` }, ` orders (${percent}%)`],
    missing: (orders) => ['Orders still missing: ', { bold: orders }, '.'],
    daysLeft: (days, asOf, end) => ['Days left: ', { bold: days }, ` (counting ${asOf} itself, through ${end}).`],
    paceReached: [{ bold: 'Threshold reached' }, '; keep it up.'],
    paceOver: ['The assessment period has ended; you will be notified of the result.'],
    pace: (perDay) => ['Orders still needed per day: ', { bold: perDay }, ' (rounded up).'],
    depositPaid: (balance, required) => ['Deposit: ', { bold: balance }, ` paid of the required ${required}, paid in full.`],
    depositMissing: (balance, required, missing, end) => [
      'Deposit: ',
      { bold: balance },
      ` paid of the required ${required}, `,
      { bold: missing },
      ` missing; it must be paid in full before the period ends (by the end of ${end}).`,
    ],
    weeksHeading: 'Orders per week',
    weekLabel: (n) => `Week ${n}`,
    thisWeek: (asOf) => `this week, up to ${asOf}`,
    weeksNote: (start, asOf) => `Weeks are 7-day blocks from the first day of the period (${start}); this week counts up to ${asOf}; weeks that have not started show “—”.`,
    closing: (mailbox) => [
      'If, when the period ends, the paid orders are below the threshold or the deposit is not paid in full, the platform revokes the industrial-belt certification. Questions: ',
      mailbox,
      '.',
    ],
    footerNote: 'This is a progress reminder, not an assessment result; the result is decided after the period ends.',
  },
};

/** The copy of each language, in the order the mails state them: Chinese first. */
export const COPY: Readonly<Record<Lang, MailCopy>> = { zh: ZH, en: EN };
