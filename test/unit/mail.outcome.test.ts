/** The outcome mail: what it must say for each outcome, and the inputs it refuses to render. */
import { describe, expect, it } from 'vitest';
import type { StoredDecision } from '#shared/model.ts';
import { withThreshold } from '#shared/rules/campaign.ts';
import { decide } from '#shared/rules/rules.ts';
import { parseInstant } from '#shared/rules/time.ts';
import { MailTemplateError, type MailSettings, renderOutcomeMail } from '#shared/mail/templates.ts';
import { bothParts as both, expectPhrases, outcomeMail } from '../support/mail.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';

const settings: MailSettings = { feedbackMailbox: 'feedback@example.cn', exitRefundProcedure: '《抖店服务市场服务商退出退保流程说明》（测试版）' };

function ms(iso: string): number {
  const v = parseInstant(iso);
  if (v === undefined) throw new Error(`bad instant in test: ${iso}`);
  return v;
}

/** A stored decision around what the real rules decide, so the mail is tested against their output shape. */
function stored(paidOrders: number, depositBalanceFen: number, more: Partial<StoredDecision> = {}): StoredDecision {
  const early = ms('2023-06-01T00:00:00+08:00');
  const d = decide(RENEWAL_2024, { certifiedAtMs: early, regularizedAtMs: early, paidOrders, depositBalanceFen });
  return {
    ...d,
    campaignId: 'renewal-2024',
    providerId: 'prov-9',
    providerName: '测试服务商',
    email: 't@example.cn',
    revision: 1,
    final: true,
    decidedAt: '2024-02-29T16:30:00Z',
    decidedBy: { kind: 'schedule', id: 'final' },
    asOf: '2024-02-29T16:30:00Z',
    ...more,
  };
}

// Settings of its own, unlike the campaign's, so that what the mail says of them can only come from them.
const render = (decision: StoredDecision, s: MailSettings = settings) => outcomeMail(decision, s);

describe('retained', () => {
  const m = render(stored(10_000, 10_000_000));

  it('states the result in both languages in the subject', () => {
    expect(m.subject).toBe('【产业带服务商续牌结果】已保留认证 / Renewal result: certification retained — 测试服务商');
  });

  it('states the figures against the requirements and that the regular rules apply from now on', () => {
    expectPhrases(m, ['10,000 单', '不低于 10,000 单', '¥100,000.00', '《抖音电商产业带服务商常规考核规则》', 'Regular Assessment Rules']);
    for (const part of both(m)) expect(part).not.toContain('摘牌');
  });

  it('ends with a footer naming the rules version and the decision date in China time', () => {
    // 2024-02-29T16:30Z is 2024-03-01 00:30 in China.
    expect(m.text).toMatch(/规则版本 Rules version: renewal-2024\/1\n决定日期 Decision date: 2024-03-01 /);
    // The HTML part's last cell is its footer: the same two lines there, after everything else.
    const footer = m.html.slice(m.html.lastIndexOf('<td'));
    const text = footer.replace(/<[^>]+>/g, '');
    expect(text).toMatch(/规则版本 Rules version: renewal-2024\/1\s+决定日期 Decision date: 2024-03-01 /);
  });
});

describe('revoked', () => {
  const m = render(stored(8_000, 6_000_000));

  it('states each failing figure against its requirement, with what is missing', () => {
    expectPhrases(m, [
      '绑定店铺支付订单量 8,000 单，考核线 10,000 单，差 2,000 单',
      '保证金余额 ¥60,000.00，须缴足 ¥100,000.00，尚差 ¥40,000.00',
      '8,000 paid orders against a threshold of 10,000, 2,000 short',
      '¥60,000.00 against the required ¥100,000.00, ¥40,000.00 missing',
    ]);
  });

  it('states the delisting, the bar on presenting as an industrial-belt provider, re-application, refund and feedback', () => {
    expectPhrases(m, [
      '平台将于 2024-03-01 在抖店服务市场进行摘牌公示',
      '不得以“抖音电商产业带服务商”身份对外开展业务，仅作为抖店服务市场服务商',
      '原则上自公示之日起 90 天内不接受',
      '最早可于 2024-05-30 起再次申请',
      '特别说明',
      '《抖店服务市场服务商退出退保流程说明》（测试版）',
      'feedback@example.cn',
      'in principle',
      'you may re-apply from 2024-05-30',
      'must state explicitly',
      'on 2024-03-01 the platform publishes a delisting notice',
    ]);
    expect(m.subject).toBe('【产业带服务商续牌结果】已取消认证 / Renewal result: certification revoked — 测试服务商');
  });

  it('lists only the failing reason when one passes', () => {
    const orders = render(stored(500, 10_000_000));
    expect(orders.text).toContain('支付订单量未达考核线');
    expect(orders.text).not.toContain('保证金未缴足');
    const deposit = render(stored(10_500, 9_999_999));
    expect(deposit.text).toContain('尚差 ¥0.01');
    expect(deposit.text).not.toContain('支付订单量未达考核线');
  });

  it('takes every figure from the decision, not from the campaign', () => {
    const later = withThreshold(RENEWAL_2024, 77_777);
    const d = stored(8_000, 6_000_000, { noticeDate: '2024-03-05', reapplyFrom: '2024-06-03' });
    const m2 = renderOutcomeMail({ decision: d, campaign: { ...later, noticeDate: '2099-01-01' }, settings });
    expect(m2.text).toContain('考核线 10,000 单');
    expect(m2.text).not.toContain('77,777');
    expect(m2.text).toContain('平台将于 2024-03-05');
    expect(m2.text).toContain('最早可于 2024-06-03 起');
    expect(m2.text).not.toContain('2099');
  });

  it('links an https exit procedure', () => {
    const linked = render(stored(8_000, 6_000_000), { ...settings, exitRefundProcedure: 'https://example.com/exit' });
    expect(linked.html).toContain('<a href="https://example.com/exit"');
    expect(linked.text).toContain('<https://example.com/exit>');
  });
});

