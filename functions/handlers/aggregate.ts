import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { METRIC } from '#shared/metric-names.ts';
import { logger, metrics } from '#shared/observability.ts';
import { aggregatePayload, aggregateStepPayload, parsePayload } from '#shared/payloads.ts';
import { campaignRegistry } from '#shared/campaigns.ts';
import { aggregate, type AggregateDeps, type AggregateResult } from '#shared/usecases/aggregate.ts';
import { aggregationStep, type AggregationStepResult } from '#shared/usecases/fanout.ts';

/**
 * Order aggregation: run by the season's recurring schedule with `{"campaignId": …}` and by ops
 * (`renewal aggregate`). Safe to run twice or at once: a second concurrent run answers `busy`.
 */
type Deps = Omit<AggregateDeps, 'now'> & { now?: () => Date };

/** The aggregation's configuration (AGGREGATION_OVERLAP_SECONDS on Lambda). */
export interface AggregateConfig {
  /** How far each run re-reads before the last watermark (ms). */
  overlapMs: number;
}

/**
 * The handler over given stores; the CLI hands in a progress bar and says who runs it. A run that
 * finds the lock held answers `busy` with the holder (the CLI exits 75 on it); the schedule's next
 * run catches up.
 */
/** A whole-job payload answers the job's result; a step payload the step's (shared/usecases/fanout.ts). */
export interface AggregateHandler {
  (event: { step: string; campaignId: string }, context?: Context): Promise<AggregationStepResult>;
  (event: unknown, context?: Context): Promise<AggregateResult>;
}

export const makeAggregate = (deps: Deps, config: AggregateConfig): AggregateHandler => handlerOf(deps, config) as AggregateHandler;

const handlerOf = (deps: Deps, { overlapMs }: AggregateConfig) =>
  async function aggregateHandler(event: unknown, context?: Context): Promise<AggregateResult | AggregationStepResult> {
    const holder = deps.holder ?? (context ? `${context.functionName} request ${context.awsRequestId}` : undefined);
    // A state machine's step (plan, shard, finish, abandon: shared/usecases/fanout.ts); without `step`, the whole job.
    if (typeof event === 'object' && event !== null && 'step' in event) {
      const p = parsePayload(aggregateStepPayload, event);
      const r = await aggregationStep(campaignRegistry().require(p.campaignId), { ...deps, ...(holder ? { holder } : {}), now: deps.now ?? (() => new Date()) }, p, { overlapMs });
      logger.info('aggregation step', { step: p.step, status: r.status });
      if (r.status === 'busy') metrics.addMetric(METRIC.aggregationRunSkipped, MetricUnit.Count, 1);
      if (p.step === 'finish' && r.status === 'done' && 'lagSeconds' in r) record(r);
      return r;
    }
    const payload = parsePayload(aggregatePayload, event);
    const result = await aggregate(
      campaignRegistry().require(payload.campaignId),
      { ...deps, ...(holder ? { holder } : {}), now: deps.now ?? (() => new Date()) },
      { full: payload.full ?? false, overlapMs },
    );
    logger.info('aggregation', { result });
    if (result.status === 'done') record(result);
    return result;
  };

function record(result: Extract<AggregateResult, { status: 'done' }>) {
  metrics.addMetric(METRIC.ordersAggregated, MetricUnit.Count, result.ordersSeen);
  metrics.addMetric(METRIC.storeDaysWritten, MetricUnit.Count, result.storeDaysWritten);
  if (result.lagSeconds !== null) metrics.addMetric(METRIC.aggregationLagSeconds, MetricUnit.Seconds, result.lagSeconds);
}
