import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { createDocumentClient } from '#shared/aws.ts';
import { ENV, functionNameEnv, overlapEnv, thresholdEnv } from '#shared/config.ts';
import { stores } from '#shared/deps.ts';
import { campaignRegistry } from '#shared/campaigns.ts';
import { EVALUATE_NEEDS } from '#shared/usecases/evaluate.ts';
import { makeEvaluate } from './handlers/evaluate.ts';
import { lambdaEnvironment, lambdaHandler } from './lambda.ts';

/**
 * Lambda entry of the period-end evaluation (functions/handlers/evaluate.ts). On Lambda the outcome
 * mail is the notify function's job and the public notice the publish function's, each invoked
 * asynchronously: NOTIFY_FUNCTION_NAME and PUBLISH_FUNCTION_NAME are required, so a deployment
 * without them fails at start-up instead of deciding without telling anyone.
 */
const env = lambdaEnvironment('evaluate', EVALUATE_NEEDS, {
  overlapMs: overlapEnv,
  thresholdOrders: thresholdEnv,
  notifyFunction: functionNameEnv(ENV.notifyFunctionName, 'the function final decisions hand the outcome mail to'),
  publishFunction: functionNameEnv(ENV.publishFunctionName, 'the function a changed delisting list is handed to'),
});
const lambda = new LambdaClient({});
const invokeAsync = async (FunctionName: string, payload: object) => void (await lambda.send(new InvokeCommand({ FunctionName, InvocationType: 'Event', Payload: JSON.stringify(payload) })));

export const handler = lambdaHandler(
  makeEvaluate(
    {
      ...stores(env.tables, createDocumentClient()),
      // Seasons after the first: the campaigns before the one evaluated are read for their revocations.
      campaigns: () => campaignRegistry().list(),
      requestOutcomeMail: (campaignId) => invokeAsync(env.notifyFunction, { campaignId, kind: 'outcome' }),
      requestPublication: (campaignId) => invokeAsync(env.publishFunction, { campaignId }),
    },
    { overlapMs: env.overlapMs, ...(env.thresholdOrders !== undefined ? { thresholdOrders: env.thresholdOrders } : {}) },
  ),
);
