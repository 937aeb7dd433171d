import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { tableNamesFromEnv } from '#shared/config.ts';
import { createDocumentClient } from '#shared/aws.ts';
import { logger } from '#shared/observability.ts';
import { parsePayload, reportPayload } from '#shared/payloads.ts';
import { DecisionStore } from '#shared/store/decisions.ts';
import { OutboxStore } from '#shared/store/outbox.ts';
import { buildReport, mailStatusLookup, type Report } from '#shared/usecases/report.ts';

/**
 * The decisions as `renewal report --json` prints them, for `renewal report --aws`, with each
 * provider's mail status from the outbox ledger, as the local report shows it. Read only.
 */
export const makeReport = (deps: { decisions: DecisionStore; outbox: OutboxStore }) =>
  async function reportHandler(event: unknown): Promise<Report> {
    const { campaignId } = parsePayload(reportPayload, event);
    return buildReport(deps.decisions, campaignId, mailStatusLookup(deps));
  };

const db = createDocumentClient();
export const reportHandler = makeReport({ decisions: new DecisionStore(db, tableNamesFromEnv()), outbox: new OutboxStore(db, tableNamesFromEnv()) });

export const handler = middy(reportHandler).use(injectLambdaContext(logger));
