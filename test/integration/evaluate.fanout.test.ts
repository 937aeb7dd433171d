/**
 * The evaluation past one invocation (issue 21): plan → shards → finish.
 *  - A shard held past its run's end: run 1 plans and starts its shard through the evaluate
 *    function's `step` payloads (as the state machine sends them), and its revision write is held in
 *    flight; new orders arrive and run 2 (a higher fencing token) decides and records. Released, run
 *    1's write is refused (LockLostError), and run 2's decision stands. Barriers, not sleeps.
 *  - A step payload is checked field by field before anything runs.
 *  - Over random seasons and shard sizes, the in-process run over several shards decides as the
 *    reference evaluator (test/support/reference.ts) does, and no shard reads more providers than
 *    its size.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { StoredDecision } from '#shared/model.ts';
import { DecisionStore, type RevisionWrite } from '#shared/store/decisions.ts';
import { evaluate, type EvaluatePlan, type EvaluateShardResult } from '#shared/usecases/evaluate.ts';
import { RENEWAL_2024 } from '../support/campaigns.ts';
import { deferred } from '../support/barrier.ts';
import { render } from '../support/events.ts';
import { AT, arbSeason, CAMPAIGN, dailyOrders, ev, newSeason, oracle, verdicts } from '../support/pipeline.ts';

const c = RENEWAL_2024;
const by = { kind: 'person' as const, id: 'fanout-test' };

/** A decisions store whose first revision write waits at a barrier once it has been asked for. */
class HeldRevision extends DecisionStore {
  readonly arrived = deferred();
  readonly release = deferred();
  readonly answers: RevisionWrite[] = [];
  private held = false;
  override async addRevision(d: StoredDecision, fence?: number): Promise<RevisionWrite> {
    if (!this.held) {
      this.held = true;
      this.arrived.resolve();
      await this.release.promise;
      const w = await super.addRevision(d, fence);
      this.answers.push(w);
      return w;
    }
    return super.addRevision(d, fence);
  }
}

