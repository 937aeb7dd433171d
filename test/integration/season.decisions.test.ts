/**
 * One season written out by hand, with every row of RULES.md's decision table and every clause whose
 * edge can be placed in data: scope and regularization instants, the half-open period in `Z` and
 * `+08:00` forms, the leap day, gift orders, shared stores, bindings that start or end mid-season
 * (one delivered end-first), duplicated deliveries, deposits in instalments, a deduction before the
 * close and money moved at the close instant. Events go through the real intake handler; the
 * aggregate and evaluate handlers run with their payloads against dynalite over HTTP. The expected
 * decision of each provider is written out literally below, not computed; the reference evaluator
 * (test/support/reference.ts) must find the same from the same lines.
 *
 * Threshold: the deployment's THRESHOLD_ORDERS (makeEvaluate's configured threshold) is 4, so the
 * schedule payload `{"campaignId":"renewal-2024"}` decides with 4 (the campaign's 10,000 is a placeholder).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '#shared/usecases/report.ts';
import type { AggregateResult } from '#shared/usecases/aggregate.ts';
import type { EvaluateResult } from '#shared/usecases/evaluate.ts';

import { AT, CAMPAIGN, ev, newSeason, withPk, type Season } from '../support/season-fixture.ts';
import { reference, renewal2024 } from '../support/reference.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';

const T = 4;

// ---------------------------------------------------------------------------------------------
// The season. Comments give the rule each line exercises; "in"/"out" = counted or not.

const PROVIDERS = [
  // Clause 1: certified exactly at 2023-12-01 00:00 CST is not "before" → not_in_scope (and, never
  // regularized, it fails 2.1 too: scope is checked first).
  ev.provider('P01-OUT', '2023-12-01T00:00:00+08:00'),
  // Just in scope, but still on probation (no regularizedAt) → not_regularized.
  ev.provider('P02-PROB', '2023-11-30T23:59:59+08:00'),
  // Regularized exactly at 2023-12-01 00:00 CST (minute precision form) → not_regularized.
  ev.provider('P03-REGDAY', '2023-06-01T00:00:00+08:00', '2023-12-01T00:00+08:00'),
  // Regularized one second before → assessed; retained exactly at the threshold.
  ev.provider('P04-EDGE', '2023-06-01T09:00:00+08:00', '2023-11-30T23:59:59+08:00'),
  // Binding starts mid-season: 3 = T-1 orders → revoked for orders only; deposit in instalments = 10,000,000.
  ev.provider('P05-LATEBIND', '2023-05-01T00:00:00Z', '2023-08-01T00:00:00Z'),
  // Shares a store with P07; deposit 9,999,999 fen → revoked for the deposit only.
  ev.provider('P06-SHORT', '2023-04-01T00:00:00+08:00', '2023-05-01T00:00:00+08:00'),
  // Shares a store with P06 (re-bound mid-season at one instant); half its deposit is paid at the close
  // instant → revoked for the deposit only.
  ev.provider('P07-LATEPAY', '2023-04-01T00:00:00+08:00', '2023-05-01T00:00:00+08:00'),
  // Binding ends mid-season (end delivered before start); a deduction before the close → revoked for both.
  ev.provider('P08-ENDED', '2023-03-01T00:00:00+08:00', '2023-04-01T00:00:00+08:00'),
  // Clause 1 in `Z` form: certified exactly at 2023-11-30T16:00:00Z, regularized before → not_in_scope.
  ev.provider('P09-OUTZ', '2023-11-30T16:00:00Z', '2023-11-30T15:00:00Z'),
  // Assessed, no store, no deposit: no aggregate exists for it → revoked for both with 0 and 0.
  ev.provider('P10-NOTHING', '2023-02-01T00:00:00+08:00', '2023-02-15T00:00:00+08:00'),
];

const NOT_ASSESSED_DATA = [
  // Out-of-scope and probation providers have orders and a full deposit: not assessed all the same.
  ev.bind('P01-OUT', 'S01', AT.boundBefore),
  ...ev.ordersAt('S01', { A1: '2023-12-10T10:00:00+08:00', A2: '2023-12-11T10:00:00+08:00', A3: '2023-12-12T10:00:00+08:00', A4: '2023-12-13T10:00:00+08:00', A5: '2023-12-14T10:00:00+08:00' }),
  ev.paid('PAY-01', 'P01-OUT', 10_000_000, AT.depositPaid),
  ev.bind('P02-PROB', 'S02', AT.boundBefore),
  ...ev.ordersAt('S02', { B1: '2023-12-10T10:00:00+08:00', B2: '2024-01-10T10:00:00+08:00', B3: '2024-02-10T10:00:00+08:00', B4: '2024-02-20T10:00:00+08:00' }),
  ev.paid('PAY-02', 'P02-PROB', 10_000_000, AT.depositPaid),
];

const P04 = [
  ev.bind('P04-EDGE', 'S04', '2023-06-01T00:00:00Z'),
  ev.order('E1', 'S04', '2023-11-30T15:59:59.999Z'), // out: last ms before the period (Z)
  ev.order('E2', 'S04', '2023-11-30T23:59:59.999+08:00'), // out: the same instant in +08:00
  ev.order('E3', 'S04', '2023-11-30T16:00:00Z'), // in: first instant of the period (Z)
  ev.order('E4', 'S04', '2023-12-01T00:00:00.000+08:00'), // in: the same instant in +08:00
  ev.order('E5', 'S04', '2024-02-29T15:59:59.999Z'), // in: last ms of the period, leap day (Z)
  ev.order('E6', 'S04', '2024-02-29T23:59:59.999+08:00'), // in: the same instant in +08:00
  ev.order('E7', 'S04', '2024-02-29T16:00:00Z'), // out: the close instant (Z)
  ev.order('E8', 'S04', '2024-03-01T00:00:00+08:00'), // out: the close instant in +08:00
  ev.order('E9', 'S04', '2024-01-10T12:00:00+08:00', true), // out: gift order (clause 2.3)
  ev.paid('PAY-04', 'P04-EDGE', 10_000_000, '2023-11-20T10:00:00+08:00'), // before the period: still counts
  ev.deducted('DED-04', 'P04-EDGE', 2_000_000, '2024-02-29T16:00:00Z'), // at the close: does not count
];

const P05 = [
  ev.bind('P05-LATEBIND', 'S05', '2024-01-01T00:00:00+08:00'),
  ev.order('F1', 'S05', '2023-12-15T10:00:00+08:00'), // out: before the binding
  ev.order('F2', 'S05', '2023-12-31T15:59:59.999Z'), // out: 1 ms before the binding
  ev.order('F3', 'S05', '2023-12-31T16:00:00Z'), // in: the binding's start instant
  ev.order('F4', 'S05', '2024-01-15T10:00:00+08:00'), // in
  ev.order('F5', 'S05', '2024-02-20T10:00:00+08:00'), // in
  ev.paid('PAY-05a', 'P05-LATEBIND', 3_000_000, '2023-12-05T10:00:00+08:00'),
  ev.paid('PAY-05b', 'P05-LATEBIND', 3_000_000, '2024-01-05T10:00:00+08:00'),
  ev.paid('PAY-05c', 'P05-LATEBIND', 4_000_000, '2024-02-29T23:59:59+08:00'), // 1 s before the close
];

/**
 * Refunds do not remove a paid order (RULES.md "order count"): the contract has no refund event, so
 * one sent anyway is rejected naming `type`, and F4 still counts.
 */
