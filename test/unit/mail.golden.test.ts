/**
 * Golden tests of the provider mails: fixed inputs, the whole rendered mail (subject + text, html) compared
 * byte for byte with files under __golden__/mail/. A missing golden file fails; `UPDATE_GOLDEN=1` (re)writes
 * them, after which a person must read every changed file before it is kept.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { StoredDecision } from '#shared/model.ts';
import { addDays, datesInRange } from '#shared/rules/time.ts';
import type { ProgressSnapshot, RenderedMail } from '#shared/mail/templates.ts';
import { renderOutcomeMail } from '#shared/mail/templates.ts';
import { campaignOf } from '../support/campaigns.ts';
import { outcomeMail as outcome, progressMail, progressSnapshot, SETTINGS as settings } from '../support/mail.ts';

const GOLDEN_DIR = fileURLToPath(new URL('./__golden__/mail/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function golden(file: string, actual: string): void {
  const path = GOLDEN_DIR + file;
  if (UPDATE) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual, 'utf8');
  }
  if (!existsSync(path)) {
    expect.fail(`golden file __golden__/mail/${file} is missing: run with UPDATE_GOLDEN=1 to write it, then read it`);
  }
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

function goldenMail(name: string, mail: RenderedMail): void {
  golden(`${name}.txt`, `Subject: ${mail.subject}\n\n${mail.text}`);
  golden(`${name}.html`, mail.html);
}

const base: StoredDecision = {
  campaignId: 'renewal-2024',
  providerId: 'prov-0001',
  providerName: '湖州织里童装产业带服务有限公司',
  email: 'ops@zhili-kids.example.cn',
  revision: 1,
  final: true,
  decidedAt: '2024-02-29T16:05:00.000Z',
  decidedBy: { kind: 'schedule', id: 'renewal-2024-final' },
  asOf: '2024-02-29T16:05:00.000Z',
  outcome: 'retained',
  reasons: [],
  clauses: ['1', '2.1', '2.2.1', '2.2.2', '2.2.3'],
  paidOrders: 12_345,
  thresholdOrders: 10_000,
  depositBalanceFen: 10_000_000,
  depositRequiredFen: 10_000_000,
  rulesVersion: 'renewal-2024/1',
};

const REVOKED_CLAUSES: StoredDecision['clauses'] = ['1', '2.1', '2.2.1', '2.2.2', '2.2.3', '3'];

const FIXTURES = {
  retained: base,
  revokedBoth: {
    ...base,
    providerId: 'prov-0002',
    providerName: '义乌小商品供应链服务中心',
    email: 'bd@yiwu-supply.example.cn',
    outcome: 'revoked',
    reasons: ['orders_below_threshold', 'deposit_not_paid_in_full'],
    clauses: REVOKED_CLAUSES,
    paidOrders: 8_000,
    depositBalanceFen: 6_000_000,
    noticeDate: '2024-03-01',
    reapplyFrom: '2024-05-30',
  },
  revokedDeposit: {
    ...base,
    providerId: 'prov-0003',
    providerName: 'Shenzhen Bay Electronics Partners 深圳湾电子',
    email: 'partner@szbay.example.com',
    outcome: 'revoked',
    reasons: ['deposit_not_paid_in_full'],
    clauses: REVOKED_CLAUSES,
    paidOrders: 15_200,
    depositBalanceFen: 9_999_999,
    noticeDate: '2024-03-01',
    reapplyFrom: '2024-05-30',
  },
  // Late orders arrived after the first final run: revision 1 revoked, revision 2 retains.
  corrected: {
    ...base,
    providerId: 'prov-0004',
    providerName: '临沂商城物流服务商',
    email: 'service@linyi-logistics.example.cn',
    revision: 2,
    decidedAt: '2024-03-04T02:30:00.000Z',
    decidedBy: { kind: 'person', id: 'ops.wang' },
    asOf: '2024-03-04T02:30:00.000Z',
    paidOrders: 10_012,
    changes: [
      { field: 'outcome', from: 'revoked', to: 'retained' },
      { field: 'reasons', from: ['orders_below_threshold'], to: [] },
      { field: 'paidOrders', from: 9_876, to: 10_012 },
      { field: 'clauses', from: REVOKED_CLAUSES, to: ['1', '2.1', '2.2.1', '2.2.2', '2.2.3'] },
      { field: 'noticeDate', from: '2024-03-01', to: undefined },
      { field: 'reapplyFrom', from: '2024-05-30', to: undefined },
    ],
  },
} satisfies Record<string, StoredDecision>;

/** Deterministic daily orders from the season start through `asOf`, with a few days without orders. */
function ordersByDay(asOf: string): Record<string, number> {
  const out: Record<string, number> = {};
  datesInRange('2023-12-01', addDays(asOf, 1)).forEach((day, i) => {
    const n = i % 11 === 5 ? 0 : 70 + ((i * 37) % 61) + (i % 7 === 1 || i % 7 === 2 ? 45 : 0);
    if (n > 0) out[day] = n;
  });
  return out;
}