describe('an evaluation shard held past its run’s end', () => {
  it('run 1’s shard decides P1 revoked and is held at its write; run 2 counts the new orders and records P1 retained; released, run 1’s write is refused and run 2’s decision stands', async () => {
    let held: HeldRevision | undefined;
    const s = await newSeason({ decisions: (db, tables) => (held = new HeldRevision(db, tables)) });
    await s.feed([ev.provider('P1', AT.certified, AT.regularized), ev.bind('P1', 'S1', AT.boundBefore), ev.paid('D1', 'P1', 10_000_000, AT.depositPaid), ...dailyOrders('A', 'S1', '2024-01-10', 4)]);
    expect(await s.aggregate()).toMatchObject({ status: 'done', mode: 'full', fence: 1 });

    // Run 1: the state machine's plan (its catch-up takes the lock with token 2), then its one shard.
    const plan = (await s.evaluate({ campaignId: CAMPAIGN, step: 'plan', thresholdOrders: 5, requestedBy: 'ops' })) as unknown as Extract<EvaluatePlan, { status: 'planned' }>;
    expect(plan).toMatchObject({ status: 'planned', fence: 2, context: { mode: 'final', thresholdOrders: 5, providers: 1, providersRead: 0 } });
    expect(plan.shards).toEqual([{ shard: { kind: 'range', first: 'P1', last: 'P1' } }]);
    // What travels between steps is JSON, as Step Functions passes it.
    const step = JSON.parse(JSON.stringify({ campaignId: CAMPAIGN, step: 'shard', runId: plan.runId, fence: plan.fence, shard: plan.shards[0]!.shard, context: plan.context })) as unknown;
    const shard = s.evaluate(step).then(
      (r) => ({ ok: true as const, r }),
      (err: unknown) => ({ ok: false as const, err: err as Error }),
    );
    await held!.arrived.promise;

    // Three more orders; run 2 (the whole job, a newer token) decides P1 retained on 7 and records it.
    await s.feed(dailyOrders('B', 'S1', '2024-02-01', 3));
    const run2 = await s.evaluate({ campaignId: CAMPAIGN, thresholdOrders: 5, requestedBy: 'ops' });
    expect(run2.aggregation).toMatchObject({ status: 'done', fence: 3 });
    expect(run2.assessments).toEqual([expect.objectContaining({ providerId: 'P1', outcome: 'retained', paidOrders: 7, revision: 1 })]);

    // Run 1's held write lands now: revision 1 is taken, and the next on top of run 2's (token 3) is refused.
    held!.release.resolve();
    const outcome = await shard;
    expect(held!.answers).toEqual(['taken']);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.err.name).toBe('LockLostError');
      expect(outcome.err.message).toMatch(/newer evaluation of renewal-2024 recorded P1's decision while this run \(fencing token 2\)/);
    }
    const [current] = await s.stores.decisions.currentOf(CAMPAIGN, ['P1']);
    expect(current).toMatchObject({ outcome: 'retained', paidOrders: 7, revision: 1 });
    expect((await s.stores.decisions.revisions(CAMPAIGN, 'P1')).map((r) => [r.revision, r.outcome, r.fence])).toEqual([[1, 'retained', 3]]);
    expect(
      (await s.stores.decisions.runs(CAMPAIGN)).map((r) => r.runId),
      'only run 2 logged its run',
    ).toEqual([run2.runId]);
    expect(s.mail).toHaveBeenCalledTimes(1);
  });

  it('the steps through the function equal the whole job: plan, each shard (JSON between them), finish', async () => {
    const lines = [
      ...['P1', 'P2', 'P3'].flatMap((p, i) => [ev.provider(p, AT.certified, AT.regularized), ev.bind(p, `S${i}`, AT.boundBefore), ...dailyOrders(`${p}o`, `S${i}`, '2024-01-05', 2 + i * 2)]),
      ev.paid('D1', 'P2', 10_000_000, AT.depositPaid),
    ];
    const s = await newSeason();
    await s.feed(lines);
    const plan = (await s.evaluate({ campaignId: CAMPAIGN, step: 'plan', thresholdOrders: 4, requestedBy: 'ops' })) as unknown as Extract<EvaluatePlan, { status: 'planned' }>;
    const run = { campaignId: CAMPAIGN, runId: plan.runId, fence: plan.fence, context: plan.context };
    const results: EvaluateShardResult[] = [];
    for (const { shard } of plan.shards) results.push((await s.evaluate(JSON.parse(JSON.stringify({ ...run, step: 'shard', shard })) as unknown)) as unknown as EvaluateShardResult);
    const finish = await s.evaluate(JSON.parse(JSON.stringify({ ...run, step: 'finish', results })) as unknown);
    expect(finish).toMatchObject({ mode: 'final', counts: { retained: 1, revoked: 2, not_assessed: 0 }, revisionsCreated: 3, shards: 1, maxProvidersPerInvocation: 3, mailRequested: true });
    expect(finish).not.toHaveProperty('assessments');
    expect(verdicts(await s.stores.decisions.current(CAMPAIGN))).toEqual(oracle(lines, 4));
  });

  it('a step payload is checked: a bad shard descriptor or context names its field, a dry run is refused as steps, and nothing runs', async () => {
    const s = await newSeason();
    await expect(s.evaluate({ campaignId: CAMPAIGN, step: 'shard', runId: 'r', fence: 1, shard: { kind: 'range', first: 'P1' }, context: {} })).rejects.toThrow(/^shard: /);
    await expect(s.evaluate({ campaignId: CAMPAIGN, step: 'plan', dryRun: true })).rejects.toThrow(/^dryRun: a dry run runs as one invocation/);
    await expect(s.evaluate({ campaignId: CAMPAIGN, step: 'abandon', runId: 'r', fence: 1 })).rejects.toThrow(/^step: /);
    await expect(s.evaluate({ campaignId: CAMPAIGN, step: 'finish', runId: 'r', fence: 1, context: { mode: 'final' }, results: [] })).rejects.toThrow(/^context\./);
    expect(await s.stores.aggregates.lockHolder(CAMPAIGN)).toBeUndefined();
    expect(await s.stores.decisions.runs(CAMPAIGN)).toEqual([]);
  });
});

describe('the in-process evaluation over several shards', () => {
  it('decides as the reference evaluator does, whatever the shard size; every shard reads at most its size', async () => {
    await fc.assert(
      fc.asyncProperty(arbSeason(), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 8 }), async (events, size, thresholdOrders) => {
        const s = await newSeason();
        expect(await s.feed(events.map((e) => render(e)))).toMatchObject({ rejected: 0, failed: 0 });
        const r = await evaluate(c, { ...s.stores, now: () => new Date(), overlapMs: 0 }, { by, thresholdOrders }, { providersShardSize: size, concurrency: 2 });
        const providers = new Set(events.flatMap((e) => (e.type === 'provider.upserted' ? [e.providerId] : []))).size;
        expect(r.shards).toBe(Math.ceil(providers / size));
        expect(r.maxProvidersPerInvocation).toBeLessThanOrEqual(size);
        expect(r.assessments.map((a) => a.providerId)).toEqual([...r.assessments.map((a) => a.providerId)].sort((a, b) => a.localeCompare(b)));
        expect(verdicts(r.assessments)).toEqual(oracle(events, thresholdOrders));
      }),
      { numRuns: 25 },
    );
  }, 240_000);
});