const REFUND = JSON.stringify({ type: 'order.refunded', orderId: 'F4', storeId: 'S05', at: '2024-01-20T10:00:00+08:00' });

const SHARED = [
  ev.bind('P06-SHORT', 'S-SHARED', '2023-09-01T00:00:00+08:00'),
  ev.bind('P07-LATEPAY', 'S-SHARED', '2023-10-01T00:00:00Z'),
  // P07 re-binds S-SHARED at the very instant the first binding ends (two forms of one instant): one
  // continuous binding, so G3, paid at that instant, and everything after it still count for P07.
  ev.unbind('P07-LATEPAY', 'S-SHARED', '2024-01-08T10:00:00+08:00'),
  ev.bind('P07-LATEPAY', 'S-SHARED', '2024-01-08T02:00:00Z'),
  ev.order('G1', 'S-SHARED', '2023-12-02T10:00:00+08:00'),
  ev.order('G2', 'S-SHARED', '2023-12-25T10:00:00+08:00', false), // gift written out as false: counts
  ev.order('G3', 'S-SHARED', '2024-01-08T10:00:00+08:00'),
  ev.order('G4', 'S-SHARED', '2024-02-02T10:00:00Z'),
  ev.order('G5', 'S-SHARED', '2024-02-28T10:00:00+08:00'),
  ev.order('G6', 'S-SHARED', '2024-02-14T10:00:00+08:00', true), // gift: out for both
  ev.paid('PAY-06', 'P06-SHORT', 9_999_999, '2023-12-20T10:00:00+08:00'),
  ev.paid('PAY-07a', 'P07-LATEPAY', 5_000_000, '2023-12-10T10:00:00+08:00'),
  ev.paid('PAY-07b', 'P07-LATEPAY', 5_000_000, '2024-02-29T16:00:00Z'), // at the close instant: does not count
];

