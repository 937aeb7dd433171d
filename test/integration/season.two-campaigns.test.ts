/**
 * Two campaigns on one stack (RULES.md "Seasons after the first"): renewal-2024 and a second season,
 * renewal-2027 (2026-12-01..2027-02-28, deposit CNY 200,000, test/support/campaigns.ts), over the same
 * providers, stores and deposits, through the real intake, aggregation, evaluation and notify over
 * dynalite. Threshold 2 in both. Expectations are literals worked out by hand from RULES.md:
 *
 * | provider | 2024                                   | between the seasons                   | 2027                                                   |
 * |----------|----------------------------------------|---------------------------------------|--------------------------------------------------------|
 * | PA       | 1 order → revoked (orders)             | nothing: never certified again        | 3 orders, 20M fen, but not_in_scope: no decision mail  |
 * | PB       | 0 orders → revoked (orders)            | certified again 2024-06-15 (after 05-30), regularized 2024-08-01 | 2 orders, 20M → retained          |
 * | PC       | 2 orders (one of January 2024) → retained | –                                  | 2 orders (the January 2024 one not), 10M < 20M → revoked (deposit) |
 * | PD       | 2 orders → retained                    | 3M deducted in 2025                   | 2 orders (+1 at the close, not counted), 10M − 3M + 13M = 20M → retained |
 */
import { describe, expect, it } from 'vitest';
import { makeReapply } from '#functions/handlers/reapply.ts';
import { stores } from '#shared/deps.ts';
import type { Mailer, OutgoingMail } from '#shared/mailer.ts';
import { withThreshold, type Campaign } from '#shared/rules/campaign.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';
import { IngestStore } from '#shared/store/ingest.ts';
import { evaluate } from '#shared/usecases/evaluate.ts';
import { notify, notifyPolicy, publishedEvents } from '#shared/usecases/notify.ts';
import { makeIntake } from '#functions/handlers/intake.ts';
import { feedRecords, toRecords } from '#cli/import.ts';
import { freshTables } from '../support/stack.ts';
import { AT, ev, scanTable, testStack, verdicts, withPk } from '../support/season-fixture.ts';
import { RENEWAL_2027, TWO_SEASONS } from '../support/campaigns.ts';

const T = 2;
const C2024 = withThreshold(RENEWAL_2024, T);
const C2027 = withThreshold(RENEWAL_2027, T);
const by = { kind: 'person' as const, id: 'two-campaigns-test' };

const FIRST_SEASON = [
  ...ev.providers(['PA', 'PB', 'PC', 'PD'], AT.certified, AT.regularized),
  ev.bind('PA', 'SA', AT.boundBefore),
  ev.bind('PB', 'SB', AT.boundBefore),
  ev.bind('PC', 'SC', AT.boundBefore),
  ev.bind('PD', 'SD', AT.boundBefore),
  ev.order('OA-24', 'SA', '2023-12-10T10:00:00+08:00'),
  ev.order('OC-24a', 'SC', '2023-12-10T10:00:00+08:00'),
  ev.order('OC-24b', 'SC', '2024-01-10T10:00:00+08:00'), // January 2024: counts for renewal-2024 only
  ev.order('OD-24a', 'SD', '2023-12-11T10:00:00+08:00'),
  ev.order('OD-24b', 'SD', '2024-02-11T10:00:00+08:00'),
  ...['PA', 'PB', 'PC', 'PD'].map((p) => ev.paid(`PAY-${p}-1`, p, 10_000_000, AT.depositPaid)),
];

const SECOND_SEASON = [
  // PB is certified again after its re-apply date (2024-05-30), and regularized before 2026-12-01.
  ev.provider('PB', '2024-06-15T09:00:00+08:00', '2024-08-01T00:00:00+08:00'),
  // PA's profile is sent again with a new name, its certification unchanged: still revoked.
  ev.provider('PA', AT.certified, AT.regularized, 'Provider PA (renamed)'),
  ...['PA-1', 'PA-2', 'PA-3'].map((o, i) => ev.order(`O${o}`, 'SA', `2026-12-1${i}T10:00:00+08:00`)),
  ev.order('OPB-1', 'SB', '2026-12-20T10:00:00+08:00'),
  ev.order('OPB-2', 'SB', '2027-02-28T23:59:59+08:00'),
  ev.order('OPC-1', 'SC', '2026-12-01T00:00:00+08:00'),
  ev.order('OPC-2', 'SC', '2027-01-10T10:00:00+08:00'),
  ev.order('OPD-1', 'SD', '2027-01-05T10:00:00+08:00'),
  ev.order('OPD-2', 'SD', '2027-02-05T10:00:00+08:00'),
  ev.order('OPD-late', 'SD', '2027-03-01T00:00:00+08:00'), // the first instant after the period
  ev.paid('PAY-PA-2', 'PA', 10_000_000, '2026-12-05T10:00:00+08:00'),
  ev.paid('PAY-PB-2', 'PB', 10_000_000, '2026-12-05T10:00:00+08:00'),
  ev.deducted('DED-PD-1', 'PD', 3_000_000, '2025-06-01T10:00:00+08:00'),
  ev.paid('PAY-PD-2', 'PD', 13_000_000, '2027-02-28T23:59:59.999+08:00'),
  ev.paid('PAY-PD-3', 'PD', 1, '2027-03-01T00:00:00+08:00'), // after the close: not counted
];

