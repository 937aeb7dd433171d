import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { METRIC } from '#shared/metric-names.ts';
import { logger, metrics } from '#shared/observability.ts';
import type { IngestStore } from '#shared/store/ingest.ts';
import { IntakeBatch, type IntakeSummary } from '#shared/usecases/intake.ts';

/**
 * Intake: SQS-triggered. Validates each platform event and stores it exactly once; a bad event is
 * kept as rejected with its reason and never fails the rest of the batch. Only a storage failure
 * reports records in `batchItemFailures`, for SQS to redeliver.
 */
export type IntakeResponse = SQSBatchResponse & { summary: IntakeSummary; error?: string };

/** The handler over a given store: tests and the bench hand in their own (instrumented) store. */
export const makeIntake = (store: IngestStore) =>
  async function intake(event: SQSEvent, context?: Context): Promise<IntakeResponse> {
    const batch = new IntakeBatch(store, event.Records?.length ?? 0);
    const processor = new BatchProcessor(EventType.SQS);
    const response = await processPartialResponse(event, (record: SQSRecord) => batch.submit(record), processor, {
      ...(context ? { context } : {}),
      processInParallel: true, // IntakeBatch stores the whole batch once every record is submitted
      throwOnFullBatchFailure: false, // a storage outage fails every record: report them, let SQS redeliver
    });
    const { summary } = batch;
    metrics.addMetric(METRIC.eventsAccepted, MetricUnit.Count, summary.accepted);
    metrics.addMetric(METRIC.eventsDuplicate, MetricUnit.Count, summary.duplicates);
    metrics.addMetric(METRIC.eventsRejected, MetricUnit.Count, summary.rejected);
    if (response.batchItemFailures.length) logger.error('storage failed for records', { failed: response.batchItemFailures.length, error: batch.error });
    return { ...response, summary, ...(batch.error ? { error: batch.error } : {}) };
  };
