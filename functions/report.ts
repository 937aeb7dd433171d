import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { tableNamesFromEnv } from '#shared/config.ts';
import { createDocumentClient } from '#shared/aws.ts';
import { logger } from '#shared/observability.ts';
import { parsePayload, reportPayload } from '#shared/payloads.ts';
import { DecisionStore } from '#shared/store/decisions.ts';
import { buildReport, type Report } from '#shared/usecases/report.ts';

/** The decisions as `renewal report --json` prints them, for `renewal report --aws`. Read only. */
const decisions = new DecisionStore(createDocumentClient(), tableNamesFromEnv());

export async function reportHandler(event: unknown): Promise<Report> {
  const { campaignId } = parsePayload(reportPayload, event);
  return buildReport(decisions, campaignId);
}

export const handler = middy(reportHandler).use(injectLambdaContext(logger));