const FIRST_DECISIONS = {
  PA: { outcome: 'revoked', reasons: ['orders_below_threshold'], paidOrders: 1, depositBalanceFen: 10_000_000 },
  PB: { outcome: 'revoked', reasons: ['orders_below_threshold'], paidOrders: 0, depositBalanceFen: 10_000_000 },
  PC: { outcome: 'retained', reasons: [], paidOrders: 2, depositBalanceFen: 10_000_000 },
  PD: { outcome: 'retained', reasons: [], paidOrders: 2, depositBalanceFen: 10_000_000 },
};

async function twoSeasonStack() {
  const { db } = await testStack();
  const tables = await freshTables();
  const s = stores(tables, db);
  const intake = makeIntake(new IngestStore(db, tables));
  const feed = async (lines: string[], source: string) => {
    expect(await feedRecords(intake, toRecords(lines.join('\n'), source), { quiet: true, concurrency: 4 })).toMatchObject({ accepted: lines.length, rejected: 0 });
  };
  const run = (c: Campaign, asOf?: string) => evaluate(c, { ...s, now: () => new Date(), overlapMs: 0, campaigns: () => TWO_SEASONS }, { by, ...(asOf ? { asOf } : {}) });
  const sent: OutgoingMail[] = [];
  const mailer: Mailer = { send: async (m) => (sent.push(m), { messageId: `m-${sent.length}` }) };
  const mailRun = (c: Campaign, req: { kind: 'outcome' } | { kind: 'progress'; asOf: string }) =>
    notify(
      c,
      {
        stores: s,
        mail: { sender: mailer, settings: { feedbackMailbox: c.feedbackMailbox, exitRefundProcedure: c.exitRefundProcedure }, evidence: publishedEvents(0) },
        clock: { now: () => new Date(), sleep: async () => {} },
        policy: notifyPolicy(1000),
        campaigns: () => TWO_SEASONS,
      },
      req,
    );
  const outcomeMail = (c: Campaign) => mailRun(c, { kind: 'outcome' });
  const reapply = makeReapply({ ...s, campaigns: () => TWO_SEASONS });
  return { db, tables, s, feed, run, sent, outcomeMail, mailRun, reapply, scan: (t: 'decisions') => scanTable(db, tables[t]) };
}

/** The first instant after renewal-2027's close, plus the half hour its evaluation schedule waits. */
const AFTER_2027 = '2027-03-01T00:30:00+08:00';

