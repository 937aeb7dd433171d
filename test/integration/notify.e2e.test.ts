import { beforeAll, describe, expect, it } from 'vitest';
import { buildReport, mailStatusLookup } from '#shared/usecases/report.ts';
import { CAMPAIGN, FEEDBACK, FULL_DEPOSIT_FEN, MAIL, countByRecipient, december, notifyStack, type ProviderSpec, type Season, type StoredMail } from '../support/notify-fixture.ts';

/**
 * The provider mail end to end (RULES.md 2.2.3, 3; OPS.md `notify`, `report`): a season through the
 * intake handler, the final evaluation through its handler, notify through its handler with the real
 * SesMailer, and the mail read back from aws-ses-v2-local.
 */

const stack = await notifyStack();

/**
 * RET retained; ORD revoked for orders (1 < 3); DEP revoked for the deposit (half paid); PRB on
 * probation and OUT certified after 2023-12-01: not assessed, so no outcome mail.
 */
const SEASON: ProviderSpec[] = [
  { key: 'RET', orders: december(5), depositFen: FULL_DEPOSIT_FEN },
  { key: 'ORD', orders: december(1), depositFen: FULL_DEPOSIT_FEN },
  { key: 'DEP', orders: december(4), depositFen: FULL_DEPOSIT_FEN / 2 },
  { key: 'PRB', orders: december(5), depositFen: FULL_DEPOSIT_FEN, regularized: false },
  { key: 'OUT', orders: december(5), depositFen: FULL_DEPOSIT_FEN, inScope: false },
];

/** Where in `s` the Chinese and the English part begin; both must be there. */
function languageOrder(s: string) {
  const zh = s.indexOf('尊敬的');
  const en = s.indexOf('Dear ');
  expect(zh, 'Chinese salutation').toBeGreaterThanOrEqual(0);
  expect(en, 'English salutation').toBeGreaterThanOrEqual(0);
  return { zh, en };
}

function only(mails: StoredMail[]): StoredMail {
  expect(mails).toHaveLength(1);
  return mails[0]!;
}