function snapshot(asOfDate: string): ProgressSnapshot {
  const byDay = ordersByDay(asOfDate);
  return progressSnapshot({
    providerId: 'prov-0002',
    providerName: '义乌小商品供应链服务中心',
    email: 'bd@yiwu-supply.example.cn',
    asOfDate,
    paidOrders: Object.values(byDay).reduce((a, b) => a + b, 0),
    ordersByDay: byDay,
    depositBalanceFen: 6_000_000,
  });
}

describe('golden mails', () => {
  it('retained', () => goldenMail('retained', outcome(FIXTURES.retained)));
  it('revoked, both reasons', () => goldenMail('revoked-both', outcome(FIXTURES.revokedBoth)));
  it('revoked, deposit only (exit procedure given as a URL)', () =>
    goldenMail('revoked-deposit', outcome(FIXTURES.revokedDeposit, { ...settings, exitRefundProcedure: 'https://example.com/exit-refund' })));
  it('corrected, revision 2', () => goldenMail('corrected-rev2', outcome(FIXTURES.corrected)));
  it('progress, week 7', () => goldenMail('progress-week7', progressMail(snapshot('2024-01-15'))));
});

/** The season of campaigns/renewal-2027.json: its dates, year, titles and deposit come from its file alone. */
const RENEWAL_2027 = campaignOf('renewal-2027');
const of2027 = (d: StoredDecision): StoredDecision => ({
  ...d,
  campaignId: 'renewal-2027',
  decidedAt: '2027-02-28T16:05:00.000Z',
  decidedBy: { kind: 'schedule', id: 'eventbridge-scheduler' },
  asOf: '2027-02-28T16:05:00.000Z',
  depositRequiredFen: 20_000_000,
  rulesVersion: 'renewal-2027/1',
});

describe('golden mails of another season (renewal-2027)', () => {
  it("retained: the regular assessment is that of 2027, the notice date's year", () => {
    const mail = renderOutcomeMail({ decision: of2027({ ...FIXTURES.retained, depositBalanceFen: 20_000_000 }), campaign: RENEWAL_2027, settings });
    expect(mail.text).toContain('进行2027年的常规考核');
    expect(mail.text).toContain('assesses you during 2027 under');
    expect(mail.text).not.toMatch(/2024|2023/);
    goldenMail('retained-2027', mail);
  });
  it('revoked, both reasons: the 2027 dates, the CNY 200,000 deposit', () => {
    const mail = renderOutcomeMail({
      decision: of2027({ ...FIXTURES.revokedBoth, depositBalanceFen: 12_000_000, noticeDate: '2027-03-01', reapplyFrom: '2027-05-30' }),
      campaign: RENEWAL_2027,
      settings,
    });
    expect(mail.text).toContain('2027-05-30');
    expect(mail.text).not.toMatch(/2024|2023/);
    goldenMail('revoked-both-2027', mail);
  });
});

describe('every golden mail', () => {
  const mails: [string, RenderedMail][] = [...Object.entries(FIXTURES).map(([k, d]): [string, RenderedMail] => [k, outcome(d)]), ['progress', progressMail(snapshot('2024-01-15'))]];

  it.each(mails)('%s: is a complete, self-contained HTML document', (_, m) => {
    expect(m.html.startsWith('<!DOCTYPE html>\n<html lang="zh-CN">')).toBe(true);
    expect(m.html).toContain('<meta charset="utf-8">');
    expect(m.html).toContain('lang="en"');
    expect(m.html.trimEnd().endsWith('</html>')).toBe(true);
    // Inline styles only, nothing to load or run.
    for (const banned of ['<style', '<script', '<img', '<link', 'class=', 'url(', 'http://']) expect(m.html).not.toContain(banned);
  });

  it.each(mails)('%s: Chinese comes first, then English, in both parts', (_, m) => {
    for (const part of [m.html, m.text]) {
      const zh = part.indexOf('尊敬的');
      const en = part.indexOf('Dear ');
      expect(zh).toBeGreaterThan(-1);
      expect(en).toBeGreaterThan(zh);
    }
    expect(m.subject).toMatch(/^(【更正 Correction】)?【[^】]+】.+ \/ [A-Z].+ — .+$/);
  });

  it.each(mails)('%s: dates are YYYY-MM-DD, money is formatted fen', (_, m) => {
    expect(m.text).not.toMatch(/\d{4}\/\d{1,2}\/\d{1,2}|\d{4}年\d{1,2}月/);
    expect(m.text).not.toMatch(/T\d{2}:\d{2}/); // no raw instants
    for (const money of m.text.match(/¥[\d,]*\d(?:\.\d+)?/g) ?? []) expect(money).toMatch(/^¥\d{1,3}(,\d{3})*\.\d{2}$/);
  });
});