describe('correction (revision > 1)', () => {
  const changes = [
    { field: 'depositBalanceFen', from: 5_000_000, to: 6_000_000 },
    { field: 'reasons', from: ['orders_below_threshold', 'deposit_not_paid_in_full'], to: ['deposit_not_paid_in_full'] },
    { field: 'custom<field>', from: { a: 1 }, to: null },
  ];
  const m = render(stored(10_000, 6_000_000, { revision: 3, changes }));

  it('marks the subject as a correction', () => {
    expect(m.subject.startsWith('【更正 Correction】【产业带服务商续牌结果】已取消认证 / Renewal result: certification revoked')).toBe(true);
  });

  it('says which revision it replaces and lists the changes, money formatted, reasons named', () => {
    expectPhrases(m, [
      '取代此前发送的第 2 版通知',
      'replaces the earlier notice of revision 2',
      '¥50,000.00 → ¥60,000.00',
      '支付订单量未达考核线、保证金未缴足 → 保证金未缴足',
      'paid orders below the threshold, deposit not paid in full → deposit not paid in full',
    ]);
    expect(m.text).toContain('custom<field>：{"a":1} → （无）');
    expect(m.html).toContain('custom&lt;field&gt;');
  });

  it('says so when a correction turns a revocation into a retention', () => {
    const back = render(stored(10_000, 10_000_000, { revision: 2, changes: [{ field: 'outcome', from: 'revoked', to: 'retained' }] }));
    expect(back.text).toContain('取消认证 → 保留认证');
    expect(back.text).toContain('此前通知中的取消认证决定（含摘牌公示）已撤销');
    expect(back.text).toContain('is withdrawn');
  });

  it('still renders when the changes were not recorded, and says so', () => {
    const bare = render(stored(10_000, 10_000_000, { revision: 2 }));
    expect(bare.text).toContain('未记录具体变更字段');
  });

  it('revision 1 is no correction', () => {
    const first = render(stored(10_000, 10_000_000));
    expect(first.subject).not.toContain('更正');
    expect(first.text).not.toContain('更正通知');
  });
});

describe('inputs that must not produce an outcome mail', () => {
  const ok = stored(8_000, 6_000_000);
  it.each<[string, StoredDecision, RegExp]>([
    ['not assessed (RULES.md: no outcome email)', { ...ok, outcome: 'not_assessed', reasons: ['not_regularized'] }, /not_assessed/],
    ['a preview (final: false)', { ...ok, final: false }, /preview/],
    ['another campaign', { ...ok, campaignId: 'renewal-2025' }, /campaign/],
    ['missing evidence', { ...ok, paidOrders: undefined }, /paidOrders/],
    ['fractional fen', { ...ok, depositBalanceFen: 6_000_000.5 }, /depositBalanceFen/],
    ['reasons that contradict the figures', { ...ok, reasons: ['deposit_not_paid_in_full'] }, /reasons/],
    ['an outcome that contradicts the figures', { ...stored(10_000, 10_000_000), outcome: 'revoked', reasons: [] }, /figures|reasons/],
    ['a revoked decision without its notice date', { ...ok, noticeDate: undefined }, /noticeDate/],
    ['a re-application date before the notice', { ...ok, reapplyFrom: '2024-02-01' }, /reapplyFrom/],
    ['a decision time without offset', { ...ok, decidedAt: '2024-03-01T00:00:00' }, /decidedAt/],
    ['revision 0', { ...ok, revision: 0 }, /revision/],
  ])('refuses %s', (_, decision, message) => {
    expect(() => render(decision)).toThrow(MailTemplateError);
    expect(() => render(decision)).toThrow(message);
  });

  it.each<[string, MailSettings]>([
    ['an empty feedback mailbox', { ...settings, feedbackMailbox: '' }],
    ['a feedback mailbox with a second header', { ...settings, feedbackMailbox: 'a@b.cn\r\nBcc: c@d.cn' }],
    ['a blank exit procedure', { ...settings, exitRefundProcedure: ' \n ' }],
  ])('refuses settings with %s', (_, s) => {
    expect(() => render(ok, s)).toThrow(/settings\./);
  });
});
