import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { Context } from 'aws-lambda';
import { overlapFromEnv, tableNamesFromEnv, thresholdFromEnv } from '#shared/config.ts';
import { stores } from '#shared/deps.ts';
import { METRIC } from '#shared/metric-names.ts';
import { logger, metrics } from '#shared/observability.ts';
import { evaluatePayload, parsePayload } from '#shared/payloads.ts';
import { getCampaign } from '#shared/rules/campaign.ts';
import { evaluate, type EvaluateDeps, type EvaluateResult } from '#shared/usecases/evaluate.ts';

/**
 * Period-end evaluation: invoked by the one-time EventBridge schedule with `{"campaignId": …}` and by
 * ops with the OPS.md payload. Final decisions hand the outcome mail to the notify function
 * (asynchronous invoke), so no one has to send it by hand; a final revision that changes the public
 * delisting list hands its publication to the publish function the same way.
 */
type Deps = Omit<EvaluateDeps, 'now'>;

/** The handler over given stores and mail hand-off: the CLI runs it locally with an in-process notify. */
export const makeEvaluate = (deps: Deps, overlapMs = overlapFromEnv(), configuredThreshold = thresholdFromEnv()) =>
  async function evaluateHandler(event: unknown, context?: Context): Promise<EvaluateResult> {
    const p = parsePayload(evaluatePayload, event);
    const holder = deps.holder ?? (context ? `${context.functionName} request ${context.awsRequestId}` : undefined);
    const result = await evaluate(
      getCampaign(p.campaignId)!,
      { overlapMs, ...deps, ...(holder ? { holder } : {}), now: () => new Date() },
      {
        // The payload's threshold wins over the deployment's, which wins over the campaign's placeholder.
        ...((p.thresholdOrders ?? configuredThreshold) !== undefined ? { thresholdOrders: (p.thresholdOrders ?? configuredThreshold)! } : {}),
        ...(p.providerIds ? { providerIds: p.providerIds } : {}),
        ...(p.dryRun !== undefined ? { dryRun: p.dryRun } : {}),
        ...(p.asOf ? { asOf: p.asOf } : {}),
        // The schedule sends only the campaign; a person says who they are.
        by: p.requestedBy ? { kind: 'person', id: p.requestedBy } : { kind: 'schedule', id: 'eventbridge-scheduler' },
      },
    );
    logger.info('evaluation', { mode: result.mode, counts: result.counts, revisionsCreated: result.revisionsCreated });
    if (result.mode === 'final') {
      metrics.addMetric(METRIC.providersRetained, MetricUnit.Count, result.counts.retained);
      metrics.addMetric(METRIC.providersRevoked, MetricUnit.Count, result.counts.revoked);
      metrics.addMetric(METRIC.providersNotAssessed, MetricUnit.Count, result.counts.not_assessed);
      metrics.addMetric(METRIC.decisionRevisions, MetricUnit.Count, result.revisionsCreated);
    }
    return result;
  };

// On Lambda the outcome mail is the notify function's job and the public notice the publish
// function's, each invoked asynchronously; the stack sets NOTIFY_FUNCTION_NAME and
// PUBLISH_FUNCTION_NAME. Without one (a misconfigured deployment) the run says mailRequested: false
// or publicationRequested: false.
const notifyFunction = process.env.NOTIFY_FUNCTION_NAME;
const publishFunction = process.env.PUBLISH_FUNCTION_NAME;
const lambda = new LambdaClient({});
const invokeAsync = (FunctionName: string, payload: object) => lambda.send(new InvokeCommand({ FunctionName, InvocationType: 'Event', Payload: JSON.stringify(payload) }));
export const evaluateHandler = makeEvaluate({
  ...stores(tableNamesFromEnv()),
  ...(notifyFunction ? { requestOutcomeMail: async (campaignId: string) => void (await invokeAsync(notifyFunction, { campaignId, kind: 'outcome' })) } : {}),
  ...(publishFunction ? { requestPublication: async (campaignId: string) => void (await invokeAsync(publishFunction, { campaignId })) } : {}),
});

export const handler = middy(evaluateHandler).use(injectLambdaContext(logger)).use(logMetrics(metrics));
