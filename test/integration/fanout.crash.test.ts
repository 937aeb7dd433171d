/**
 * An execution that dies between its shards and its finish (issue 21: "a run that still fails leaves
 * the watermark where it was, so the next run redoes it"). The shards have written store counts under
 * the run's token, but no provider total was summed and the watermark did not move. The next run
 * recounts the same stores and finds their counts already equal to the facts, so nothing "changed":
 * it must still sum the providers of every store a run wrote after the last finished one (the lock's
 * `doneFence`), or their totals would stay behind for good.
 */
import { describe, expect, it } from 'vitest';
import { RENEWAL_2024 } from '../support/campaigns.ts';
import { FANOUT } from '#shared/config.ts';
import { aggregate, type AggregatePlan } from '#shared/usecases/aggregate.ts';
import { makeAggregate } from '#functions/handlers/aggregate.ts';
import { CAMPAIGN, dailyOrders, ev, newSeason } from '../support/pipeline.ts';

const c = RENEWAL_2024;

describe('an execution that dies after its shards, before its finish', () => {
  it('leaves the watermark and the totals where they were; the next run sums the providers whose store counts the dead run wrote', async () => {
    const s = await newSeason();
    await s.feed([
      ev.provider('P1', '2023-01-01T00:00:00+08:00', '2023-02-01T00:00:00+08:00'),
      ev.provider('P2', '2023-01-01T00:00:00+08:00', '2023-02-01T00:00:00+08:00'),
      ev.bind('P1', 'S1', '2023-11-01T00:00:00+08:00'),
      ev.bind('P2', 'S2', '2023-11-01T00:00:00+08:00'),
      ...dailyOrders('A', 'S1', '2024-01-10', 4),
      ...dailyOrders('B', 'S2', '2024-01-10', 2),
    ]);
    expect(await s.aggregate()).toMatchObject({ status: 'done', mode: 'full', fence: 1 });
    const watermark = await s.stores.aggregates.watermark(CAMPAIGN);
    await s.feed(dailyOrders('C', 'S1', '2024-01-20', 3));

    // The state machine's plan and its one shard, through the function's step payloads; then the
    // execution dies (its finish never runs).
    const fn = makeAggregate({ ...s.stores, now: () => new Date() }, { overlapMs: 0 });
    const plan = (await fn({ campaignId: CAMPAIGN, step: 'plan' })) as Extract<AggregatePlan, { status: 'planned' }>;
    expect(plan).toMatchObject({ status: 'planned', fence: 2, context: { mode: 'incremental', ordersSeen: 3, doneFence: 1 } });
    for (const { shard } of plan.shards) await fn({ campaignId: CAMPAIGN, step: 'shard', runId: plan.runId, fence: plan.fence, shard, context: plan.context });

    // What the dead run left: S1's counts under its token, P1's total and the watermark as before.
    expect((await s.stores.aggregates.storeCounts(CAMPAIGN, ['S1'])).get('S1')).toMatchObject({ fence: 2 });
    expect((await s.stores.aggregates.providerTotalsOf(c, ['P1']))[0]).toMatchObject({ paidOrders: 4 });
    expect(await s.stores.aggregates.watermark(CAMPAIGN)).toBe(watermark);

    // The next run, once the dead run's lease has run out: S1's counts are already right, and P1 is
    // summed all the same; P2, whose store no run after the last finish wrote, is left alone.
    const later = () => new Date(Date.now() + FANOUT.executionLeaseMs + 60_000);
    const next = await aggregate(c, { ...s.stores, now: later }, { overlapMs: 0 });
    expect(next).toMatchObject({ status: 'done', mode: 'incremental', fence: 3, storeDaysWritten: 0, providersUpdated: 1 });
    const totals = await s.stores.aggregates.providerTotalsOf(c, ['P1', 'P2']);
    expect(totals.map((t) => [t.providerId, t.paidOrders]).sort()).toEqual([
      ['P1', 7],
      ['P2', 2],
    ]);
    expect(await s.stores.aggregates.watermark(CAMPAIGN)).not.toBe(watermark);
    expect(await s.stores.aggregates.lockHolder(CAMPAIGN)).toBeUndefined();
  });
});
