/**
 * Re-running the final evaluation (RULES.md "decision date", "evaluation time"; evaluate.ts): the same
 * data gives the same decisions and no new revision; data that arrives late (it may: input contract)
 * corrects a decision as the next revision with what changed, the earlier revision kept; a revoked
 * provider keeps the notice date of its first revocation; and two runs at once record each change once.
 *
 * Threshold 3 (the deployment's THRESHOLD_ORDERS). The season:
 *  - PA: 1 order on bound store SA, 2 more on SB which is not bound to it (yet); deposit in full → revoked (orders).
 *  - PB: 3 orders on SC; deposit in full → retained.
 *  - PC: 1 order on SD; no deposit → revoked (both).
 *  - PD: on probation → not_assessed.
 */
import { describe, expect, it } from 'vitest';
import { DecisionStore } from '#shared/store/decisions.ts';
import { AT, CAMPAIGN, ev, fedSeason, verdicts, withPk, type Season, type SeasonOptions } from '../support/pipeline.ts';

const T = 3;

const SEASON = [
  ...ev.providers(['PA', 'PB', 'PC'], AT.certified, AT.regularized),
  ev.provider('PD', AT.certified), // on probation
  ev.bind('PA', 'SA', AT.boundBefore),
  ...ev.ordersAt('SA', { OA1: '2023-12-03T10:00:00+08:00' }),
  ...ev.ordersAt('SB', { OB1: '2023-12-04T10:00:00+08:00', OB2: '2024-01-04T10:00:00+08:00' }), // SB: bound to no one (yet)
  ev.paid('PAY-A', 'PA', 10_000_000, AT.depositPaid),
  ev.bind('PB', 'SC', AT.boundBefore),
  ...ev.ordersAt('SC', { OC1: '2023-12-05T10:00:00+08:00', OC2: '2024-01-05T10:00:00+08:00', OC3: '2024-02-05T10:00:00+08:00' }),
  ev.paid('PAY-B', 'PB', 10_000_000, AT.depositPaid),
  ev.bind('PC', 'SD', AT.boundBefore),
  ev.order('OD1', 'SD', '2023-12-06T10:00:00+08:00'),
  ev.bind('PD', 'SE', AT.boundBefore),
  ev.order('OE1', 'SE', '2023-12-07T10:00:00+08:00'),
];

const FIRST = {
  PA: { outcome: 'revoked', reasons: ['orders_below_threshold'], paidOrders: 1, depositBalanceFen: 10_000_000 },
  PB: { outcome: 'retained', reasons: [], paidOrders: 3, depositBalanceFen: 10_000_000 },
  PC: { outcome: 'revoked', reasons: ['orders_below_threshold', 'deposit_not_paid_in_full'], paidOrders: 1, depositBalanceFen: 0 },
  PD: { outcome: 'not_assessed', reasons: ['not_regularized'] },
};

const finalSeason = (opts: Pick<SeasonOptions, 'decisions'> = {}) => fedSeason(SEASON, { configuredThreshold: T, ...opts });

const decisionsTable = async (season: Season) => {
  const all = await season.scan('decisions');
  return { current: withPk(all, 'CUR#'), revisions: withPk(all, 'REV#'), runs: withPk(all, 'RUNS#') };
};

const revisionsOf = (items: Record<string, unknown>[], providerId: string) => items.filter((i) => i.pk === `REV#${CAMPAIGN}#${providerId}`);

