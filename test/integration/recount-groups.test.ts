/**
 * A full recount planned as groups (shared/usecases/recount-groups.ts), forced on a small season by a
 * tiny `inlineShardLimit` and `ordersShardSize`: in-process it counts what the literal season holds;
 * through the step payloads, a retried shard adds nothing twice, and a shard held past its run's end
 * (a newer run's fencing token) adds nothing to the newer run. Barriers, not sleeps.
 */
import { describe, expect, it } from 'vitest';
import { RENEWAL_2024 } from '../support/campaigns.ts';
import { FANOUT } from '#shared/config.ts';
import { AggregateStore, type FencingToken, type ShardFigures } from '#shared/store/aggregates.ts';
import { aggregate, type AggregateDeps, type AggregateOptions, type AggregateResult } from '#shared/usecases/aggregate.ts';
import { aggregationStep } from '#shared/usecases/fanout.ts';
import type { AggregateGroupPlan } from '#shared/usecases/recount-groups.ts';
import { aggregateStepPayload, parsePayload } from '#shared/payloads.ts';
import { deferred } from '../support/barrier.ts';
import { AT, CAMPAIGN, dailyOrders, ev, newSeason, withPk, type Season } from '../support/pipeline.ts';

const c = RENEWAL_2024;

/**
 * P1 is bound to S1..S4, P2 to S4: one paid order a day, 4 + 3 + 2 + 5 = 14 orders on 14 store-days.
 * 14 orders at 2 a shard, half again over the estimate: 11 shards, more than the limit of 3, so 3
 * groups of at most 4.
 */
const LINES = [
  ...ev.providers(['P1', 'P2'], AT.certified, AT.regularized),
  ...ev.binds('P1', ['S1', 'S2', 'S3', 'S4'], AT.boundBefore),
  ev.bind('P2', 'S4', AT.boundBefore),
  ...dailyOrders('A', 'S1', '2023-12-05', 4),
  ...dailyOrders('B', 'S2', '2024-01-05', 3),
  ...dailyOrders('C', 'S3', '2024-02-05', 2),
  ...dailyOrders('D', 'S4', '2024-02-20', 5),
];
const GROUPED: AggregateOptions = { ordersShardSize: 2, inlineShardLimit: 3, shardGroupSize: 4, overlapMs: 0 };
const EXPECTED = { mode: 'full', shards: 11, ordersSeen: 14, storesRecounted: 4, storeDaysWritten: 14, providersUpdated: 2 } as const;

async function fed(): Promise<Season> {
  const s = await newSeason();
  expect(await s.feed(LINES)).toMatchObject({ accepted: LINES.length, rejected: 0 });
  return s;
}

async function paidOrders(s: Season): Promise<Record<string, number>> {
  return Object.fromEntries((await s.stores.aggregates.providerTotals(c)).map((t) => [t.providerId, t.paidOrders]));
}

/** One step as the state machine sends it: the payload checked as the function checks it, the answer as JSON. */
async function step(deps: AggregateDeps, payload: unknown): Promise<Record<string, unknown>> {
  const r = await aggregationStep(c, deps, parsePayload(aggregateStepPayload, payload), GROUPED);
  return JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
}

const shardPayload = (plan: AggregateGroupPlan, segment: number) => ({
  campaignId: CAMPAIGN,
  step: 'shard',
  runId: plan.runId,
  fence: plan.fence,
  shard: { kind: 'segment', segment, segments: plan.segments },
  context: plan.context,
});
const finishPayload = (plan: AggregateGroupPlan) => ({ campaignId: CAMPAIGN, step: 'finish', runId: plan.runId, fence: plan.fence, context: plan.context });

/** An aggregates store whose first shard-figures record waits at a barrier once it has been asked for. */
class HeldFigures extends AggregateStore {
  readonly arrived = deferred();
  readonly release = deferred();
  readonly answer = deferred<boolean>();
  private held = false;
  override async putShardFigures(campaignId: string, fence: FencingToken, segment: number, figures: ShardFigures, now: Date): Promise<boolean> {
    if (this.held) return super.putShardFigures(campaignId, fence, segment, figures, now);
    this.held = true;
    this.arrived.resolve();
    await this.release.promise;
    const r = await super.putShardFigures(campaignId, fence, segment, figures, now);
    this.answer.resolve(r);
    return r;
  }
}