describe('outcome mail after the final evaluation', () => {
  // One season and its first notify run; the tests below read what it sent (the last one runs again).
  let s: Season;
  let first: Awaited<ReturnType<Season['notify']>>;
  let sent: StoredMail[];
  const mailOf = (key: string) => sent.filter((m) => m.destination.to.includes(s.email(key)));
  beforeAll(async () => {
    s = await stack.season(SEASON);
    first = await s.notify({ kind: 'outcome' });
    sent = await s.mail();
  });

  it('sends exactly one mail per assessed provider and none to the not assessed', () => {
    expect(s.evaluation.counts).toEqual({ retained: 1, revoked: 2, not_assessed: 2 });
    expect(first).toMatchObject({ campaignId: CAMPAIGN, kind: 'outcome', due: 3, sent: 3, alreadySent: 0, inFlight: 0, failed: [] });
    expect(countByRecipient(sent)).toEqual({ [s.email('RET')]: 1, [s.email('ORD')]: 1, [s.email('DEP')]: 1 });
    expect(mailOf('PRB')).toEqual([]);
    expect(mailOf('OUT')).toEqual([]);
  });

  it('each mail: its provider alone as recipient, the configured sender and reply-to, the result in the subject, text and html, Chinese first', () => {
    const expected = { RET: 'retained', ORD: 'revoked', DEP: 'revoked' } as const;
    for (const [key, outcome] of Object.entries(expected)) {
      const m = only(mailOf(key));
      expect(m.destination).toEqual({ to: [s.email(key)], cc: [], bcc: [] });
      expect(m.from).toBe(MAIL.from);
      expect(m.replyTo).toEqual([MAIL.replyTo]);
      // The notice id travels with the mail (the SES tag, and this header the embedded SES keeps).
      expect(m.headers).toEqual([{ name: 'X-Renewal-Notice', value: `${CAMPAIGN}@outcome@1@${s.id(key)}` }]);
      if (outcome === 'retained') {
        expect(m.subject).toContain('已保留认证');
        expect(m.subject).toContain('certification retained');
        expect(m.subject).not.toMatch(/已取消|revoked/);
      } else {
        expect(m.subject).toContain('已取消认证');
        expect(m.subject).toContain('certification revoked');
        expect(m.subject).not.toMatch(/已保留|retained/);
      }
      expect(m.subject).toContain(`服务商 ${key}`);
      expect(m.subject).not.toMatch(/更正|Correction/);
      const text = m.body.text ?? '';
      const html = m.body.html ?? '';
      expect(text.length).toBeGreaterThan(200);
      expect(html).toMatch(/<html/i);
      for (const part of [text, html]) {
        const { zh, en } = languageOrder(part);
        expect(zh, `Chinese before English in the ${part === text ? 'text' : 'html'} part of ${key}`).toBeLessThan(en);
        expect(part).toContain(s.id(key));
      }
    }
  });

  it('a revoked mail states the failing figures, the notice date 2024-03-01, the re-apply date 2024-05-30 and the feedback mailbox; the retained one does not', () => {
    const ord = only(mailOf('ORD'));
    const dep = only(mailOf('DEP'));
    const ret = only(mailOf('RET'));
    for (const m of [ord, dep]) {
      for (const part of [m.body.text ?? '', m.body.html ?? '']) {
        expect(part).toContain('2024-03-01');
        expect(part).toContain('2024-05-30');
        expect(part).toContain(FEEDBACK);
      }
      expect(m.body.html).toContain(`mailto:${FEEDBACK}`);
      // The notice date is stated in both languages, Chinese first.
      const text = m.body.text!;
      expect(text.indexOf('平台将于 2024-03-01')).toBeGreaterThanOrEqual(0);
      expect(text.indexOf('平台将于 2024-03-01')).toBeLessThan(text.indexOf('on 2024-03-01'));
      expect(text).toContain('最早可于 2024-05-30 起再次申请');
      expect(text).toContain('you may re-apply from 2024-05-30');
    }
    expect(ord.body.text).toContain('绑定店铺支付订单量 1 单，考核线 3 单，差 2 单');
    expect(ord.body.text).not.toContain('保证金未缴足');
    expect(dep.body.text).toContain('保证金未缴足');
    expect(dep.body.text).toContain('¥50,000.00');
    expect(dep.body.text).not.toContain('支付订单量未达考核线');
    expect(ret.body.text).not.toContain('2024-05-30');
    expect(ret.body.text).not.toContain('摘牌公示');
    expect(ret.body.text).toContain(FEEDBACK);
  });

  it('a second run sends nothing; the outbox and the report say sent, with the message SES gave', async () => {
    const before = sent.map((m) => m.messageId).sort();
    const second = await s.notify({ kind: 'outcome' });
    expect(second).toMatchObject({ due: 3, sent: 0, alreadySent: 3, inFlight: 0, failed: [] });
    expect((await s.mail()).map((m) => m.messageId).sort()).toEqual(before);

    const entries = await s.deps.outbox.entries(CAMPAIGN, 'outcome');
    expect(entries.map((e) => [e.providerId, e.status, e.seq]).sort()).toEqual([
      [s.id('DEP'), 'sent', 1],
      [s.id('ORD'), 'sent', 1],
      [s.id('RET'), 'sent', 1],
    ]);
    expect(entries.map((e) => e.messageId).sort()).toEqual(before);

    const report = await buildReport(s.deps.decisions, CAMPAIGN, mailStatusLookup(s.deps));
    expect(report.final).toBe(true);
    const mail = Object.fromEntries(report.assessments.map((a) => [a.providerId, a.mail]));
    for (const key of ['RET', 'ORD', 'DEP']) {
      expect(mail[s.id(key)]?.status, key).toBe('sent');
      expect(mail[s.id(key)]?.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      // The message id SES gave for this provider's mail, read back from the embedded SES's own store.
      expect(mail[s.id(key)]?.messageId).toBe(sent.find((m) => m.destination.to.includes(s.email(key)))!.messageId);
    }
    expect(mail[s.id('PRB')]).toBeUndefined();
    expect(mail[s.id('OUT')]).toBeUndefined();
  });
});

describe('a correction', () => {
  it('late orders, re-evaluation, new revision: exactly one new mail, marked 【更正 Correction】, to that provider only', async () => {
    const s = await stack.season(SEASON);
    expect((await s.notify({ kind: 'outcome' })).sent).toBe(3);
    const firstOrd = only(await s.mailOf('ORD'));

    // Two orders of ORD's store paid in the period arrive late: 3 orders, the threshold is met.
    await s.ingest(s.ordersOf('ORD', ['2024-02-20T10:00:00+08:00', '2024-02-21T10:00:00+08:00'], 'late'));
    const again = await s.evaluate();
    expect(again.revisionsCreated).toBe(1);
    const ordNow = again.assessments.find((a) => a.providerId === s.id('ORD'))!;
    expect(ordNow).toMatchObject({ outcome: 'retained', revision: 2, paidOrders: 3 });

    const r = await s.notify({ kind: 'outcome' });
    expect(r).toMatchObject({ due: 3, sent: 1, alreadySent: 2, inFlight: 0, failed: [] });
    const all = await s.mail();
    expect(countByRecipient(all)).toEqual({ [s.email('RET')]: 1, [s.email('ORD')]: 2, [s.email('DEP')]: 1 });
    const ordMails = s.of(all, 'ORD');
    const correction = ordMails.find((m) => m.messageId !== firstOrd.messageId)!;
    expect(correction.subject.startsWith('【更正 Correction】')).toBe(true);
    expect(correction.subject).toContain('已保留认证');
    expect(correction.body.text).toContain('第 1 版');
    expect(correction.body.text).toContain('revision 1');
    // Revoked → retained: the mail must say the revocation is withdrawn.
    expect(correction.body.text).toContain('已撤销');
    expect(correction.body.text).toContain('withdrawn');
    expect(firstOrd.subject).not.toContain('更正');

    // The report follows the latest revision's notice.
    const report = await buildReport(s.deps.decisions, CAMPAIGN, mailStatusLookup(s.deps));
    const ordRow = report.assessments.find((a) => a.providerId === s.id('ORD'))!;
    expect(ordRow).toMatchObject({ outcome: 'retained', revision: 2, mail: { status: 'sent' } });

    expect(await s.notify({ kind: 'outcome' })).toMatchObject({ due: 3, sent: 0, alreadySent: 3 });
    expect(await s.mailOf('ORD')).toHaveLength(2);
  });
});

describe('progress mail during the season', () => {
  // As of 2024-01-15 (week 7): RET 3 orders so far (2 more on 01-20), ORD 1, DEP 2 (2 more on 01-16).
  const PROGRESS_SEASON: ProviderSpec[] = [
    { key: 'RET', orders: [...december(3), '2024-01-20T10:00:00+08:00', '2024-01-20T11:00:00+08:00'], depositFen: FULL_DEPOSIT_FEN },
    { key: 'ORD', orders: december(1), depositFen: FULL_DEPOSIT_FEN },
    { key: 'DEP', orders: [...december(2), '2024-01-16T10:00:00+08:00', '2024-01-16T11:00:00+08:00'], depositFen: FULL_DEPOSIT_FEN / 2 },
    { key: 'PRB', orders: december(5), depositFen: FULL_DEPOSIT_FEN, regularized: false },
    { key: 'OUT', orders: december(5), depositFen: FULL_DEPOSIT_FEN, inScope: false },
  ];
  const CONFIG = { ...MAIL, thresholdOrders: 3 };

  it('one per assessed provider with its figures; the same week again sends nothing; another week sends new ones; after the close none, with a note', async () => {
    const s = await stack.season(PROGRESS_SEASON);
    const week7 = await s.notify({ kind: 'progress', asOf: '2024-01-15T10:00:00+08:00' }, {}, CONFIG);
    expect(week7).toMatchObject({ kind: 'progress', due: 3, sent: 3, alreadySent: 0, inFlight: 0, failed: [] });
    expect(week7.note).toBeUndefined();
    const week7Mail = await s.mail();
    expect(countByRecipient(week7Mail)).toEqual({ [s.email('RET')]: 1, [s.email('ORD')]: 1, [s.email('DEP')]: 1 });

    const soFar = { RET: 3, ORD: 1, DEP: 2 } as const;
    for (const [key, orders] of Object.entries(soFar)) {
      const m = only(s.of(week7Mail, key));
      expect(m.subject).toContain('第7周');
      expect(m.subject).toContain('week 7');
      expect(m.destination.to).toEqual([s.email(key)]);
      const text = m.body.text!;
      expect(text, key).toContain(`已完成 ${orders} / 3 单`);
      expect(text, key).toContain(`${orders} of 3 orders`);
      expect(text).toContain('剩余 46 天');
      expect(text).toContain('Days left: 46');
      expect(text).toContain('数据截至 2024-01-15');
      expect(m.body.html).toContain(`${orders} / 3 单`);
      const { zh, en } = languageOrder(text);
      expect(zh).toBeLessThan(en);
    }
    expect(only(s.of(week7Mail, 'ORD')).body.text).toContain('距考核线还差 2 单');
    expect(only(s.of(week7Mail, 'DEP')).body.text).toContain('尚差 ¥50,000.00');

    // Another day of the same week: nothing new.
    const sameWeek = await s.notify({ kind: 'progress', asOf: '2024-01-17T09:00:00+08:00' }, {}, CONFIG);
    expect(sameWeek).toMatchObject({ due: 3, sent: 0, alreadySent: 3, failed: [] });
    expect(await s.mail()).toHaveLength(3);

    // The next week: one new mail each, with the orders up to then.
    const week8 = await s.notify({ kind: 'progress', asOf: '2024-01-22T10:00:00+08:00' }, {}, CONFIG);
    expect(week8).toMatchObject({ due: 3, sent: 3, alreadySent: 0, failed: [] });
    const week8Mail = await s.mail();
    expect(countByRecipient(week8Mail)).toEqual({ [s.email('RET')]: 2, [s.email('ORD')]: 2, [s.email('DEP')]: 2 });
    const later = { RET: 5, ORD: 1, DEP: 4 } as const;
    for (const [key, orders] of Object.entries(later)) {
      const m = s.of(week8Mail, key).find((x) => x.subject.includes('week 8'));
      expect(m, `week 8 mail of ${key}`).toBeDefined();
      expect(m!.body.text).toContain(`已完成 ${orders} / 3 单`);
      expect(m!.body.text).toContain('Days left: 39');
    }

    // After the close: nothing is due, and the run says why.
    const after = await s.notify({ kind: 'progress', asOf: '2024-03-05T10:00:00+08:00' }, {}, CONFIG);
    expect(after).toMatchObject({ due: 0, sent: 0, alreadySent: 0, failed: [] });
    expect(after.note).toMatch(/season/);
    const all = await s.mail();
    expect(all).toHaveLength(6);
    expect(s.of(all, 'PRB')).toEqual([]);
    expect(s.of(all, 'OUT')).toEqual([]);
  });
});