describe('re-running the final evaluation', () => {
  it('the same data: the same decisions and notice date, no new revision, the current decisions untouched', async () => {
    const season = await finalSeason();
    const first = await season.evaluate();
    expect(first).toMatchObject({ mode: 'final', revisionsCreated: 4, unchanged: 0 });
    expect(verdicts(first.assessments)).toEqual(FIRST);
    const before = await decisionsTable(season);

    const second = await season.evaluate();
    expect(second).toMatchObject({ mode: 'final', revisionsCreated: 0, unchanged: 4 });
    expect(verdicts(second.assessments)).toEqual(FIRST);
    // What a re-run returns is the recorded decision: revision 1, decided by the first run.
    expect(second.assessments.map((a) => [a.providerId, a.revision, a.decidedAt])).toEqual(first.assessments.map((a) => [a.providerId, 1, a.decidedAt]));
    expect(second.assessments.filter((a) => a.outcome === 'revoked').map((a) => [a.noticeDate, a.reapplyFrom])).toEqual([
      ['2024-03-01', '2024-05-30'],
      ['2024-03-01', '2024-05-30'],
    ]);

    const after = await decisionsTable(season);
    expect(after.current).toEqual(before.current);
    expect(after.revisions).toEqual(before.revisions);
    for (const p of ['PA', 'PB', 'PC', 'PD']) expect(revisionsOf(after.revisions, p).map((r) => r.sk)).toEqual(['000001']);
    // Both runs are logged; the second created nothing.
    expect(after.runs.map((r) => r.revisionsCreated)).toEqual([4, 0]);
    // Each final run hands the outcome mail over (notify sends only what is due and not yet sent).
    expect(season.mail).toHaveBeenCalledTimes(2);
  });

  it('a late binding.started that brings PA over the threshold: revision 2 retained, revision 1 kept, others unchanged', async () => {
    const season = await finalSeason();
    await season.evaluate();
    const before = await decisionsTable(season);

    // SB was bound to PA all season, but the platform only delivers the binding now.
    expect(await season.feed([ev.bind('PA', 'SB', '2023-11-15T00:00:00+08:00')])).toMatchObject({ accepted: 1 });
    const agg = await season.aggregate();
    expect(agg).toMatchObject({ status: 'done', mode: 'incremental', storesRecounted: 1, providersUpdated: 1 });
    const again = await season.evaluate();
    expect(again).toMatchObject({ mode: 'final', revisionsCreated: 1, unchanged: 3, counts: { retained: 2, revoked: 1, not_assessed: 1 } });

    const after = await decisionsTable(season);
    const pa = revisionsOf(after.revisions, 'PA');
    expect(pa.map((r) => r.sk)).toEqual(['000001', '000002']);
    expect(pa[0]).toEqual(revisionsOf(before.revisions, 'PA')[0]); // revision 1 stored unchanged
    expect(pa[0]).toMatchObject({ revision: 1, outcome: 'revoked', paidOrders: 1, noticeDate: '2024-03-01' });

    const current = after.current.find((d) => d.sk === 'PA')!;
    expect(current).toMatchObject({ revision: 2, outcome: 'retained', reasons: [], paidOrders: 3, depositBalanceFen: 10_000_000, final: true });
    expect(current.noticeDate).toBeUndefined();
    expect(current.reapplyFrom).toBeUndefined();
    expect(current.changes).toEqual([
      { field: 'outcome', from: 'revoked', to: 'retained' },
      { field: 'reasons', from: ['orders_below_threshold'], to: [] },
      { field: 'paidOrders', from: 1, to: 3 },
      { field: 'noticeDate', from: '2024-03-01', to: null },
      { field: 'reapplyFrom', from: '2024-05-30', to: null },
    ]);
    expect({ ...pa[1], pk: undefined, sk: undefined }).toEqual({ ...current, pk: undefined, sk: undefined });

    // Every other provider: the same current item, still only revision 1.
    for (const p of ['PB', 'PC', 'PD']) {
      expect(after.current.find((d) => d.sk === p)).toEqual(before.current.find((d) => d.sk === p));
      expect(revisionsOf(after.revisions, p).map((r) => r.sk)).toEqual(['000001']);
    }
  });

  it('a revoked provider whose figures change but stays revoked keeps the notice date of revision 1', async () => {
    const season = await finalSeason();
    await season.evaluate();
    const rev1 = revisionsOf((await decisionsTable(season)).revisions, 'PC')[0]!;
    expect(rev1).toMatchObject({ outcome: 'revoked', noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' });

    // One more order (still below 3): revision 2 with only the count changed.
    await season.feed([ev.order('OD2', 'SD', '2024-02-06T10:00:00+08:00')]);
    const second = await season.evaluate();
    expect(second.revisionsCreated).toBe(1);
    let pc = await season.stores.decisions.revisions(CAMPAIGN, 'PC');
    expect(pc.map((r) => r.revision)).toEqual([1, 2]);
    expect(pc[1]).toMatchObject({ outcome: 'revoked', reasons: ['orders_below_threshold', 'deposit_not_paid_in_full'], paidOrders: 2, noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' });
    expect(pc[1]!.changes).toEqual([{ field: 'paidOrders', from: 1, to: 2 }]);

    // A deposit paid before the close arrives late: one reason goes, still revoked, same notice.
    await season.feed([ev.paid('PAY-C', 'PC', 10_000_000, '2024-02-28T10:00:00+08:00')]);
    const third = await season.evaluate();
    expect(third.revisionsCreated).toBe(1);
    pc = await season.stores.decisions.revisions(CAMPAIGN, 'PC');
    expect(pc.map((r) => r.revision)).toEqual([1, 2, 3]);
    expect(pc[2]).toMatchObject({ outcome: 'revoked', reasons: ['orders_below_threshold'], depositBalanceFen: 10_000_000, noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' });
    expect(pc[2]!.changes).toEqual([
      { field: 'reasons', from: ['orders_below_threshold', 'deposit_not_paid_in_full'], to: ['orders_below_threshold'] },
      { field: 'depositBalanceFen', from: 0, to: 10_000_000 },
    ]);
    const [current] = await season.stores.decisions.currentOf(CAMPAIGN, ['PC']);
    expect(current).toMatchObject({ revision: 3, noticeDate: '2024-03-01', reapplyFrom: '2024-05-30' });
    // Earlier revisions are kept as they were.
    expect(pc[0]).toEqual(Object.fromEntries(Object.entries(rev1).filter(([k]) => k !== 'pk' && k !== 'sk')));
  });
});

describe('two final evaluations at once', () => {
  const oneRevisionEach = async (season: Season) => {
    const { current, revisions } = await decisionsTable(season);
    expect(current.map((d) => [d.sk, d.revision])).toEqual([
      ['PA', 1],
      ['PB', 1],
      ['PC', 1],
      ['PD', 1],
    ]);
    expect(revisions.map((r) => [r.providerId, r.sk])).toEqual([
      ['PA', '000001'],
      ['PB', '000001'],
      ['PC', '000001'],
      ['PD', '000001'],
    ]);
    expect(verdicts(await season.stores.decisions.current(CAMPAIGN))).toEqual(FIRST);
  };

  it('Promise.all of two runs records exactly one revision per provider', async () => {
    const season = await finalSeason();
    const [a, b] = await Promise.all([season.evaluate(), season.evaluate()]);
    expect(a.revisionsCreated + b.revisionsCreated).toBe(4);
    expect(a.unchanged + b.unchanged).toBe(4);
    expect(verdicts(a.assessments)).toEqual(FIRST);
    expect(verdicts(b.assessments)).toEqual(FIRST);
    await oneRevisionEach(season);
  });

  it('two runs that both read "no current decision" before either writes still record one revision each', async () => {
    // Holds every run at its read of the current decisions until two runs are there, so both decide
    // against nothing and race on the conditional revision writes.
    let arrived = 0;
    let release!: () => void;
    const bothThere = new Promise<void>((r) => (release = r));
    class HeldDecisions extends DecisionStore {
      override async current(campaignId: string) {
        if (++arrived >= 2) release();
        await Promise.race([bothThere, new Promise((r) => setTimeout(r, 15_000))]);
        return super.current(campaignId);
      }
    }
    const season = await finalSeason({ decisions: (db, tables) => new HeldDecisions(db, tables) });
    const [a, b] = await Promise.all([season.evaluate(), season.evaluate()]);
    expect(arrived).toBe(2);
    expect(a.revisionsCreated + b.revisionsCreated).toBe(4);
    expect(verdicts(a.assessments)).toEqual(FIRST);
    expect(verdicts(b.assessments)).toEqual(FIRST);
    for (const r of [...a.assessments, ...b.assessments]) expect(r.revision).toBe(1);
    await oneRevisionEach(season);
  });
});