const P08_START = ev.bind('P08-ENDED', 'S08', '2023-10-01T00:00:00+08:00');
const P08 = [
  ev.unbind('P08-ENDED', 'S08', '2024-01-20T12:00:00+08:00'), // delivered in wave 1; its start only in wave 2
  ev.order('H1', 'S08', '2023-12-05T10:00:00+08:00'), // in
  ev.order('H2', 'S08', '2024-01-20T11:59:59.999+08:00'), // in: last ms of the binding
  ev.order('H3', 'S08', '2024-01-20T04:00:00Z'), // out: the end instant (half-open)
  ev.order('H4', 'S08', '2024-02-01T10:00:00+08:00'), // out: after the end
  ev.paid('PAY-08', 'P08-ENDED', 10_000_000, '2023-11-25T10:00:00+08:00'),
  ev.deducted('DED-08', 'P08-ENDED', 500_000, '2024-02-01T10:00:00+08:00'), // before the close: counts
];

const WAVE_1 = [...PROVIDERS, ...NOT_ASSESSED_DATA, ...P04, ...P05, REFUND, ...SHARED, ...P08];
const WAVE_2 = [
  P08_START, // the binding.started that the binding.ended above was waiting for
  ev.order('E3', 'S04', '2023-11-30T16:00:00Z'), // redelivered verbatim
  ev.order('E3', 'S04', '2023-12-01T00:00:00+08:00'), // redelivered in the +08:00 form
  ev.order('G3', 'S-SHARED', '2024-01-08T10:00:00+08:00', false), // redelivered with gift written out
  ev.paid('PAY-05c', 'P05-LATEBIND', 4_000_000, '2024-02-29T15:59:59Z'), // redelivered in Z form
];

// ---------------------------------------------------------------------------------------------
// The expected decisions, literally (RULES.md decision table; notice 2024-03-01, re-apply from 2024-05-30).

