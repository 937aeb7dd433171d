import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { METRIC } from '#shared/metric-names.ts';
import { logger, metrics } from '#shared/observability.ts';
import { aggregatePayload, parsePayload } from '#shared/payloads.ts';
import { campaignRegistry } from '#shared/campaigns.ts';
import { aggregate, type AggregateDeps, type AggregateResult } from '#shared/usecases/aggregate.ts';

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
export const makeAggregate = (deps: Deps, { overlapMs }: AggregateConfig) =>
  async function aggregateHandler(event: unknown, context?: Context): Promise<AggregateResult> {
    const payload = parsePayload(aggregatePayload, event);
    const holder = deps.holder ?? (context ? `${context.functionName} request ${context.awsRequestId}` : undefined);
    const result = await aggregate(
      campaignRegistry().require(payload.campaignId),
      { ...deps, ...(holder ? { holder } : {}), now: deps.now ?? (() => new Date()) },
      { full: payload.full ?? false, overlapMs },
    );
    logger.info('aggregation', { result });
    if (result.status === 'done') {
      metrics.addMetric(METRIC.ordersAggregated, MetricUnit.Count, result.ordersSeen);
      metrics.addMetric(METRIC.storeDaysWritten, MetricUnit.Count, result.storeDaysWritten);
      if (result.lagSeconds !== null) metrics.addMetric(METRIC.aggregationLagSeconds, MetricUnit.Seconds, result.lagSeconds);
    }
    return result;
  };