describe('a full recount planned as groups', () => {
  it('in-process: the groups’ shards count what the season holds, and finish sums the figures they recorded in the store', async () => {
    const s = await fed();
    const seen: number[] = [];
    const r = await aggregate(c, { ...s.stores, now: () => new Date(), progress: (done, total, phase) => phase === 'shards' && seen.push(done / total) }, { ...GROUPED, full: true });
    expect(r).toMatchObject({ status: 'done', fence: 1, ...EXPECTED });
    expect(seen.at(-1)).toBe(1);
    expect(await paidOrders(s)).toEqual({ P1: 14, P2: 5 });
    // One figures item per shard, under the run's token.
    expect(withPk(await s.scan('aggregates'), `RF#${CAMPAIGN}#1`)).toHaveLength(11);
    // The same season recounted inline (the default limit) reads the same orders and stores, and changes nothing.
    expect(await aggregate(c, { ...s.stores, now: () => new Date() }, { full: true, ordersShardSize: 2, overlapMs: 0 })).toMatchObject({
      status: 'done',
      shards: 11,
      ordersSeen: 14,
      storesRecounted: 4,
      storeDaysWritten: 0,
    });
  });

  it('the plan carries groups of shard indices, not shards; a small plan keeps its shards', async () => {
    const s = await fed();
    const deps = { ...s.stores, now: () => new Date() };
    const plan = (await step(deps, { campaignId: CAMPAIGN, step: 'plan', full: true })) as unknown as AggregateGroupPlan;
    expect(plan).toMatchObject({ status: 'planned', mode: 'groups', segments: 11, fence: 1, context: { mode: 'full', groupedSegments: 11 } });
    expect(plan.groups).toEqual([
      { from: 0, to: 3 },
      { from: 4, to: 7 },
      { from: 8, to: 10 },
    ]);
    expect(plan).not.toHaveProperty('shards');
    expect(await step(deps, { campaignId: CAMPAIGN, step: 'abandon', runId: plan.runId, fence: plan.fence, context: plan.context })).toEqual({ status: 'abandoned', released: true });
    const small = await aggregationStep(c, deps, { campaignId: CAMPAIGN, step: 'plan', full: true }, { ordersShardSize: 2 });
    expect(small).toMatchObject({ status: 'planned', shards: expect.any(Array) });
    expect(small).not.toHaveProperty('mode');
  });

  it('a retried shard counts once: its first complete record stands, a second one is dropped', async () => {
    const s = await fed();
    const deps = { ...s.stores, now: () => new Date() };
    const plan = (await step(deps, { campaignId: CAMPAIGN, step: 'plan', full: true })) as unknown as AggregateGroupPlan;
    const answers = [];
    for (let segment = 0; segment < plan.segments; segment++) answers.push(await step(deps, shardPayload(plan, segment)));
    // Every shard again, as if each answer had been lost after its writes and the state machine retried it:
    // the retries find their counts written (they change no day) and their figures recorded.
    for (let segment = 0; segment < plan.segments; segment++) expect(await step(deps, shardPayload(plan, segment))).toMatchObject({ status: 'done', counted: { storeDaysWritten: 0 } });
    expect(answers.reduce((n, a) => n + (a.counted as ShardFigures).storeDaysWritten, 0)).toBe(14);
    const done = (await step(deps, finishPayload(plan))) as AggregateResult;
    expect(done).toMatchObject({ status: 'done', fence: 1, ...EXPECTED });
    expect(await paidOrders(s)).toEqual({ P1: 14, P2: 5 });
  });

  it('finish refuses a grouped run whose shards did not all record, naming the missing ones, and leaves the watermark', async () => {
    const s = await fed();
    const deps = { ...s.stores, now: () => new Date() };
    const plan = (await step(deps, { campaignId: CAMPAIGN, step: 'plan', full: true })) as unknown as AggregateGroupPlan;
    for (const segment of [0, 1, 2, 4, 5, 6, 7, 8, 9, 10]) await step(deps, shardPayload(plan, segment));
    await expect(step(deps, finishPayload(plan))).rejects.toMatchObject({ name: 'ShardsMissingError', message: expect.stringMatching(/figures from 10 of its 11 shards; missing: 3:/) });
    expect(await s.stores.aggregates.watermark(CAMPAIGN)).toBeUndefined();
    // A finish without results is refused for an inline run's context (the results are its only figures).
    const { groupedSegments: _g, ...inline } = plan.context;
    await expect(step(deps, { ...finishPayload(plan), context: inline })).rejects.toThrow(/^results: is required/);
  });

  it('a shard held past its run’s end records under its own run’s token: the newer run’s figures and totals stand, the older run cannot finish', async () => {
    const s = await fed();
    const held = new HeldFigures(s.db, s.tables);
    const run1Deps = { source: s.stores.source, aggregates: held, now: () => new Date() };
    const plan1 = (await step(run1Deps, { campaignId: CAMPAIGN, step: 'plan', full: true })) as unknown as AggregateGroupPlan;
    // Run 1's shard 0 has written its store counts and is held as it records its figures.
    const shard = step(run1Deps, shardPayload(plan1, 0));
    await held.arrived.promise;

    // Later than run 1's lease: run 2 takes the lock with a higher token and runs every shard.
    const later = { ...s.stores, now: () => new Date(Date.now() + FANOUT.executionLeaseMs + 60_000) };
    const plan2 = (await step(later, { campaignId: CAMPAIGN, step: 'plan', full: true })) as unknown as AggregateGroupPlan;
    expect(plan2).toMatchObject({ mode: 'groups', fence: plan1.fence + 1 });
    for (let segment = 0; segment < plan2.segments; segment++) await step(later, shardPayload(plan2, segment));

    // Run 1's record lands now, before run 2's finish: under run 1's token, where run 2 never reads.
    held.release.resolve();
    expect(await held.answer.promise).toBe(true);
    await shard;
    const done = (await step(later, finishPayload(plan2))) as AggregateResult;
    expect(done).toMatchObject({ status: 'done', fence: plan2.fence, ...EXPECTED });
    expect(await paidOrders(s)).toEqual({ P1: 14, P2: 5 });
    const items = await s.scan('aggregates');
    expect(withPk(items, `RF#${CAMPAIGN}#${plan1.fence}`)).toHaveLength(1);
    expect(withPk(items, `RF#${CAMPAIGN}#${plan2.fence}`)).toHaveLength(11);

    // Run 1's next shard finds its lock gone and writes nothing; its finish cannot move the watermark.
    await expect(step(run1Deps, shardPayload(plan1, 1))).rejects.toMatchObject({ name: 'LockLostError' });
    await expect(step(run1Deps, finishPayload(plan1))).rejects.toMatchObject({ name: 'LockLostError' });
    expect(await s.stores.aggregates.watermark(CAMPAIGN)).toBe(done.status === 'done' ? done.window.to : '');
  });
});