describe('two campaigns on one stack', () => {
  it('decides each provider as RULES.md says, mails (progress and outcome) only the assessed, and never reopens the closed season', async () => {
    const st = await twoSeasonStack();
    await st.feed(FIRST_SEASON, 'season-2024.ndjson');
    const first = await st.run(C2024);
    expect(first).toMatchObject({ mode: 'final', revisionsCreated: 4 });
    expect(verdicts(first.assessments)).toEqual(FIRST_DECISIONS);
    const revisions2024 = withPk(await st.scan('decisions'), 'REV#renewal-2024#');

    // The second season's events arrive; the closed season, run again, records nothing new.
    await st.feed(SECOND_SEASON, 'season-2027.ndjson');
    expect(await st.run(C2024)).toMatchObject({ mode: 'final', revisionsCreated: 0, unchanged: 4 });

    const second = await st.run(C2027, AFTER_2027);
    expect(second).toMatchObject({ mode: 'final', campaignId: 'renewal-2027', revisionsCreated: 4 });
    expect(verdicts(second.assessments)).toEqual({
      PA: { outcome: 'not_assessed', reasons: ['not_in_scope'] },
      PB: { outcome: 'retained', reasons: [], paidOrders: 2, depositBalanceFen: 20_000_000 },
      PC: { outcome: 'revoked', reasons: ['deposit_not_paid_in_full'], paidOrders: 2, depositBalanceFen: 10_000_000 },
      PD: { outcome: 'retained', reasons: [], paidOrders: 2, depositBalanceFen: 20_000_000 },
    });
    const pc = second.assessments.find((a) => a.providerId === 'PC')!;
    expect([pc.noticeDate, pc.reapplyFrom, pc.depositRequiredFen, pc.rulesVersion]).toEqual(['2027-03-01', '2027-05-30', 20_000_000, 'renewal-2027/1']);
    // Each season's days: PC's January 2024 order is in renewal-2024's evidence only.
    expect(first.assessments.find((a) => a.providerId === 'PC')!.ordersByDay).toEqual({ '2023-12-10': 1, '2024-01-10': 1 });
    expect(pc.ordersByDay).toEqual({ '2026-12-01': 1, '2027-01-10': 1 });

    // The outcome mail of renewal-2027 goes to the assessed only: nothing to PA.
    // Mid-season progress mail of renewal-2027: neither to PA, whom renewal-2024 revoked.
    expect(await st.mailRun(C2027, { kind: 'progress', asOf: '2027-01-15T10:00:00+08:00' })).toMatchObject({ due: 3, sent: 3 });
    expect(st.sent.map((m) => m.to).sort()).toEqual(['pb@example.com', 'pc@example.com', 'pd@example.com']);
    st.sent.length = 0;
    const mail = await st.outcomeMail(C2027);
    expect(mail).toMatchObject({ due: 3, sent: 3 });
    expect(st.sent.map((m) => m.to).sort()).toEqual(['pb@example.com', 'pc@example.com', 'pd@example.com']);

    // renewal-2024 once more, now that renewal-2027 revoked PC: still nothing new, its revisions as they were.
    expect(await st.run(C2024)).toMatchObject({ revisionsCreated: 0, unchanged: 4 });
    expect(withPk(await st.scan('decisions'), 'REV#renewal-2024#')).toEqual(revisions2024);
    // And renewal-2027 again: the same decisions, no new revision.
    expect(await st.run(C2027, AFTER_2027)).toMatchObject({ revisionsCreated: 0, unchanged: 4 });

    // The re-application check across both seasons.
    expect(await st.reapply({ providerId: 'PA', at: '2024-05-29T15:59:59.999Z' })).toEqual({
      providerId: 'PA',
      at: '2024-05-29T15:59:59.999Z',
      allowed: false,
      reapplyFrom: '2024-05-29T16:00:00.000Z',
      basis: { campaignId: 'renewal-2024', noticeDate: '2024-03-01', revision: 1 },
    });
    expect(await st.reapply({ providerId: 'PB', at: '2027-04-01T00:00:00+08:00' })).toEqual({ providerId: 'PB', at: '2027-03-31T16:00:00.000Z', allowed: true });
    expect(await st.reapply({ providerId: 'PC', at: '2027-05-29T23:59:59.999+08:00' })).toMatchObject({
      allowed: false,
      reapplyFrom: '2027-05-29T16:00:00.000Z',
      basis: { campaignId: 'renewal-2027', noticeDate: '2027-03-01', revision: 1 },
    });
    expect(await st.reapply({ providerId: 'PD', at: '2027-04-01T00:00:00+08:00' })).toEqual({ providerId: 'PD', at: '2027-03-31T16:00:00.000Z', allowed: true });
  });

  it('a correction of an earlier decision changes the later season, recorded there as a revision', async () => {
    const st = await twoSeasonStack();
    await st.feed(FIRST_SEASON, 'season-2024.ndjson');
    await st.run(C2024);
    await st.feed(SECOND_SEASON, 'season-2027.ndjson');
    expect(verdicts((await st.run(C2027, AFTER_2027)).assessments).PA).toEqual({ outcome: 'not_assessed', reasons: ['not_in_scope'] });
    // A late order of December 2023 on SA: PA reached the threshold in 2024 after all (revision 2: retained).
    await st.feed([ev.order('OA-24-late', 'SA', '2024-02-01T10:00:00+08:00')], 'late.ndjson');
    const corrected = await st.run(C2024);
    expect(corrected.revisionsCreated).toBe(1);
    expect(verdicts(corrected.assessments).PA).toMatchObject({ outcome: 'retained', paidOrders: 2 });
    // renewal-2027 now assesses PA: retained on its 2027 orders and deposit, as its revision 2.
    const rerun = await st.run(C2027, AFTER_2027);
    expect(rerun.revisionsCreated).toBe(1);
    const pa = rerun.assessments.find((a) => a.providerId === 'PA')!;
    expect([pa.outcome, pa.paidOrders, pa.depositBalanceFen, pa.revision]).toEqual(['retained', 3, 20_000_000, 2]);
  });
});
