/** The progress mail: the figures it states (days left, pace, deposit), the pictures drawn from them, the snapshots it refuses. */
import { describe, expect, it } from 'vitest';
import type { ProgressSnapshot } from '#shared/mail/templates.ts';
import { expectPhrases, progressMail as render, progressSnapshot } from '../support/mail.ts';

const base = progressSnapshot({ providerId: 'prov-1', providerName: '测试服务商', email: 'a@example.cn', asOfDate: '2024-01-15', paidOrders: 6_000, ordersByDay: {}, depositBalanceFen: 6_000_000 });
const at = (asOfDate: string, more: Partial<ProgressSnapshot> = {}): ProgressSnapshot => ({ ...base, asOfDate, ...more });

describe('renderProgressMail', () => {
  it.each([
    ['2023-12-01', 1],
    ['2023-12-07', 1],
    ['2023-12-08', 2],
    ['2024-01-15', 7],
    ['2024-02-29', 13],
    ['2024-03-10', 13],
  ])('as of %s the subject names week %d', (asOf, week) => {
    expect(render(at(asOf)).subject).toBe(`【续牌进度】第${week}周 / Renewal progress, week ${week} — 测试服务商`);
  });

  it('states the figures in both languages, the days left as inclusive', () => {
    const m = render(at('2024-01-15', { paidOrders: 6_000 }));
    expectPhrases(m, ['6,000 / 10,000 单', '6,000 of 10,000', '剩余 ', '46 天', '（含 2024-01-15 当天，至 2024-02-29 止）', 'counting 2024-01-15 itself, through 2024-02-29']);
    expectPhrases(m, ['87 单', '¥40,000.00']); // 87 = ceil(4,000 / 46)
  });

  it('draws the total as a bar: table cells with widths in HTML, block characters in text', () => {
    const m = render(at('2024-01-15', { paidOrders: 6_000 }));
    expect(m.text).toContain('[████████████░░░░░░░░] 60%');
    expect(m.html).toContain('<td width="60%" style="width:60%;height:18px;background-color:#2563eb;');
    expect(m.html).toContain('<td width="40%" style="width:40%;height:18px;background-color:#e5e7eb;');
  });

  it('charts 13 weeks of orders, counting only days of the season, and marks the weeks ahead', () => {
    const ordersByDay = { '2023-11-30': 999, '2023-12-01': 10, '2023-12-07': 5, '2023-12-08': 30, '2024-01-15': 7, '2024-03-01': 999 };
    const m = render(at('2024-01-15', { paidOrders: 52, ordersByDay }));
    const weekLines = m.text.split('\n').filter((l) => /^Week +\d+ /.test(l));
    expect(weekLines).toHaveLength(13);
    expect(weekLines[0]).toMatch(/^Week  1  2023-12-01 ~ 2023-12-07  \[█████░░░░░\] 15$/);
    expect(weekLines[1]).toMatch(/^Week  2  2023-12-08 ~ 2023-12-14  \[██████████\] 30$/);
    expect(weekLines[2]).toMatch(/\[░{10}\] 0$/);
    expect(weekLines[6]).toMatch(/^Week  7  2024-01-12 ~ 2024-01-18  \[██░░░░░░░░\] 7  ← this week, up to 2024-01-15$/);
    expect(weekLines[7]).toMatch(/ —$/);
    expect(weekLines[12]).toMatch(/^Week 13  2024-02-23 ~ 2024-02-29 +—$/);
    expect(m.text.split('\n').filter((l) => /^第 *\d+ 周 /.test(l))).toHaveLength(13);
    // 13 rows in each language's chart, each with a bar cell or a dashed placeholder.
    expect(m.html.match(/<td width="100%" style="padding:3px 0;">/g)).toHaveLength(26);
  });

  it('says when the threshold is reached or the season is over instead of a pace', () => {
    expect(render(at('2024-01-15', { paidOrders: 10_000 })).text).toContain('已达到考核线');
    const over = render(at('2024-03-02', { paidOrders: 9_000 }));
    expect(over.text).toContain('考核周期已结束');
    expect(over.text).toContain('The assessment period has ended');
    expect(over.text).not.toContain('平均每天还需');
  });

  it('says the deposit is paid in full when it is', () => {
    const m = render(at('2024-01-15', { depositBalanceFen: 10_000_000 }));
    expect(m.text).toContain('已缴足');
    expect(m.text).not.toContain('尚差');
  });

  it.each([
    ['an invalid date', { asOfDate: '2024-02-30' }],
    ['a threshold of 0', { thresholdOrders: 0 }],
    ['fractional orders', { paidOrders: 1.5 }],
    ['fractional fen', { depositBalanceFen: 0.5 }],
    ['a bad day key', { ordersByDay: { '2024-13-01': 3 } }],
    ['negative orders on a day', { ordersByDay: { '2024-01-01': -3 } }],
    ['a season that ends before it starts', { periodEndDate: '2023-11-01' }],
  ])('rejects a snapshot with %s', (_, more) => {
    expect(() => render({ ...base, ...more })).toThrow(/snapshot\./);
  });
});
