import type { Campaign } from '../rules/campaign.ts';
import { FANOUT } from '../config.ts';
import type { AggregateStepPayload, EvaluateStepPayload } from '../payloads.ts';
import { aggregateShard, finishAggregation, planAggregation, type AggregateDeps, type AggregateOptions, type AggregatePlan, type AggregateResult, type AggregateShardResult } from './aggregate.ts';
import { heldRunLock, LockLostError } from './run-lock.ts';
import type { AggregateGroupPlan } from './recount-groups.ts';
import { finishEvaluation, type EvaluateDeps, type EvaluateRequest, type EvaluateResult } from './evaluate.ts';
import { planEvaluation, type EvaluatePlan, type PlanOptions } from './evaluate-plan.ts';
import { evaluateShard, type EvaluateShardResult } from './evaluate-shard.ts';

/**
 * The season jobs fanned out: the aggregation and the evaluation as plan → shards → finish, one
 * step per invocation when a state machine runs it (the `aggregate` or `evaluate` function with a
 * `step` payload, shared/payloads.ts), all three in one process with bounded concurrency when the
 * CLI, the tests or the bench run it (`aggregate()`, `evaluate()`: the same functions).
 *
 * Between steps only small JSON travels: the run's id (the lock's owner), its fencing token, the
 * shard descriptors (hash buckets, Scan segments, provider id ranges: never store or provider lists)
 * and a context of a few fields. No process heartbeats the aggregation's lock across invocations, so
 * plan takes it with a lease (FANOUT.executionLeaseMs) and every shard step renews it: a run keeps the
 * lock while its shards make progress, however long a full recount takes, and a dead execution frees
 * it a lease later. A failed shard is retried by the
 * state machine (counts are recomputed, never incremented); one that fails for good leads to
 * `abandon`, which gives the lock back without moving the watermark (without it, the lease runs out).
 * A shard of a run that lost its lock, or one retried after its run ended, has its writes refused by
 * the newer run's higher token, and fails with LockLostError (not to be retried).
 */

export type AggregationStepResult = AggregatePlan | AggregateGroupPlan | AggregateShardResult | AggregateResult | { status: 'abandoned'; released: boolean };

export async function aggregationStep(c: Campaign, deps: AggregateDeps, p: AggregateStepPayload, opts: AggregateOptions = {}): Promise<AggregationStepResult> {
  switch (p.step) {
    case 'plan':
      return planAggregation(c, deps, { ...opts, ...(p.full !== undefined ? { full: p.full } : {}) }, opts.leaseMs ?? FANOUT.executionLeaseMs);
    case 'shard':
      // The shards are the run's heartbeat: each renews the lease, so a recount of many hours keeps its lock while it makes progress.
      if (!(await deps.aggregates.renewLock(c.campaignId, p.runId, deps.now(), opts.leaseMs ?? FANOUT.executionLeaseMs)))
        throw new LockLostError(`the aggregation lock of ${c.campaignId} is no longer this run's (fencing token ${p.fence}): its lease ran out and a newer run took it; this shard writes nothing`);
      return aggregateShard(c, deps, { fence: p.fence, shard: p.shard, context: p.context }, opts);
    case 'finish':
      return finishAggregation(c, deps, { fence: p.fence, results: p.results, context: p.context }, lockOf(c, deps, p));
    case 'abandon':
      return { status: 'abandoned', released: await lockOf(c, deps, p).release() };
  }
}

/** The lock plan took, as a later step of the same run holds it: no heartbeat (the lease covers the execution). */
function lockOf(c: Campaign, deps: AggregateDeps, p: Extract<AggregateStepPayload, { runId: string }>) {
  return heldRunLock(deps.aggregates, c.campaignId, { owner: p.runId, fence: p.fence, through: p.context.watermark ?? undefined, doneFence: p.context.doneFence }, { now: deps.now, heartbeat: false });
}

/** What an evaluation step answers: a state machine's finish leaves the decisions out (they grow with providers; the report reads them). */
export type EvaluationStepResult = EvaluatePlan | EvaluateShardResult | Omit<EvaluateResult, 'assessments'>;

/**
 * The evaluation's steps, one per invocation (the `evaluate` function with a `step` payload). `req`
 * is the run's request as the handler read it from a plan payload (the threshold, the chosen
 * providers, who asks); shard and finish take everything from plan's context. A shard whose revision
 * lands on one a newer evaluation wrote fails with LockLostError (not retried); a plan that finds the
 * aggregation lock held past its wait answers `busy`.
 */
export async function evaluationStep(c: Campaign, deps: EvaluateDeps, p: EvaluateStepPayload, req: EvaluateRequest, opts: PlanOptions = {}): Promise<EvaluationStepResult> {
  switch (p.step) {
    case 'plan':
      return planEvaluation(c, deps, req, opts);
    case 'shard': {
      const { assessments: _assessments, ...done } = await evaluateShard(c, deps, { fence: p.fence, shard: p.shard, context: p.context });
      return done;
    }
    case 'finish': {
      const { assessments: _assessments, ...result } = await finishEvaluation(c, deps, { runId: p.runId, results: p.results, context: p.context });
      return result;
    }
  }
}
