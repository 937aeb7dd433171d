import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { METRIC } from '#shared/metric-names.ts';
import { logger, metrics } from '#shared/observability.ts';
import { evaluatePayload, evaluateStepPayload, parsePayload, PayloadError, type EvaluatePayload } from '#shared/payloads.ts';
import { campaignRegistry } from '#shared/campaigns.ts';
import { evaluate, EvaluateInputError, type EvaluateDeps, type EvaluateRequest, type EvaluateResult } from '#shared/usecases/evaluate.ts';
import { evaluationStep, type EvaluationStepResult } from '#shared/usecases/fanout.ts';

/**
 * Period-end evaluation: invoked by the one-time EventBridge schedule with `{"campaignId": …}` and by
 * ops with the OPS.md payload. Final decisions hand the outcome mail to the notify function
 * (asynchronous invoke), so no one has to send it by hand; a final revision that changes the public
 * delisting list hands its publication to the publish function the same way. With a `step` (plan,
 * shard, finish) it runs one step of the evaluation's state machine (cdk/fanout.ts).
 */
type Deps = Omit<EvaluateDeps, 'now'>;

/** The evaluation's configuration (AGGREGATION_OVERLAP_SECONDS and THRESHOLD_ORDERS on Lambda). */
export interface EvaluateConfig {
  /** The catch-up aggregation's re-read window (ms). */
  overlapMs: number;
  /** The deployment's threshold, when ops set one: it stands in for a campaign file whose threshold is null; a payload's wins over both. */
  thresholdOrders?: number;
}

/**
 * The handler over given stores and hand-offs. On Lambda `requestOutcomeMail` and `requestPublication`
 * invoke the notify and publish functions (functions/evaluate.ts requires both); the CLI hands in
 * in-process ones; without one, the result says `mailRequested: false` (or `publicationRequested`).
 */
/** A whole-job payload answers the job's result; a step payload the step's (shared/usecases/fanout.ts). */
export interface EvaluateHandler {
  (event: { step: string; campaignId: string }, context?: Context): Promise<EvaluationStepResult>;
  (event: unknown, context?: Context): Promise<EvaluateResult>;
}

export const makeEvaluate = (deps: Deps, config: EvaluateConfig): EvaluateHandler => handlerOf(deps, config) as EvaluateHandler;

const handlerOf = (deps: Deps, { overlapMs, thresholdOrders: configuredThreshold }: EvaluateConfig) =>
  async function evaluateHandler(event: unknown, context?: Context): Promise<EvaluateResult | EvaluationStepResult> {
    const holder = deps.holder ?? (context ? `${context.functionName} request ${context.awsRequestId}` : undefined);
    const run = { overlapMs, ...deps, ...(holder ? { holder } : {}), now: () => new Date() };
    // A state machine's step (plan, shard, finish: shared/usecases/fanout.ts); without `step`, the whole job.
    if (typeof event === 'object' && event !== null && 'step' in event) {
      const p = parsePayload(evaluateStepPayload, event);
      const req = p.step === 'plan' ? requestOf(p, configuredThreshold) : { by: SCHEDULE };
      const r = await asPayloadError(() => evaluationStep(campaignRegistry().require(p.campaignId), run, p, req));
      logger.info('evaluation step', { step: p.step, status: 'status' in r ? r.status : r.mode });
      if ('status' in r && r.status === 'busy') metrics.addMetric(METRIC.evaluationRunSkipped, MetricUnit.Count, 1);
      if (p.step === 'finish' && 'mode' in r) record(r);
      return r;
    }
    const p = parsePayload(evaluatePayload, event);
    const result = await asPayloadError(() => evaluate(campaignRegistry().require(p.campaignId), run, requestOf(p, configuredThreshold)));
    record(result);
    return result;
  };

const SCHEDULE = { kind: 'schedule', id: 'eventbridge-scheduler' } as const;

/** The run's request from a payload, whole job or plan. */
function requestOf(p: Omit<EvaluatePayload, 'campaignId'>, configuredThreshold: number | undefined): EvaluateRequest {
  // The payload's threshold (or the `to` of its stated change) wins over the campaign file's; the deployment's stands in for a null one (RULES.md "threshold").
  const runThreshold = p.thresholdOrders ?? p.changeThreshold?.to;
  return {
    ...(runThreshold !== undefined ? { thresholdOrders: runThreshold } : {}),
    ...(configuredThreshold !== undefined ? { deploymentThresholdOrders: configuredThreshold } : {}),
    ...(p.changeThreshold ? { changeThreshold: p.changeThreshold } : {}),
    ...(p.providerIds ? { providerIds: p.providerIds } : {}),
    ...(p.dryRun !== undefined ? { dryRun: p.dryRun } : {}),
    ...(p.asOf ? { asOf: p.asOf } : {}),
    // The schedule sends only the campaign; a person says who they are.
    by: p.requestedBy ? { kind: 'person', id: p.requestedBy } : SCHEDULE,
  };
}

/** What only the stores can tell is wrong with the payload (unknown providers, an unstated threshold change): bad input. */
async function asPayloadError<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof EvaluateInputError) throw new PayloadError(err.message, { cause: err });
    throw err;
  }
}

function record(result: Omit<EvaluateResult, 'assessments'>) {
  logger.info('evaluation', {
    mode: result.mode,
    thresholdOrders: result.thresholdOrders,
    thresholdSource: result.thresholdSource,
    counts: result.counts,
    revisionsCreated: result.revisionsCreated,
    figuresOnly: result.figuresOnly,
    shards: result.shards,
    ...(result.thresholdChange ? { thresholdChange: result.thresholdChange } : {}),
  });
  if (result.mode === 'final') {
    metrics.addMetric(METRIC.providersRetained, MetricUnit.Count, result.counts.retained);
    metrics.addMetric(METRIC.providersRevoked, MetricUnit.Count, result.counts.revoked);
    metrics.addMetric(METRIC.providersNotAssessed, MetricUnit.Count, result.counts.not_assessed);
    metrics.addMetric(METRIC.decisionRevisions, MetricUnit.Count, result.revisionsCreated);
  }
}