const ASSESSED = ['1', '2.1', '2.2.1', '2.2.2', '2.2.3'];
const REVOKED = [...ASSESSED, '3'];
const NOTICE = { noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' };
const FIGURES = { thresholdOrders: T, depositRequiredFen: 10_000_000 };

const EXPECTED = [
  { providerId: 'P01-OUT', outcome: 'not_assessed', reasons: ['not_in_scope'], clauses: ['1'] },
  { providerId: 'P02-PROB', outcome: 'not_assessed', reasons: ['not_regularized'], clauses: ['1', '2.1'] },
  { providerId: 'P03-REGDAY', outcome: 'not_assessed', reasons: ['not_regularized'], clauses: ['1', '2.1'] },
  { providerId: 'P04-EDGE', outcome: 'retained', reasons: [], clauses: ASSESSED, paidOrders: 4, depositBalanceFen: 10_000_000, ...FIGURES },
  { providerId: 'P05-LATEBIND', outcome: 'revoked', reasons: ['orders_below_threshold'], clauses: REVOKED, paidOrders: 3, depositBalanceFen: 10_000_000, ...FIGURES, ...NOTICE },
  { providerId: 'P06-SHORT', outcome: 'revoked', reasons: ['deposit_not_paid_in_full'], clauses: REVOKED, paidOrders: 5, depositBalanceFen: 9_999_999, ...FIGURES, ...NOTICE },
  { providerId: 'P07-LATEPAY', outcome: 'revoked', reasons: ['deposit_not_paid_in_full'], clauses: REVOKED, paidOrders: 5, depositBalanceFen: 5_000_000, ...FIGURES, ...NOTICE },
  {
    providerId: 'P08-ENDED',
    outcome: 'revoked',
    reasons: ['orders_below_threshold', 'deposit_not_paid_in_full'],
    clauses: REVOKED,
    paidOrders: 2,
    depositBalanceFen: 9_500_000,
    ...FIGURES,
    ...NOTICE,
  },
  { providerId: 'P09-OUTZ', outcome: 'not_assessed', reasons: ['not_in_scope'], clauses: ['1'] },
  {
    providerId: 'P10-NOTHING',
    outcome: 'revoked',
    reasons: ['orders_below_threshold', 'deposit_not_paid_in_full'],
    clauses: REVOKED,
    paidOrders: 0,
    depositBalanceFen: 0,
    ...FIGURES,
    ...NOTICE,
  },
];

/** The report rows (OPS.md `report --json`), literally: figures only for assessed, notice only for revoked. */
const EXPECTED_REPORT = [
  { providerId: 'P01-OUT', outcome: 'not_assessed', reasons: ['not_in_scope'] },
  { providerId: 'P02-PROB', outcome: 'not_assessed', reasons: ['not_regularized'] },
  { providerId: 'P03-REGDAY', outcome: 'not_assessed', reasons: ['not_regularized'] },
  { providerId: 'P04-EDGE', outcome: 'retained', reasons: [], paidOrders: 4, thresholdOrders: 4, depositBalanceFen: 10_000_000 },
  {
    providerId: 'P05-LATEBIND',
    outcome: 'revoked',
    reasons: ['orders_below_threshold'],
    paidOrders: 3,
    thresholdOrders: 4,
    depositBalanceFen: 10_000_000,
    noticeDate: '2024-03-01',
    reapplyFrom: '2024-05-30',
  },
  {
    providerId: 'P06-SHORT',
    outcome: 'revoked',
    reasons: ['deposit_not_paid_in_full'],
    paidOrders: 5,
    thresholdOrders: 4,
    depositBalanceFen: 9_999_999,
    noticeDate: '2024-03-01',
    reapplyFrom: '2024-05-30',
  },
  {
    providerId: 'P07-LATEPAY',
    outcome: 'revoked',
    reasons: ['deposit_not_paid_in_full'],
    paidOrders: 5,
    thresholdOrders: 4,
    depositBalanceFen: 5_000_000,
    noticeDate: '2024-03-01',
    reapplyFrom: '2024-05-30',
  },
  {
    providerId: 'P08-ENDED',
    outcome: 'revoked',
    reasons: ['orders_below_threshold', 'deposit_not_paid_in_full'],
    paidOrders: 2,
    thresholdOrders: 4,
    depositBalanceFen: 9_500_000,
    noticeDate: '2024-03-01',
    reapplyFrom: '2024-05-30',
  },
  { providerId: 'P09-OUTZ', outcome: 'not_assessed', reasons: ['not_in_scope'] },
  {
    providerId: 'P10-NOTHING',
    outcome: 'revoked',
    reasons: ['orders_below_threshold', 'deposit_not_paid_in_full'],
    paidOrders: 0,
    thresholdOrders: 4,
    depositBalanceFen: 0,
    noticeDate: '2024-03-01',
    reapplyFrom: '2024-05-30',
  },
];

const OPS_FIELDS = ['providerId', 'outcome', 'reasons', 'paidOrders', 'thresholdOrders', 'depositBalanceFen', 'noticeDate', 'reapplyFrom'];
const opsView = (row: object) => Object.fromEntries(Object.entries(row).filter(([k]) => OPS_FIELDS.includes(k)));

/** The decision fields the rules produce (what EXPECTED states), out of a stored or returned decision. */
const DECISION_FIELDS = ['providerId', 'outcome', 'reasons', 'clauses', 'paidOrders', 'depositBalanceFen', 'thresholdOrders', 'depositRequiredFen', 'noticeDate', 'reapplyFrom'];
const decisionView = (d: object) => Object.fromEntries(Object.entries(d).filter(([k]) => DECISION_FIELDS.includes(k)));

async function feedSeason(season: Season) {
  const wave1 = await season.feed(WAVE_1);
  const afterWave1 = await season.aggregate();
  const totalsAfterWave1 = await season.stores.aggregates.providerTotals(RENEWAL_2024);
  const wave2 = await season.feed(WAVE_2);
  return { wave1, afterWave1, totalsAfterWave1, wave2 };
}

describe('the hand-written season, decided by the schedule payload', () => {
  let season: Season;
  let fed: Awaited<ReturnType<typeof feedSeason>>;
  let result: EvaluateResult;

  beforeAll(async () => {
    season = await newSeason({ configuredThreshold: T });
    fed = await feedSeason(season);
    result = await season.evaluate({ campaignId: CAMPAIGN });
  });

  it('the intake accepted each fact once, rejected the refund and counted the redeliveries as duplicates', () => {
    expect(fed.wave1).toEqual({ accepted: 64, duplicates: 0, rejected: 1, failed: 0 });
    expect(fed.wave2).toEqual({ accepted: 1, duplicates: 4, rejected: 0, failed: 0 });
  });

  it('before its binding.started arrived, the binding.ended alone covered nothing', () => {
    const afterWave1 = fed.afterWave1 as Extract<AggregateResult, { status: 'done' }>;
    expect(afterWave1).toMatchObject({ status: 'done', mode: 'full' });
    const p08 = fed.totalsAfterWave1.find((t) => t.providerId === 'P08-ENDED');
    expect(p08?.paidOrders).toBe(0);
    expect(p08?.depositBalanceFen).toBe(9_500_000);
  });

  it('the evaluation is final, decided by the schedule with the configured threshold, and asks for the outcome mail', () => {
    expect(result).toMatchObject({
      campaignId: CAMPAIGN,
      mode: 'final',
      final: true,
      thresholdOrders: T,
      counts: { retained: 1, revoked: 5, not_assessed: 4 },
      revisionsCreated: 10,
      unchanged: 0,
      mailRequested: true,
    });
    // The catch-up aggregation picked up wave 2 incrementally (the watermark was set by the run after wave 1).
    expect(result.aggregation).toMatchObject({ status: 'done', mode: 'incremental' });
    expect(season.mail).toHaveBeenCalledTimes(1);
    expect(season.mail).toHaveBeenCalledWith(CAMPAIGN);
  });

  it('returns the expected decision for every provider', () => {
    expect(result.assessments.map(decisionView)).toEqual(EXPECTED);
  });

  it('the reference evaluator, reading the same lines in the same order, decides as written out and as the system did', () => {
    const ref = reference(renewal2024(T), [...WAVE_1, ...WAVE_2]);
    expect(ref.decisions.map(decisionView)).toEqual(EXPECTED);
    expect(result.assessments.map(decisionView)).toEqual(ref.decisions.map(decisionView));
    expect({ rejected: ref.rejected.map((r) => r.field), duplicates: ref.duplicates.length }).toEqual({ rejected: ['type'], duplicates: 4 });
  });

  it('stores the same decisions as revision 1 with their evidence', async () => {
    const current = withPk(await season.scan('decisions'), `CUR#${CAMPAIGN}`);
    expect(current.map((d) => d.sk)).toEqual(EXPECTED.map((e) => e.providerId));
    expect(current.map(decisionView)).toEqual(EXPECTED);
    for (const d of current) {
      expect(d).toMatchObject({
        campaignId: CAMPAIGN,
        revision: 1,
        final: true,
        rulesVersion: 'renewal-2024/1',
        decidedBy: { kind: 'schedule', id: 'eventbridge-scheduler' },
        providerName: `Provider ${d.providerId}`,
        email: `${String(d.providerId).toLowerCase()}@example.com`,
      });
      expect(d.changes).toBeUndefined();
      expect(Date.parse(String(d.asOf))).toBeGreaterThanOrEqual(Date.parse('2024-02-29T16:00:00Z'));
    }
    // The daily split, by CST calendar day: E3/E4 on 2023-12-01, E5/E6 on the leap day.
    const byId = new Map(current.map((d) => [d.sk, d]));
    expect(byId.get('P04-EDGE')?.ordersByDay).toEqual({ '2023-12-01': 2, '2024-02-29': 2 });
    expect(byId.get('P05-LATEBIND')?.ordersByDay).toEqual({ '2024-01-01': 1, '2024-01-15': 1, '2024-02-20': 1 });
    expect(byId.get('P08-ENDED')?.ordersByDay).toEqual({ '2023-12-05': 1, '2024-01-20': 1 });
    expect(byId.get('P10-NOTHING')?.ordersByDay).toEqual({});
    expect(byId.get('P01-OUT')?.ordersByDay).toBeUndefined();

    const revisions = withPk(await season.scan('decisions'), `REV#${CAMPAIGN}#`);
    expect(revisions.map((r) => [r.providerId, r.sk])).toEqual(EXPECTED.map((e) => [e.providerId, '000001']));
    expect(revisions.map(decisionView)).toEqual(EXPECTED);
    expect(withPk(await season.scan('decisions'), `PRE#`)).toEqual([]);
  });

  it('logs the run with who ran it and what it decided', async () => {
    const runs = await season.stores.decisions.runs(CAMPAIGN);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      runId: result.runId,
      campaignId: CAMPAIGN,
      mode: 'final',
      by: { kind: 'schedule', id: 'eventbridge-scheduler' },
      thresholdOrders: T,
      counts: { retained: 1, revoked: 5, not_assessed: 4 },
      revisionsCreated: 10,
    });
    expect(runs[0]!.providerIds).toBeUndefined();
  });

  it('the report has the OPS.md shape: figures for assessed providers, notice dates for revoked ones', async () => {
    const report = await buildReport(season.stores.decisions, CAMPAIGN);
    expect(report.campaignId).toBe(CAMPAIGN);
    expect(report.final).toBe(true);
    expect(report.assessments.map(opsView)).toEqual(EXPECTED_REPORT);
    for (const row of report.assessments) {
      expect(row).toMatchObject({ providerName: `Provider ${row.providerId}`, revision: 1, decidedBy: 'schedule:eventbridge-scheduler' });
    }
  });

  it('the aggregates hold the counted orders of every bound provider, including those not assessed', async () => {
    const totals = await season.stores.aggregates.providerTotals(RENEWAL_2024);
    const view = Object.fromEntries(totals.map((t) => [t.providerId, [t.paidOrders, t.depositBalanceFen, t.stores]]));
    expect(view).toEqual({
      'P01-OUT': [5, 10_000_000, ['S01']],
      'P02-PROB': [4, 10_000_000, ['S02']],
      'P04-EDGE': [4, 10_000_000, ['S04']],
      'P05-LATEBIND': [3, 10_000_000, ['S05']],
      'P06-SHORT': [5, 9_999_999, ['S-SHARED']],
      'P07-LATEPAY': [5, 5_000_000, ['S-SHARED']],
      'P08-ENDED': [2, 9_500_000, ['S08']],
    });
  });
});

