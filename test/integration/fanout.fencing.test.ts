/**
 * A shard held past its run's end (issue 21 item 2). The steps go through the aggregate function's
 * `step` payloads, as the state machine sends them: run 1 plans and starts its shard, whose store-counts
 * write is held in flight; run 1's lease runs out; run 2 takes the lock (a higher fencing token) and
 * counts. Released, run 1's write is refused (LockLostError), its finish too, and run 2's counts stand.
 * Barriers, not sleeps.
 */
import { describe, expect, it } from 'vitest';
import { RENEWAL_2024 } from '../support/campaigns.ts';
import { AggregateStore, type FencedWrite, type FencingToken, type StoreCounts } from '#shared/store/aggregates.ts';
import { FANOUT } from '#shared/config.ts';
import { aggregate, type AggregatePlan, type AggregateShardResult } from '#shared/usecases/aggregate.ts';
import { makeAggregate } from '#functions/handlers/aggregate.ts';
import { deferred } from '../support/barrier.ts';
import { CAMPAIGN, dailyOrders, ev, newSeason } from '../support/pipeline.ts';

const c = RENEWAL_2024;

/** An aggregates store whose first store-counts write waits at a barrier once it has been asked for. */
class HeldCounts extends AggregateStore {
  readonly arrived = deferred();
  readonly release = deferred();
  readonly answer = deferred<FencedWrite>();
  private held = false;
  override async putStoreCounts(campaignId: string, stores: Map<string, StoreCounts>, computedAt: string, fence: FencingToken): Promise<FencedWrite> {
    if (this.held) return super.putStoreCounts(campaignId, stores, computedAt, fence);
    this.held = true;
    this.arrived.resolve();
    await this.release.promise;
    const w = await super.putStoreCounts(campaignId, stores, computedAt, fence);
    this.answer.resolve(w);
    return w;
  }
}

describe('a shard held past its run’s end', () => {
  it('run 1’s shard is held; run 2 takes the lock with a higher token and counts; released, the held shard’s write is refused, run 1’s finish too, and run 2’s totals stand', async () => {
    const s = await newSeason();
    await s.feed([ev.provider('P1', '2023-01-01T00:00:00+08:00', '2023-02-01T00:00:00+08:00'), ev.bind('P1', 'S1', '2023-11-01T00:00:00+08:00'), ...dailyOrders('A', 'S1', '2024-01-10', 4)]);
    expect(await s.aggregate()).toMatchObject({ status: 'done', mode: 'full', fence: 1 });
    await s.feed(dailyOrders('B', 'S1', '2024-01-20', 3));

    // Run 1: the state machine's plan, which takes the lock with a lease for the whole execution (FANOUT.executionLeaseMs).
    const held = new HeldCounts(s.db, s.tables);
    const run1 = makeAggregate({ source: s.stores.source, aggregates: held, now: () => new Date() }, { overlapMs: 0 });
    const plan = (await run1({ campaignId: CAMPAIGN, step: 'plan' })) as Extract<AggregatePlan, { status: 'planned' }>;
    expect(plan).toMatchObject({ status: 'planned', fence: 2, context: { mode: 'incremental', ordersSeen: 3 } });
    expect(plan.shards).toEqual([{ shard: { kind: 'stores', bucket: 0, buckets: 1 } }]);
    const shard = run1({ campaignId: CAMPAIGN, step: 'shard', runId: plan.runId, fence: plan.fence, shard: plan.shards[0]!.shard, context: plan.context }).then(
      (r) => ({ ok: true as const, r }),
      (err: unknown) => ({ ok: false as const, err: err as Error }),
    );
    await held.arrived.promise;

    // Two more orders; run 2 (the whole job), later than run 1's lease (its execution stalled past
    // its timeout), takes the lock and counts all five.
    await s.feed(dailyOrders('C', 'S1', '2024-02-01', 2));
    const later = () => new Date(Date.now() + FANOUT.executionLeaseMs + 60_000);
    const run2 = await aggregate(c, { ...s.stores, now: later }, { overlapMs: 0 });
    expect(run2).toMatchObject({ status: 'done', mode: 'incremental', fence: 3, ordersSeen: 5 });
    const [after2] = await s.stores.aggregates.providerTotalsOf(c, ['P1']);
    expect(after2).toMatchObject({ paidOrders: 9 });

    // Run 1's held write lands now, with its older token: refused, and the shard fails with LockLostError.
    held.release.resolve();
    expect(await held.answer.promise).toEqual({ ok: false, written: 0, refused: ['S1'], skipped: 0 });
    const outcome = await shard;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.err.name).toBe('LockLostError');
      expect(outcome.err.message).toMatch(/fencing token 2.*store counts of S1 were refused/);
    }
    // A retried finish of run 1 (as if its shard had reported done) cannot move the watermark either.
    const stale: AggregateShardResult = { status: 'done', shard: plan.shards[0]!.shard, counted: { ordersRead: 7, storesRecounted: 1, storeDaysWritten: 3 }, touched: ['P1'], rebind: [] };
    await expect(run1({ campaignId: CAMPAIGN, step: 'finish', runId: plan.runId, fence: plan.fence, results: [stale], context: plan.context })).rejects.toMatchObject({ name: 'LockLostError' });

    // Run 2's counts stand: its totals, its token on the store, its watermark; and the lock is free.
    expect((await s.stores.aggregates.providerTotalsOf(c, ['P1']))[0]).toMatchObject({ paidOrders: 9 });
    expect((await s.stores.aggregates.storeCounts(CAMPAIGN, ['S1'])).get('S1')).toMatchObject({ fence: 3 });
    expect(await s.stores.aggregates.watermark(CAMPAIGN)).toBe(run2.status === 'done' ? run2.window.to : '');
    expect(await s.stores.aggregates.lockHolder(CAMPAIGN)).toBeUndefined();
    // And the next run finds nothing left to do.
    expect(await aggregate(c, { ...s.stores, now: later }, { overlapMs: 0 })).toMatchObject({ status: 'done', storeDaysWritten: 0 });
  });

  it('a step payload is checked: a bad shard descriptor names its field, and nothing runs', async () => {
    const s = await newSeason();
    const handler = makeAggregate({ ...s.stores, now: () => new Date() }, { overlapMs: 0 });
    await expect(handler({ campaignId: CAMPAIGN, step: 'shard', runId: 'r', fence: 1, shard: { kind: 'stores', bucket: 0 }, context: {} })).rejects.toThrow(/^shard: /);
    await expect(handler({ campaignId: CAMPAIGN, step: 'nap' })).rejects.toThrow(/^step: /);
    expect(await s.stores.aggregates.lockHolder(CAMPAIGN)).toBeUndefined();
  });
});