describe('the same season decided by a person', () => {
  it('a person-run with thresholdOrders records the same decisions, decided by that person', async () => {
    // No configured threshold and none in the campaign file: the person's thresholdOrders is the one.
    const season = await newSeason();
    await feedSeason(season);
    const result = await season.evaluate({ campaignId: CAMPAIGN, thresholdOrders: T, requestedBy: 'ops-alice' });
    expect(result).toMatchObject({ mode: 'final', thresholdOrders: T, revisionsCreated: 10 });
    const current = await season.stores.decisions.current(CAMPAIGN);
    expect(current.map(decisionView)).toEqual(EXPECTED);
    for (const d of current) expect(d.decidedBy).toEqual({ kind: 'person', id: 'ops-alice' });
    const runs = await season.stores.decisions.runs(CAMPAIGN);
    expect(runs.map((r) => r.by)).toEqual([{ kind: 'person', id: 'ops-alice' }]);
    const report = await buildReport(season.stores.decisions, CAMPAIGN);
    expect(report.assessments.map(opsView)).toEqual(EXPECTED_REPORT);
    expect(new Set(report.assessments.map((r) => r.decidedBy))).toEqual(new Set(['person:ops-alice']));

    // The schedule's payload on this deployment (no THRESHOLD_ORDERS, the file's null) is refused,
    // naming thresholdOrders (RULES.md "threshold"): nothing is decided on a made-up number.
    await expect(season.evaluate({ campaignId: CAMPAIGN })).rejects.toMatchObject({
      name: 'MissingThresholdError',
      message: expect.stringMatching(/^thresholdOrders: campaign renewal-2024 has no threshold/),
    });
    const p04 = await season.stores.decisions.revisions(CAMPAIGN, 'P04-EDGE');
    expect(p04.map((r) => [r.revision, r.outcome, r.thresholdOrders, r.decidedBy.kind])).toEqual([[1, 'retained', 4, 'person']]);
    expect(await season.stores.decisions.runs(CAMPAIGN)).toHaveLength(1);
  });
});
